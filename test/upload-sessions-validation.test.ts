import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, errorOf } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import {
  bytes,
  deleteSession,
  expectedRanges,
  getSession,
  newSessionId,
  putChunk,
  staging,
} from './helpers/upload-session.ts';

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
