import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { rm } from 'node:fs/promises';
import pino from 'pino';
import { openLocalStore } from '../../src/app.ts';
import { checkStore, type FsckReport } from '../../src/store/fsck.ts';
import { toKey } from '../../src/store/store-path.ts';
import type { ImageStore } from '../../src/store/image-store.ts';
import { type Answer, call } from './http.ts';

/** Helpers for upload-session tests: chunk requests, session queries, staging numbers. */

export const newSessionId = () => randomUUID();
export const bytes = (n: number) => randomBytes(n);

const contentUrl = (base: string, path: string) =>
  `${base}/ImageStore/${path.split('/').map(encodeURIComponent).join('/')}`;

export function chunkUrl(base: string, path: string, sessionId: string) {
  return `${contentUrl(base, path)}/$/UploadChunk?api-version=6.0&session-id=${sessionId}`;
}

/** PUTs `data[start..end]` as one chunk of a `data.length`-byte file. */
export function putChunk(
  base: string,
  path: string,
  sessionId: string,
  data: Buffer,
  start: number,
  end: number,
): Promise<Answer> {
  return call('PUT', chunkUrl(base, path, sessionId), data.subarray(start, end + 1), {
    'content-range': `bytes ${start}-${end}/${data.length}`,
  });
}

/** Every chunk of `data` in `size`-byte pieces, as [start, end] pairs. */
export function chunkRanges(length: number, size: number): [number, number][] {
  const ranges: [number, number][] = [];
  for (let start = 0; start < length; start += size) {
    ranges.push([start, Math.min(start + size, length) - 1]);
  }
  return ranges;
}

export function getSession(base: string, sessionId: string) {
  return call(
    'GET',
    `${base}/ImageStore/$/GetUploadSession?api-version=6.0&session-id=${sessionId}`,
  );
}

export function getSessionsAt(base: string, path: string) {
  return call('GET', `${contentUrl(base, path)}/$/GetUploadSession?api-version=6.0`);
}

export function commitSession(base: string, sessionId: string, timeout?: number) {
  const extra = timeout === undefined ? '' : `&timeout=${timeout}`;
  return call(
    'POST',
    `${base}/ImageStore/$/CommitUploadSession?api-version=6.0&session-id=${sessionId}${extra}`,
  );
}

export function deleteSession(base: string, sessionId: string) {
  return call(
    'DELETE',
    `${base}/ImageStore/$/DeleteUploadSession?api-version=6.0&session-id=${sessionId}`,
  );
}

/** ExpectedRanges of one session as `start-end` strings. */
export async function expectedRanges(base: string, sessionId: string): Promise<string[]> {
  const answer = await getSession(base, sessionId);
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.json.UploadSessions.length, 1, answer.text);
  return answer.json.UploadSessions[0].ExpectedRanges.map(
    (r: { StartPosition: string; EndPosition: string }) => `${r.StartPosition}-${r.EndPosition}`,
  );
}

export async function staging(base: string): Promise<{ UsedSpace: string; FileCount: string }> {
  const answer = await call('GET', `${base}/ImageStore/$/Info?api-version=6.5`);
  assert.equal(answer.status, 200, answer.text);
  return answer.json.UsedByStaging;
}

/** The committed bytes of a file, read through the store's own catalog and blob store. */
export async function storedBytes(store: ImageStore, path: string): Promise<Buffer> {
  const file = await store.catalog.getFile(toKey(path.replaceAll('/', '\\')));
  assert.ok(file, `${path} is not in the catalog`);
  const parts: Buffer[] = [];
  for await (const part of store.blobs.readBlob(file.blob)) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/**
 * A chunk whose body is sent in two steps: `sendRest` completes it, `abort` drops the
 * connection. `answer` settles when the server replies (or the connection fails).
 */
export function heldChunk(
  base: string,
  path: string,
  sessionId: string,
  data: Buffer,
  start: number,
  end: number,
  sentFirst = Math.floor((end - start + 1) / 2),
) {
  const req = request(chunkUrl(base, path, sessionId), {
    method: 'PUT',
    headers: {
      'content-range': `bytes ${start}-${end}/${data.length}`,
      'content-length': end - start + 1,
    },
  });
  const answer = new Promise<{ status: number; text: string } | Error>((resolve) => {
    req.on('response', (response) => {
      let text = '';
      response.on('data', (part) => (text += part));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    req.on('error', resolve);
  });
  req.write(data.subarray(start, start + sentFirst));
  req.flushHeaders();
  return {
    answer,
    sendRest: () => req.end(data.subarray(start + sentFirst, end + 1)),
    abort: () => req.destroy(),
  };
}

/** Sends a body of any length with chunked transfer encoding (no Content-Length). */
export function putChunkedBody(
  base: string,
  path: string,
  sessionId: string,
  contentRange: string,
  body: Buffer,
): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(chunkUrl(base, path, sessionId), {
      method: 'PUT',
      headers: { 'content-range': contentRange, 'transfer-encoding': 'chunked' },
    });
    req.on('response', (response) => {
      let text = '';
      response.on('data', (part) => (text += part));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs fsck on a store root no server is using. */
export async function fsck(root: string, repair = false): Promise<FsckReport> {
  const store = await openLocalStore(root, pino({ level: 'silent' }));
  try {
    return await checkStore(store, repair);
  } finally {
    await store.close();
  }
}

export async function removeRoot(root: string) {
  await rm(root, { recursive: true, force: true });
}
