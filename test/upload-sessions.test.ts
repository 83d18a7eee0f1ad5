import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isClean } from '../src/store/fsck.ts';
import { call, errorOf } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import {
  bytes,
  chunkRanges,
  commitSession,
  deleteSession,
  expectedRanges,
  fsck,
  getSession,
  getSessionsAt,
  newSessionId,
  putChunk,
  removeRoot,
  staging,
  storedBytes,
} from './helpers/upload-session.ts';

describe('upload sessions', () => {
  let server: TestServer;
  let url: string;
  before(async () => {
    server = await startTestServer();
    url = server.url;
  });
  after(async () => {
    await server.close();
    const report = await fsck(server.root);
    await removeRoot(server.root);
    assert.ok(isClean(report), `fsck after the suite: ${JSON.stringify(report)}`);
  });

  it('creates a session with its first chunk and lists the missing ranges in order', async () => {
    const id = newSessionId();
    const data = bytes(1000);
    assert.equal((await putChunk(url, 'create/a.bin', id, data, 400, 599)).status, 200);

    const answer = await getSession(url, id);
    assert.equal(answer.status, 200);
    const [session] = answer.json.UploadSessions;
    assert.equal(session.StoreRelativePath, 'create\\a.bin');
    assert.equal(session.SessionId, id);
    assert.equal(session.FileSize, '1000');
    assert.match(session.ModifiedDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(session.ExpectedRanges, [
      { StartPosition: '0', EndPosition: '399' },
      { StartPosition: '600', EndPosition: '999' },
    ]);
    assert.equal((await deleteSession(url, id)).status, 200);
  });

  it('stores chunks sent out of order and commits the exact bytes', async () => {
    const id = newSessionId();
    const data = bytes(10_000);
    for (const [start, end] of chunkRanges(data.length, 3000).reverse()) {
      assert.equal((await putChunk(url, 'order/file.bin', id, data, start, end)).status, 200);
    }
    assert.deepEqual(await expectedRanges(url, id), []);
    const before = await call('GET', `${url}/ImageStore/order?api-version=6.2`);
    assert.equal(before.status, 404, 'the file is not visible before commit');

    assert.equal((await commitSession(url, id)).status, 200);
    const listing = await call('GET', `${url}/ImageStore/order?api-version=6.2`);
    assert.equal(listing.json.StoreFiles[0].StoreRelativePath, 'order\\file.bin');
    assert.equal(listing.json.StoreFiles[0].FileSize, '10000');
    assert.ok((await storedBytes(server.store, 'order/file.bin')).equals(data));
  });

  it('refuses to commit a session with gaps and names the missing ranges', async () => {
    const id = newSessionId();
    const data = bytes(100);
    await putChunk(url, 'gaps/g.bin', id, data, 10, 19);
    await putChunk(url, 'gaps/g.bin', id, data, 50, 59);
    const answer = await commitSession(url, id);
    assert.equal(errorOf(answer), '400 E_INVALIDARG');
    assert.match(answer.json.Error.Message, /0-9, 20-49, 60-99/);
    assert.equal((await call('GET', `${url}/ImageStore/gaps?api-version=6.2`)).status, 404);
    await deleteSession(url, id);
  });

  it('answers a repeated commit with 200 and keeps one file', async () => {
    const id = newSessionId();
    const data = bytes(64);
    await putChunk(url, 'again/x.bin', id, data, 0, 63);
    assert.equal((await commitSession(url, id)).status, 200);
    assert.equal((await commitSession(url, id)).status, 200);
    const listing = await call('GET', `${url}/ImageStore/again?api-version=6.2`);
    assert.equal(listing.json.StoreFiles.length, 1);
    assert.deepEqual(await expectedRanges(url, id), [], 'a committed session expects nothing');
    assert.ok((await storedBytes(server.store, 'again/x.bin')).equals(data));
  });

  it('overwrites an existing file on commit', async () => {
    assert.equal(
      (await call('PUT', `${url}/ImageStore/over/f.txt?api-version=6.0`, 'old')).status,
      200,
    );
    const id = newSessionId();
    const data = bytes(300);
    await putChunk(url, 'over/f.txt', id, data, 0, 149);
    await putChunk(url, 'over/f.txt', id, data, 150, 299);
    assert.equal((await commitSession(url, id)).status, 200);
    const listing = await call('GET', `${url}/ImageStore/over?api-version=6.2`);
    assert.equal(listing.json.StoreFiles.length, 1);
    assert.equal(listing.json.StoreFiles[0].FileSize, '300');
    assert.ok((await storedBytes(server.store, 'over/f.txt')).equals(data));
  });

  it('answers a chunk already received with 200 and changes nothing', async () => {
    const id = newSessionId();
    const data = bytes(200);
    await putChunk(url, 'dup/d.bin', id, data, 0, 99);
    const first = (await getSession(url, id)).json.UploadSessions[0];
    const stagedBefore = await staging(url);
    assert.equal((await putChunk(url, 'dup/d.bin', id, data, 0, 99)).status, 200);
    assert.equal((await putChunk(url, 'dup/d.bin', id, data, 10, 49)).status, 200);
    assert.deepEqual((await getSession(url, id)).json.UploadSessions[0], first);
    assert.deepEqual(await staging(url), stagedBefore);
    await deleteSession(url, id);
  });

  it('rejects a chunk that partly overlaps a received range', async () => {
    const id = newSessionId();
    const data = bytes(200);
    await putChunk(url, 'overlap/o.bin', id, data, 50, 99);
    const answer = await putChunk(url, 'overlap/o.bin', id, data, 90, 149);
    assert.equal(errorOf(answer), '400 FABRIC_E_UPLOAD_SESSION_RANGE_NOT_SATISFIABLE');
    assert.match(answer.json.Error.Message, /90-149.*50-99/);
    assert.deepEqual(await expectedRanges(url, id), ['0-49', '100-199']);
    await deleteSession(url, id);
  });

  it('merges adjacent chunks so a chunk spanning them counts as received', async () => {
    const id = newSessionId();
    const data = bytes(300);
    await putChunk(url, 'merge/m.bin', id, data, 0, 99);
    await putChunk(url, 'merge/m.bin', id, data, 100, 199);
    assert.deepEqual(await expectedRanges(url, id), ['200-299']);
    assert.equal((await putChunk(url, 'merge/m.bin', id, data, 50, 149)).status, 200);
    assert.deepEqual(await staging(url), { UsedSpace: '200', FileCount: '1' });
    await deleteSession(url, id);
  });

  it('finds sessions by path, case-insensitively, and answers an empty list otherwise', async () => {
    const [a, b] = [newSessionId(), newSessionId()];
    const data = bytes(10);
    await putChunk(url, 'bypath/Same.bin', a, data, 0, 4);
    await putChunk(url, 'BYPATH\\same.bin', b, data, 5, 9);
    const answer = await getSessionsAt(url, 'bypath/same.bin');
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json.UploadSessions.map((s: any) => s.SessionId).sort(), [a, b].sort());

    const none = await getSessionsAt(url, 'bypath/other.bin');
    assert.equal(none.status, 200);
    assert.deepEqual(none.json, { UploadSessions: [] });
    const unknown = await getSession(url, newSessionId());
    assert.equal(unknown.status, 200);
    assert.deepEqual(unknown.json, { UploadSessions: [] });
    await deleteSession(url, a);
    await deleteSession(url, b);
  });

  it('deletes a session and its staged bytes; an unknown id is 404', async () => {
    const id = newSessionId();
    await putChunk(url, 'del/x.bin', id, bytes(50), 0, 24);
    assert.equal((await deleteSession(url, id)).status, 200);
    assert.deepEqual((await getSession(url, id)).json.UploadSessions, []);
    const again = await deleteSession(url, id);
    assert.equal(again.status, 404);
    assert.match(again.json.Error.Message, new RegExp(id));
    assert.equal((await commitSession(url, id)).status, 404);
  });

  it('reuses a deleted session id for a fresh upload', async () => {
    const id = newSessionId();
    await putChunk(url, 'reuse/one.bin', id, bytes(10), 0, 4);
    await deleteSession(url, id);
    const data = bytes(20);
    assert.equal((await putChunk(url, 'reuse/two.bin', id, data, 0, 19)).status, 200);
    assert.equal((await commitSession(url, id)).status, 200);
    assert.ok((await storedBytes(server.store, 'reuse/two.bin')).equals(data));
  });

  it('counts staging bytes and files in Info through a session life', async () => {
    assert.deepEqual(await staging(url), { UsedSpace: '0', FileCount: '0' });
    const [a, b] = [newSessionId(), newSessionId()];
    const data = bytes(1000);
    await putChunk(url, 'info/a.bin', a, data, 0, 299);
    assert.deepEqual(await staging(url), { UsedSpace: '300', FileCount: '1' });
    await putChunk(url, 'info/a.bin', a, data, 600, 999);
    assert.deepEqual(await staging(url), { UsedSpace: '700', FileCount: '1' });
    await putChunk(url, 'info/b.bin', b, data, 0, 99);
    assert.deepEqual(await staging(url), { UsedSpace: '800', FileCount: '2' });
    await putChunk(url, 'info/a.bin', a, data, 300, 599);
    assert.equal((await commitSession(url, a)).status, 200);
    assert.deepEqual(await staging(url), { UsedSpace: '100', FileCount: '1' });
    const copy = (await call('GET', `${url}/ImageStore/$/Info?api-version=6.5`)).json.UsedByCopy;
    assert.ok(Number(copy.UsedSpace) >= 1000);
    assert.equal((await deleteSession(url, b)).status, 200);
    assert.deepEqual(await staging(url), { UsedSpace: '0', FileCount: '0' });
  });
});
