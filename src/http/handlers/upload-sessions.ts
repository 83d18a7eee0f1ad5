import type { UploadSessionRecord } from '../../catalog/upload-sessions.ts';
import { errors } from '../../errors.ts';
import { ROOT } from '../../store/store-path.ts';
import { expectedRanges } from '../../store/upload-sessions.ts';
import { isoDate } from '../json-model.ts';
import { type Operation, type OperationContext, sendJson } from '../operation.ts';
import { parseContentRange, parseSessionId } from '../upload-session-params.ts';

/** UploadSessionInfo on the wire: numbers as strings, ranges still missing. */
function uploadSessionInfo(session: UploadSessionRecord) {
  return {
    StoreRelativePath: session.path,
    SessionId: session.id,
    FileSize: String(session.fileSize),
    ModifiedDate: isoDate(session.modified),
    ExpectedRanges: expectedRanges(session).map((range) => ({
      StartPosition: String(range.start),
      EndPosition: String(range.end),
    })),
  };
}

async function uploadChunk({ store, path, query, request, reply, signal }: OperationContext) {
  const sessionId = parseSessionId(query.get('session-id'));
  const header = request.headers['content-range'];
  const range = parseContentRange(header);
  store.sessions.checkChunkSize(range);
  const declared = request.headers['content-length'];
  const length = range.end - range.start + 1;
  if (declared !== undefined && Number(declared) !== length) {
    throw errors.rangeNotSatisfiable(
      `Content-Length ${declared} differs from the ${length} bytes of Content-Range '${header}'`,
    );
  }

  await store.sessions.uploadChunk({
    sessionId,
    path,
    range,
    fileSize: range.total,
    body: request.raw,
    signal,
  });
  return sendJson(reply);
}

/** By id at the root (`/ImageStore/$/GetUploadSession`), by path otherwise. */
async function getUploadSession({ store, path, query, reply }: OperationContext) {
  let sessions: UploadSessionRecord[];
  if (path === ROOT) {
    const session = await store.sessions.get(parseSessionId(query.get('session-id')));
    sessions = session ? [session] : [];
  } else {
    sessions = await store.sessions.at(path);
  }
  return sendJson(reply, { UploadSessions: sessions.map(uploadSessionInfo) });
}

async function commitUploadSession({ store, query, reply, signal }: OperationContext) {
  await store.sessions.commit(parseSessionId(query.get('session-id')), signal);
  return sendJson(reply);
}

async function deleteUploadSession({ store, query, reply, signal }: OperationContext) {
  await store.sessions.delete(parseSessionId(query.get('session-id')), signal);
  return sendJson(reply);
}

export const uploadSessionOperations: Operation[] = [
  {
    name: 'UploadFileChunk',
    method: 'PUT',
    fn: 'UploadChunk',
    minApiVersion: 6.0,
    path: 'required',
    handle: uploadChunk,
  },
  {
    name: 'GetImageStoreUploadSession',
    method: 'GET',
    fn: 'GetUploadSession',
    minApiVersion: 6.0,
    path: 'optional',
    handle: getUploadSession,
  },
  {
    name: 'CommitImageStoreUploadSession',
    method: 'POST',
    fn: 'CommitUploadSession',
    minApiVersion: 6.0,
    path: 'none',
    handle: commitUploadSession,
  },
  {
    name: 'DeleteImageStoreUploadSession',
    method: 'DELETE',
    fn: 'DeleteUploadSession',
    minApiVersion: 6.0,
    path: 'none',
    handle: deleteUploadSession,
  },
];
