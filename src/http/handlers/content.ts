import { errors } from '../../errors.ts';
import type { CopyFlag } from '../../store/copy.ts';
import { parseRequiredStorePath } from '../../store/store-path.ts';
import { imageStoreContent } from '../json-model.ts';
import {
  property,
  readJsonBody,
  requireObject,
  stringProperty,
  booleanProperty,
} from '../json-body.ts';
import { type Operation, type OperationContext, sendJson } from '../operation.ts';

const COPY_FLAGS: Record<string, CopyFlag> = {
  overwrite: 'Overwrite',
  atomiccopy: 'Overwrite',
  echo: 'Echo',
  invalid: 'Echo',
};

async function getContent({ store, path, query, apiVersion, reply }: OperationContext) {
  const token = query.get('ContinuationToken') ?? '';
  const paged = apiVersion > 3.0;
  let page = await store.list(path, token);
  if (!paged) {
    // The unpaged shape carries everything.
    while (page.continuationToken !== '') {
      const next = await store.list(path, page.continuationToken);
      page = {
        ...next,
        files: [...page.files, ...next.files],
        folders: [...page.folders, ...next.folders],
      };
    }
  }
  return sendJson(reply, imageStoreContent(page, paged));
}

async function uploadFile({ store, path, request, reply, signal }: OperationContext) {
  const header = request.headers['content-length'];
  const expectedLength = header === undefined ? undefined : Number(header);
  await store.upload(path, request.raw, { signal, expectedLength });
  return sendJson(reply);
}

async function deleteContent({ store, path, reply }: OperationContext) {
  await store.delete(path);
  return sendJson(reply);
}

async function copyContent({ store, request, reply, signal }: OperationContext) {
  const body = requireObject(
    await readJsonBody(request.raw, 'ImageStoreCopyDescription'),
    'ImageStoreCopyDescription',
  );
  const source = parseRequiredStorePath(stringProperty(body, 'RemoteSource', true), 'RemoteSource');
  const destination = parseRequiredStorePath(
    stringProperty(body, 'RemoteDestination', true),
    'RemoteDestination',
  );
  const skipFiles = property(body, 'SkipFiles') ?? [];
  if (!Array.isArray(skipFiles) || skipFiles.some((name) => typeof name !== 'string')) {
    throw errors.invalidArgument(
      `SkipFiles must be an array of file names, not ${JSON.stringify(skipFiles)}`,
    );
  }
  // Validated for its type only: as in the native store, the marker rule applies regardless.
  booleanProperty(body, 'CheckMarkFile');
  const flagName = stringProperty(body, 'CopyFlag') ?? 'Overwrite';
  const flag = COPY_FLAGS[flagName.toLowerCase()];
  if (!flag) {
    throw errors.invalidArgument(
      `CopyFlag '${flagName}' is not one of Overwrite, Echo, AtomicCopy`,
    );
  }
  await store.copy({ source, destination, skipFiles, flag }, signal);
  return sendJson(reply);
}

export const contentOperations: Operation[] = [
  {
    name: 'GetImageStoreContent',
    method: 'GET',
    fn: '',
    minApiVersion: 1.0,
    path: 'optional',
    handle: getContent,
  },
  {
    name: 'UploadFile',
    method: 'PUT',
    fn: '',
    minApiVersion: 1.0,
    path: 'required',
    handle: uploadFile,
  },
  {
    name: 'DeleteImageStoreContent',
    method: 'DELETE',
    fn: '',
    minApiVersion: 1.0,
    path: 'required',
    handle: deleteContent,
  },
  {
    name: 'CopyImageStoreContent',
    method: 'POST',
    fn: 'Copy',
    minApiVersion: 1.0,
    path: 'none',
    handle: copyContent,
  },
];
