import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { errorOf } from './helpers/http.ts';
import {
  eventually,
  info,
  list,
  partialUpload,
  put,
  statusOf,
  storedBytes,
} from './helpers/image-store.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const allBytes = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7 + 3) % 256));

describe('upload', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.dispose());

  /** Nothing in flight: no staging counted and no temporary file left. */
  const settled = async () => {
    const usage = await info(server.url);
    const tmp = await readdir(join(server.root, 'tmp'));
    return usage.UsedByStaging.FileCount === '0' && tmp.length === 0;
  };

  it('stores a JSON body byte for byte without parsing it', async () => {
    const body = '{ "not": "parsed" ,\n "trailing": [1,2,]  ';
    const answer = await put(server.url, 'types/body.json', body, {
      'content-type': 'application/json; charset=utf-8',
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(await storedBytes(server.store, 'types/body.json'), Buffer.from(body));
  });

  it('stores a multipart/form-data body byte for byte, boundaries included', async () => {
    const body =
      '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n' +
      'payload\r\n--XyZ--\r\n';
    const answer = await put(server.url, 'types/form.bin', body, {
      'content-type': 'multipart/form-data; boundary=XyZ',
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(await storedBytes(server.store, 'types/form.bin'), Buffer.from(body));
  });

  it('stores a body with no Content-Type and every byte value', async () => {
    const answer = await put(server.url, 'types/raw.bin', allBytes);
    assert.equal(answer.status, 200);
    assert.deepEqual(await storedBytes(server.store, 'types/raw.bin'), allBytes);
    const listing = await list(server.url, 'types/raw.bin');
    assert.equal(listing.json.StoreFiles[0].FileSize, '512');
  });

  it('stores octet-stream and text bodies unchanged', async () => {
    for (const [type, body] of [
      ['application/octet-stream', allBytes],
      ['text/plain; charset=latin1', Buffer.from('line1\r\nline2\n\u00e9', 'utf8')],
      ['application/x-www-form-urlencoded', Buffer.from('a=1&b=%20')],
    ] as const) {
      assert.equal((await put(server.url, 'types/t', body, { 'content-type': type })).status, 200);
      assert.deepEqual(await storedBytes(server.store, 'types/t'), body, type);
    }
  });

  it('accepts an empty body, with or without a JSON Content-Type', async () => {
    const before = await info(server.url);
    assert.equal((await put(server.url, 'empty/_.dir', '')).status, 200);
    assert.equal(
      (await put(server.url, 'empty/sub/_.dir', '', { 'content-type': 'application/json' })).status,
      200,
    );
    const listing = await list(server.url, 'empty');
    assert.equal(listing.json.StoreFiles[0].StoreRelativePath, 'empty\\_.dir');
    assert.equal(listing.json.StoreFiles[0].FileSize, '0');
    assert.deepEqual(listing.json.StoreFolders, [
      { StoreRelativePath: 'empty\\sub', FileCount: '1' },
    ]);
    assert.deepEqual(await storedBytes(server.store, 'empty/sub/_.dir'), Buffer.alloc(0));
    const afterInfo = await info(server.url);
    assert.equal(Number(afterInfo.UsedByCopy.FileCount), Number(before.UsedByCopy.FileCount) + 2);
    assert.equal(afterInfo.UsedByCopy.UsedSpace, before.UsedByCopy.UsedSpace);
  });

  it('overwrites an existing file with a new version', async () => {
    assert.equal((await put(server.url, 'over/f.txt', 'old content')).status, 200);
    const first = (await list(server.url, 'over/f.txt')).json.StoreFiles[0];
    const before = await info(server.url);
    assert.equal((await put(server.url, 'over/f.txt', 'new')).status, 200);
    const second = (await list(server.url, 'over/f.txt')).json.StoreFiles[0];
    assert.equal(second.FileSize, '3');
    assert.ok(Number(second.FileVersion.VersionNumber) > Number(first.FileVersion.VersionNumber));
    assert.deepEqual(await storedBytes(server.store, 'over/f.txt'), Buffer.from('new'));
    const afterInfo = await info(server.url);
    assert.equal(afterInfo.UsedByCopy.FileCount, before.UsedByCopy.FileCount);
    assert.equal(Number(afterInfo.UsedByCopy.UsedSpace), Number(before.UsedByCopy.UsedSpace) - 8);
  });

  it('never lets a reader see a mix of an old and a new body', async () => {
    const a = Buffer.alloc(3000, 'a');
    const b = Buffer.alloc(5000, 'b');
    assert.equal((await put(server.url, 'race/f.bin', a)).status, 200);
    let writing = true;
    const writers = (async () => {
      for (let i = 0; i < 30; i++) {
        assert.equal((await put(server.url, 'race/f.bin', i % 2 ? a : b)).status, 200);
      }
      writing = false;
    })();
    const seen = new Set<string>();
    const readers = (async () => {
      while (writing) {
        const listing = await list(server.url, 'race/f.bin');
        assert.equal(listing.status, 200, 'the file never disappears while overwritten');
        assert.ok(['3000', '5000'].includes(listing.json.StoreFiles[0].FileSize));
        const bytes = await storedBytes(server.store, 'race/f.bin').catch((error) => {
          // The version this reader found was replaced and freed meanwhile: it saw nothing.
          if (error.code === 'ENOENT') return undefined;
          throw error;
        });
        if (bytes === undefined) continue;
        assert.ok(bytes.equals(a) || bytes.equals(b), `a mixed body of ${bytes.length} bytes`);
        seen.add(bytes.toString('latin1', 0, 1));
      }
    })();
    await Promise.all([writers, readers]);
    assert.ok(seen.size >= 1);
    assert.equal((await list(server.url, 'race/f.bin')).json.StoreFiles[0].FileSize, '3000');
  });

  it('leaves nothing when the body is shorter than its Content-Length', async () => {
    const before = await info(server.url);
    const upload = await partialUpload(
      server.url,
      'short/f.bin',
      100,
      'only forty bytes.......................',
    );
    upload.end();
    const raw = await upload.response;
    assert.ok(statusOf(raw) === 0 || statusOf(raw) === 400, raw);
    await eventually(settled);
    assert.equal(errorOf(await list(server.url, 'short/f.bin')), '404 FABRIC_E_FILE_NOT_FOUND');
    const afterInfo = await info(server.url);
    assert.deepEqual(afterInfo.UsedByCopy, before.UsedByCopy);
    assert.deepEqual(afterInfo.UsedByStaging, { UsedSpace: '0', FileCount: '0' });
  });

  it('leaves nothing when the client drops the connection mid-body', async () => {
    const before = await info(server.url);
    const upload = await partialUpload(server.url, 'aborted/f.bin', 5000, Buffer.alloc(2000, 1));
    await eventually(async () => (await info(server.url)).UsedByStaging.FileCount === '1');
    upload.destroy();
    await eventually(settled);
    assert.equal(errorOf(await list(server.url, 'aborted')), '404 FABRIC_E_FILE_NOT_FOUND');
    assert.deepEqual((await info(server.url)).UsedByCopy, before.UsedByCopy);
  });

  it('keeps the old file when an overwrite is aborted', async () => {
    assert.equal((await put(server.url, 'keep/f.txt', 'original')).status, 200);
    const before = await info(server.url);
    const upload = await partialUpload(server.url, 'keep/f.txt', 50, 'replacement that never ends');
    await eventually(async () => (await info(server.url)).UsedByStaging.FileCount === '1');
    upload.destroy();
    await eventually(settled);
    assert.deepEqual(await storedBytes(server.store, 'keep/f.txt'), Buffer.from('original'));
    assert.deepEqual((await info(server.url)).UsedByCopy, before.UsedByCopy);
  });

  it('counts a body still arriving as staging, then as copy once it completes', async () => {
    const before = await info(server.url);
    const upload = await partialUpload(server.url, 'slow/f.bin', 30, Buffer.alloc(10, 2));
    await eventually(async () => (await info(server.url)).UsedByStaging.FileCount === '1');
    assert.deepEqual((await info(server.url)).UsedByStaging, { UsedSpace: '10', FileCount: '1' });
    assert.equal(errorOf(await list(server.url, 'slow/f.bin')), '404 FABRIC_E_FILE_NOT_FOUND');
    upload.write(Buffer.alloc(20, 3));
    const raw = await Promise.race([
      upload.response,
      eventually(async () => (await list(server.url, 'slow/f.bin')).status === 200).then(() => ''),
    ]);
    upload.destroy();
    assert.ok(raw === '' || statusOf(raw) === 200, raw);
    await eventually(settled);
    const afterInfo = await info(server.url);
    assert.equal(Number(afterInfo.UsedByCopy.UsedSpace), Number(before.UsedByCopy.UsedSpace) + 30);
    assert.deepEqual(
      await storedBytes(server.store, 'slow/f.bin'),
      Buffer.concat([Buffer.alloc(10, 2), Buffer.alloc(20, 3)]),
    );
  });

  it('stores a chunked transfer-encoded body', async () => {
    const { hostname, port } = new URL(server.url);
    const parts = ['first chunk|', 'second|', '', 'third and last'];
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: hostname,
          port,
          method: 'PUT',
          path: '/ImageStore/chunked/f.txt?api-version=6.1',
          headers: { 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      for (const part of parts) req.write(part);
      req.end();
    });
    assert.equal(status, 200);
    assert.deepEqual(await storedBytes(server.store, 'chunked/f.txt'), Buffer.from(parts.join('')));
    assert.equal((await list(server.url, 'chunked/f.txt')).json.StoreFiles[0].FileSize, '33');
  });

  it('answers Expect: 100-continue and then stores the body', async () => {
    const { hostname, port } = new URL(server.url);
    const body = Buffer.alloc(3000, 9);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: hostname,
          port,
          method: 'PUT',
          path: '/ImageStore/expect/f.bin?api-version=6.0',
          headers: { expect: '100-continue', 'content-length': String(body.length) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      // The body goes out only once the server has said it wants it.
      req.on('continue', () => req.end(body));
    });
    assert.equal(status, 200);
    assert.deepEqual(await storedBytes(server.store, 'expect/f.bin'), body);
  });

  it('leaves no temporary file and no staging after a successful upload', async () => {
    assert.equal((await put(server.url, 'done/f.txt', 'x')).status, 200);
    assert.ok(await settled());
  });
});
