import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isClean } from '../src/store/fsck.ts';
import { errorOf } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import {
  bytes,
  chunkRanges,
  commitSession,
  deleteSession,
  expectedRanges,
  fsck,
  heldChunk,
  newSessionId,
  putChunk,
  putChunkedBody,
  removeRoot,
  staging,
  storedBytes,
} from './helpers/upload-session.ts';

/** A deterministic shuffle, so a failing order can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const waitUntil = async (condition: () => Promise<boolean>, what: string) => {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting until ${what}`);
};

describe('concurrent upload chunks', () => {
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

  it('stores 16 chunks of one session sent all at once in shuffled order', async () => {
    const id = newSessionId();
    const data = bytes(16 * 64 * 1024 + 123);
    const ranges = shuffled(chunkRanges(data.length, 64 * 1024), 7);
    assert.equal(ranges.length, 17);
    const answers = await Promise.all(
      ranges.map(([start, end]) => putChunk(url, 'many/one.bin', id, data, start, end)),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      ranges.map(() => 200),
    );
    assert.deepEqual(await expectedRanges(url, id), []);
    assert.deepEqual(await staging(url), { UsedSpace: String(data.length), FileCount: '1' });
    assert.equal((await commitSession(url, id)).status, 200);
    assert.ok((await storedBytes(server.store, 'many/one.bin')).equals(data));
    assert.deepEqual(await staging(url), { UsedSpace: '0', FileCount: '0' });
  });

  it('interleaves the chunks of several sessions, duplicates included', async () => {
    const files = [0, 1, 2, 3].map((n) => ({
      id: newSessionId(),
      path: `mix/file-${n}.bin`,
      data: bytes(50_000 + n * 7_777),
    }));
    const requests = files.flatMap((file) =>
      chunkRanges(file.data.length, 8192).map(([start, end]) => ({ file, start, end })),
    );
    // Every fifth chunk is sent twice, as a client does after a lost acknowledgement.
    const withRetries = [...requests, ...requests.filter((_, i) => i % 5 === 0)];
    const answers = await Promise.all(
      shuffled(withRetries, 42).map(({ file, start, end }) =>
        putChunk(url, file.path, file.id, file.data, start, end),
      ),
    );
    assert.ok(
      answers.every((a) => a.status === 200),
      answers.map((a) => a.text).join(' '),
    );
    const total = files.reduce((sum, f) => sum + f.data.length, 0);
    assert.deepEqual(await staging(url), { UsedSpace: String(total), FileCount: '4' });

    await Promise.all(files.map((f) => commitSession(url, f.id)));
    for (const file of files) {
      assert.ok((await storedBytes(server.store, file.path)).equals(file.data), file.path);
    }
    assert.deepEqual(await staging(url), { UsedSpace: '0', FileCount: '0' });
  });

  it('lets a resent chunk wait for the same chunk still in flight and counts it once', async () => {
    const id = newSessionId();
    const data = bytes(20_000);
    const held = heldChunk(url, 'inflight/a.bin', id, data, 0, 9999);
    // Give the held chunk time to reach the server and reserve its range.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const resent = putChunk(url, 'inflight/a.bin', id, data, 0, 9999);
    await new Promise((resolve) => setTimeout(resolve, 100));
    held.sendRest();
    const [first, second] = await Promise.all([held.answer, resent]);
    assert.equal((first as { status: number }).status, 200);
    assert.equal(second.status, 200);
    assert.deepEqual(await expectedRanges(url, id), ['10000-19999']);
    assert.deepEqual(await staging(url), { UsedSpace: '10000', FileCount: '1' });
    await deleteSession(url, id);
  });

  it('rejects a chunk that partly overlaps a chunk still in flight', async () => {
    const id = newSessionId();
    const data = bytes(20_000);
    await putChunk(url, 'inflight/b.bin', id, data, 15_000, 19_999);
    const held = heldChunk(url, 'inflight/b.bin', id, data, 0, 9999);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const overlapping = await putChunk(url, 'inflight/b.bin', id, data, 5000, 14_999);
    assert.equal(errorOf(overlapping), '400 FABRIC_E_UPLOAD_SESSION_RANGE_NOT_SATISFIABLE');
    assert.match(overlapping.json.Error.Message, /0-9999 still being received/);
    held.sendRest();
    assert.equal(((await held.answer) as { status: number }).status, 200);
    assert.deepEqual(await expectedRanges(url, id), ['10000-14999']);
    await deleteSession(url, id);
  });

  it('records nothing for a chunk whose connection drops mid-body', async () => {
    const id = newSessionId();
    const data = bytes(20_000);
    await putChunk(url, 'drop/c.bin', id, data, 10_000, 19_999);
    const held = heldChunk(url, 'drop/c.bin', id, data, 0, 9999);
    await new Promise((resolve) => setTimeout(resolve, 100));
    held.abort();
    await held.answer;
    await waitUntil(
      async () => (await putChunk(url, 'drop/c.bin', id, data, 0, 9999)).status === 200,
      'the range of the dropped chunk can be sent again',
    );
    assert.deepEqual(await expectedRanges(url, id), []);
    assert.equal((await commitSession(url, id)).status, 200);
    assert.ok((await storedBytes(server.store, 'drop/c.bin')).equals(data));
  });

  it('rejects a streamed body longer or shorter than its range and keeps nothing', async () => {
    const id = newSessionId();
    const long = await putChunkedBody(url, 'stream/s.bin', id, 'bytes 0-9/100', bytes(11));
    assert.equal(long.status, 400);
    assert.equal(long.json.Error.Code, 'FABRIC_E_UPLOAD_SESSION_RANGE_NOT_SATISFIABLE');
    const short = await putChunkedBody(url, 'stream/s.bin', id, 'bytes 0-9/100', bytes(9));
    assert.equal(short.status, 400);
    assert.match(short.json.Error.Message, /has 9 bytes/);
    assert.deepEqual(await staging(url), { UsedSpace: '0', FileCount: '0' });
    const ok = await putChunkedBody(url, 'stream/s.bin', id, 'bytes 0-9/100', bytes(10));
    assert.equal(ok.status, 200);
    assert.deepEqual(await expectedRanges(url, id), ['10-99']);
    await deleteSession(url, id);
  });

  it('makes a commit wait for chunks in flight and honours its timeout', async () => {
    const id = newSessionId();
    const data = bytes(20_000);
    await putChunk(url, 'timeout/t.bin', id, data, 10_000, 19_999);
    const held = heldChunk(url, 'timeout/t.bin', id, data, 0, 9999);
    await new Promise((resolve) => setTimeout(resolve, 100));

    const started = Date.now();
    const timedOut = await commitSession(url, id, 1);
    assert.equal(errorOf(timedOut), '504 FABRIC_E_TIMEOUT');
    assert.ok(Date.now() - started >= 900, 'the commit waited for its timeout');

    const waiting = commitSession(url, id);
    await new Promise((resolve) => setTimeout(resolve, 100));
    held.sendRest();
    assert.equal(((await held.answer) as { status: number }).status, 200);
    assert.equal((await waiting).status, 200, 'the waiting commit completes after the chunk');
    assert.ok((await storedBytes(server.store, 'timeout/t.bin')).equals(data));
  });
});
