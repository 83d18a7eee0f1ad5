import assert from 'node:assert/strict';
import { statfsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { errorOf } from './helpers/http.ts';
import { copy, info, list, put, remove } from './helpers/image-store.ts';
import { newSessionId, putChunk } from './helpers/upload-session.ts';
import { startTestServer, tempRoot, type TestServer } from './helpers/server.ts';

const MiB = 1024 * 1024;

describe('free-space reserve', () => {
  let server: TestServer;
  before(async () => {
    const root = await tempRoot();
    const { bavail, bsize } = statfsSync(root);
    // Leave 16 MiB above the reserve (other processes may write meanwhile): 64 MiB is too much.
    server = await startTestServer({ root, reserveBytes: bavail * bsize - 16 * MiB });
  });
  after(() => server.dispose());

  it('refuses an upload that would eat into the reserve with 507 before reading it', async () => {
    const answer = await put(server.url, 'big/a.bin', Buffer.alloc(64 * MiB));
    assert.equal(errorOf(answer), '507 FABRIC_E_IMAGESTORE_IOERROR');
    assert.match(answer.json.Error.Message, /big\\a\.bin' needs 67108864 bytes/);
    assert.equal(errorOf(await list(server.url, 'big')), '404 FABRIC_E_FILE_NOT_FOUND');
    assert.deepEqual(await readdir(join(server.root, 'tmp')), []);
    assert.deepEqual((await info(server.url)).UsedByCopy, { UsedSpace: '0', FileCount: '0' });
  });

  it('refuses a chunk that would eat into the reserve', async () => {
    const data = Buffer.alloc(64 * MiB, 7);
    const answer = await putChunk(
      server.url,
      'big/c.bin',
      newSessionId(),
      data,
      0,
      data.length - 1,
    );
    assert.equal(errorOf(answer), '507 FABRIC_E_IMAGESTORE_IOERROR');
    assert.deepEqual((await info(server.url)).UsedByStaging, { UsedSpace: '0', FileCount: '0' });
  });

  it('still accepts small files, and deletes', async () => {
    assert.equal((await put(server.url, 'small/a.txt', 'tiny')).status, 200);
    assert.equal((await remove(server.url, 'small')).status, 200);
  });
});

describe('reserved names', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.dispose());

  it('refuses a file named Store or WindowsFabricStore at the top level', async () => {
    for (const path of ['Store', 'store', 'WindowsFabricStore', '/STORE/']) {
      const answer = await put(server.url, path, 'x');
      assert.equal(errorOf(answer), '400 FABRIC_E_IMAGEBUILDER_RESERVED_DIRECTORY_ERROR', path);
    }
    const chunk = await putChunk(server.url, 'Store', newSessionId(), Buffer.from('ab'), 0, 1);
    assert.equal(errorOf(chunk), '400 FABRIC_E_IMAGEBUILDER_RESERVED_DIRECTORY_ERROR');
  });

  it('refuses Store as a copy destination but allows files below it', async () => {
    assert.equal((await put(server.url, 'src.txt', 'x')).status, 200);
    const answer = await copy(server.url, { RemoteSource: 'src.txt', RemoteDestination: 'Store' });
    assert.equal(errorOf(answer), '400 FABRIC_E_IMAGEBUILDER_RESERVED_DIRECTORY_ERROR');
    assert.equal((await put(server.url, 'Store/App/a.txt', 'x')).status, 200);
    assert.equal((await put(server.url, 'notStore', 'x')).status, 200);
  });
});
