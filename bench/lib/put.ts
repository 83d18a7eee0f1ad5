import { execFile } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { request } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';

const CURL = '/usr/bin/curl';

export interface PutResult {
  status: number;
  seconds: number;
  bytesSent: number;
}

export function senderName(): string {
  return existsSync(CURL) ? `curl (${CURL})` : 'node:http request in the bench process';
}

/**
 * PUTs a file as the request body, streamed from disk, with a Content-Length. curl is the
 * sender when present (a separate, lean process); otherwise `node:http` streams it from here.
 */
export async function putFile(url: string, file: string, size: number): Promise<PutResult> {
  return existsSync(CURL) ? putWithCurl(url, file) : putWithNode(url, file, size);
}

async function putWithCurl(url: string, file: string): Promise<PutResult> {
  const { stdout } = await promisify(execFile)(CURL, [
    '--silent',
    '--show-error',
    '--output',
    '/dev/null',
    // No `Expect: 100-continue` round trip, the same for both peers.
    '--header',
    'Expect:',
    '--header',
    'Content-Type: application/octet-stream',
    '--upload-file',
    file,
    '--write-out',
    '%{http_code} %{time_total} %{size_upload}',
    url,
  ]);
  const [status, seconds, bytesSent] = stdout.trim().split(' ').map(Number);
  return { status, seconds, bytesSent };
}

async function putWithNode(url: string, file: string, size: number): Promise<PutResult> {
  const started = process.hrtime.bigint();
  const req = request(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': size },
  });
  const response = new Promise<number>((resolve, reject) => {
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
  });
  await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), req);
  const status = await response;
  return { status, seconds: Number(process.hrtime.bigint() - started) / 1e9, bytesSent: size };
}
