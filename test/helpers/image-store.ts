import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ImageStore } from '../../src/store/image-store.ts';
import { parseStorePath } from '../../src/store/store-path.ts';
import { call, type Answer } from './http.ts';

/** `<base>/ImageStore/<path>[/$/<fn>]?api-version=<v>[&<extra>]`, the path sent as given. */
export function storeUrl(base: string, path: string, apiVersion = '6.0', extra = ''): string {
  const slash = path === '' ? '' : `/${path}`;
  return `${base}/ImageStore${slash}?api-version=${apiVersion}${extra === '' ? '' : `&${extra}`}`;
}

export function put(
  base: string,
  path: string,
  body: string | Buffer = '',
  headers: Record<string, string> = {},
  apiVersion = '6.0',
): Promise<Answer> {
  return call('PUT', storeUrl(base, path, apiVersion), body, headers);
}

export function list(base: string, path = '', apiVersion = '6.2', extra = ''): Promise<Answer> {
  return call('GET', storeUrl(base, path, apiVersion, extra));
}

export function remove(base: string, path: string): Promise<Answer> {
  return call('DELETE', storeUrl(base, path));
}

export function copy(base: string, description: unknown): Promise<Answer> {
  const body = typeof description === 'string' ? description : JSON.stringify(description);
  return call('POST', storeUrl(base, '$/Copy'), body, { 'content-type': 'application/json' });
}

export async function info(base: string): Promise<any> {
  const answer = await call('GET', storeUrl(base, '$/Info', '6.5'));
  if (answer.status !== 200) throw new Error(`Info answered ${answer.status}: ${answer.text}`);
  return answer.json;
}

export async function folderSize(base: string, path = ''): Promise<Answer> {
  return call('GET', storeUrl(base, path === '' ? '$/FolderSize' : `${path}/$/FolderSize`, '6.5'));
}

/** The bytes the store keeps for a path, read straight from its blob. */
export async function storedBytes(store: ImageStore, path: string): Promise<Buffer | undefined> {
  const file = await store.catalog.getFile(parseStorePath(path).key);
  if (!file) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of store.blobs.readBlob(file.blob)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A request whose path goes out exactly as written (no URL normalisation of `\`, `..` or
 * `%2E%2E`), through node:http.
 */
export function rawCall(
  base: string,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: any;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (typeof value === 'string') responseHeaders.set(name, value);
        }
        resolve({ status: res.statusCode ?? 0, headers: responseHeaders, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface PartialUpload {
  /** Resolves with the raw response text, or '' if the server closed without answering. */
  response: Promise<string>;
  /** Sends more body bytes. */
  write(bytes: string | Buffer): void;
  /** Half-closes the connection: the server sees the end of the body. */
  end(): void;
  /** Drops the connection abruptly. */
  destroy(): void;
}

/**
 * A PUT over a raw socket that declares `contentLength` but sends only `firstBytes`, so tests
 * can stall, shorten or abort a body in the middle.
 */
export async function partialUpload(
  base: string,
  path: string,
  contentLength: number,
  firstBytes: string | Buffer,
  query = 'api-version=6.0',
): Promise<PartialUpload> {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const chunks: Buffer[] = [];
  const response = new Promise<string>((resolve) => {
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
  socket.write(
    `PUT /ImageStore/${path}?${query} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
      `Content-Length: ${contentLength}\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  socket.write(firstBytes);
  return {
    response,
    write: (bytes) => socket.write(bytes),
    end: () => socket.end(),
    destroy: () => socket.destroy(),
  };
}

/** The status code of a raw HTTP response text, or 0 when there was none. */
export function statusOf(rawResponse: string): number {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(rawResponse);
  return match ? Number(match[1]) : 0;
}

/** Polls until `check` returns true, failing after `ms`. */
export async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await sleep(20);
  }
}

export const ISO_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
