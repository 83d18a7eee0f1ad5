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

describe('upload session validation', () => {
  let server: TestServer;
  let url: string;
  before(async () => {
    server = await startTestServer({ maxChunkSize: 1024 });
    url = server.url;
  });
  after(() => server.dispose());

  const ops = (id: string) => [
    ['PUT', `/ImageStore/v/x.bin/$/UploadChunk?api-version=6.0${id}`],
    ['GET', `/ImageStore/$/GetUploadSession?api-version=6.0${id}`],
    ['POST', `/ImageStore/$/CommitUploadSession?api-version=6.0${id}`],
    ['DELETE', `/ImageStore/$/DeleteUploadSession?api-version=6.0${id}`],
  ];

  for (const [label, id] of [
    ['a missing', ''],
    ['an empty', '&session-id='],
    ['a malformed', '&session-id=not-a-guid'],
    ['the all-zero', '&session-id=00000000-0000-0000-0000-000000000000'],
  ]) {
    it(`rejects ${label} session id on every operation`, async () => {
      for (const [method, path] of ops(id)) {
        const answer = await call(method, url + path, method === 'PUT' ? 'x' : undefined, {
          'content-range': 'bytes 0-0/1',
        });
        assert.equal(
          errorOf(answer),
          '400 FABRIC_E_INVALID_UPLOAD_SESSION_ID',
          `${method} ${path}`,
        );
      }
    });
  }

  it('accepts an upper-case or braced GUID and answers it in lower case', async () => {
    const id = newSessionId();
    const upper = `{${id.toUpperCase()}}`;
    const data = bytes(4);
    const put = await call(
      'PUT',
      `${url}/ImageStore/v/braced.bin/$/UploadChunk?api-version=6.0&session-id=${encodeURIComponent(upper)}`,
      data,
      { 'content-range': 'bytes 0-3/4' },
    );
    assert.equal(put.status, 200, put.text);
    assert.equal((await getSession(url, id)).json.UploadSessions[0].SessionId, id);
    await deleteSession(url, id);
  });

  for (const [label, header] of [
    ['a malformed', 'bytes a-b/10'],
    ['a total-less', 'bytes 0-9'],
    ['a starred', 'bytes */10'],
    ['a reversed', 'bytes 5-3/10'],
    ['an end at the total', 'bytes 0-10/10'],
    ['an end past the total', 'bytes 5-20/10'],
    ['an empty-file', 'bytes 0-0/0'],
    ['a negative', 'bytes -1-3/10'],
  ]) {
    it(`rejects ${label} Content-Range '${header}'`, async () => {
      const id = newSessionId();
      const answer = await call(
        'PUT',
        `${url}/ImageStore/v/r.bin/$/UploadChunk?api-version=6.0&session-id=${id}`,
        'x',
        { 'content-range': header },
      );
      assert.equal(errorOf(answer), '400 FABRIC_E_UPLOAD_SESSION_RANGE_NOT_SATISFIABLE');
      assert.ok(answer.json.Error.Message.includes(header), answer.json.Error.Message);
      assert.deepEqual((await getSession(url, id)).json.UploadSessions, []);
    });
  }

  it('rejects a chunk without Content-Range', async () => {
    const answer = await call(
      'PUT',
      `${url}/ImageStore/v/r.bin/$/UploadChunk?api-version=6.0&session-id=${newSessionId()}`,
      'x',
    );
    assert.equal(errorOf(answer), '400 FABRIC_E_UPLOAD_SESSION_RANGE_NOT_SATISFIABLE');
    assert.match(answer.json.Error.Message, /Content-Range/);
  });

  it('accepts a Content-Range without the bytes unit', async () => {
    const id = newSessionId();
    const answer = await call(
      'PUT',
      `${url}/ImageStore/v/unit.bin/$/UploadChunk?api-version=6.0&session-id=${id}`,
      'abc',
      { 'content-range': '0-2/5' },
    );
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(await expectedRanges(url, id), ['3-4']);
    await deleteSession(url, id);
  });

  it('rejects a body whose length differs from the range and records nothing', async () => {
    const id = newSessionId();
    const answer = await call(
      'PUT',
      `${url}/ImageStore/v/len.bin/$/UploadChunk?api-version=6.0&session-id=${id}`,
      bytes(5),
      { 'content-range': 'bytes 0-9/20' },
    );
    assert.equal(errorOf(answer), '400 FABRIC_E_UPLOAD_SESSION_RANGE_NOT_SATISFIABLE');
    assert.match(answer.json.Error.Message, /Content-Length 5/);
    assert.deepEqual((await getSession(url, id)).json.UploadSessions, []);
    assert.deepEqual(await staging(url), { UsedSpace: '0', FileCount: '0' });
  });

  it('rejects a total that differs from the session file size', async () => {
    const id = newSessionId();
    const data = bytes(100);
    await putChunk(url, 'v/total.bin', id, data, 0, 9);
    const answer = await call(
      'PUT',
      `${url}/ImageStore/v/total.bin/$/UploadChunk?api-version=6.0&session-id=${id}`,
      data.subarray(10, 20),
      { 'content-range': 'bytes 10-19/200' },
    );
    assert.equal(errorOf(answer), '400 E_INVALIDARG');
    assert.match(answer.json.Error.Message, /100 bytes.*200/);
    assert.deepEqual(await expectedRanges(url, id), ['10-99']);
    await deleteSession(url, id);
  });

  it('answers 409 when a session id is used for another path', async () => {
    const id = newSessionId();
    const data = bytes(100);
    await putChunk(url, 'v/first.bin', id, data, 0, 9);
    const answer = await putChunk(url, 'v/second.bin', id, data, 10, 19);
    assert.equal(errorOf(answer), '409 FABRIC_E_UPLOAD_SESSION_ID_CONFLICT');
    assert.match(answer.json.Error.Message, /first\.bin.*second\.bin/);
    assert.equal((await putChunk(url, 'V/FIRST.BIN', id, data, 10, 19)).status, 200);
    await deleteSession(url, id);
  });

  it('answers 413 for a chunk larger than the configured maximum, stating it', async () => {
    const id = newSessionId();
    const data = bytes(4096);
    const answer = await putChunk(url, 'v/big.bin', id, data, 0, 2047);
    assert.equal(errorOf(answer), '413 FABRIC_E_VALUE_TOO_LARGE');
    assert.match(answer.json.Error.Message, /maximum chunk size is 1024 bytes/);
    assert.equal((await putChunk(url, 'v/big.bin', id, data, 0, 1023)).status, 200);
    await deleteSession(url, id);
  });

  it('requires api-version 6.0 or later', async () => {
    const answer = await call(
      'GET',
      `${url}/ImageStore/$/GetUploadSession?api-version=5.0&session-id=${newSessionId()}`,
    );
    assert.equal(errorOf(answer), '400 E_INVALIDARG');
  });

  it('refuses a chunk for the store root', async () => {
    const answer = await call(
      'PUT',
      `${url}/ImageStore/$/UploadChunk?api-version=6.0&session-id=${newSessionId()}`,
      'x',
      { 'content-range': 'bytes 0-0/1' },
    );
    assert.equal(errorOf(answer), '400 E_INVALIDARG');
  });
});
