import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isClean } from '../src/store/fsck.ts';
import { call } from './helpers/http.ts';
import { spawnServer, startTestServer, tempRoot, type TestServer } from './helpers/server.ts';
import {
  bytes,
  chunkRanges,
  commitSession,
  expectedRanges,
  fsck,
  getSession,
  heldChunk,
  newSessionId,
  putChunk,
  removeRoot,
  staging,
  storedBytes,
} from './helpers/upload-session.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const stagingFiles = (root: string) => readdir(join(root, 'staging'));

async function waitUntil(condition: () => Promise<boolean>, what: string, ms = 5000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await sleep(50);
  }
  assert.fail(`timed out waiting until ${what}`);
}

describe('upload sessions across restarts', () => {
  it('resumes a session after the server is killed with SIGKILL mid-chunk', async () => {
    const root = await tempRoot();
    const id = newSessionId();
    const data = bytes(300_000);
    const [first, middle, last] = chunkRanges(data.length, 100_000);
    try {
      let child = await spawnServer(root);
      assert.equal((await putChunk(child.url, 'crash/big.bin', id, data, ...first)).status, 200);
      assert.equal((await putChunk(child.url, 'crash/big.bin', id, data, ...last)).status, 200);
      const held = heldChunk(child.url, 'crash/big.bin', id, data, ...middle);
      await sleep(200);
      await child.stop('SIGKILL');
      assert.ok((await held.answer) instanceof Error, 'the chunk in flight got no answer');

      child = await spawnServer(root);
      try {
        assert.deepEqual(await expectedRanges(child.url, id), ['100000-199999']);
        assert.deepEqual(await staging(child.url), { UsedSpace: '200000', FileCount: '1' });
        assert.equal((await putChunk(child.url, 'crash/big.bin', id, data, ...middle)).status, 200);
        assert.equal((await commitSession(child.url, id)).status, 200);
        assert.deepEqual(await staging(child.url), { UsedSpace: '0', FileCount: '0' });
      } finally {
        await child.stop();
      }
      const report = await fsck(root);
      assert.ok(isClean(report), JSON.stringify(report));
      const server = await startTestServer({ root });
      try {
        assert.ok((await storedBytes(server.store, 'crash/big.bin')).equals(data));
      } finally {
        await server.close();
      }
    } finally {
      await removeRoot(root);
    }
  });

  it('finishes a commit that stopped after the staging file became a blob', async () => {
    const root = await tempRoot();
    const id = newSessionId();
    const data = bytes(5000);
    try {
      let server = await startTestServer({ root });
      await putChunk(server.url, 'half/done.bin', id, data, 0, 4999);
      // The first half of a commit, as a crash would leave it: renamed, not yet catalogued.
      const session = await server.store.sessions.get(id);
      await server.store.blobs.staging.promote(id, session!.blob);
      await server.close();
      assert.ok(isClean(await fsck(root)), 'a promoted blob of an open session is no orphan');

      server = await startTestServer({ root });
      assert.equal((await commitSession(server.url, id)).status, 200);
      assert.ok((await storedBytes(server.store, 'half/done.bin')).equals(data));
      await server.close();
      assert.ok(isClean(await fsck(root)));
    } finally {
      await removeRoot(root);
    }
  });

  it('removes staging files that belong to no session at start-up', async () => {
    const root = await tempRoot();
    try {
      let server = await startTestServer({ root });
      const id = newSessionId();
      await putChunk(server.url, 'keep/k.bin', id, bytes(100), 0, 49);
      await server.close();
      await writeFile(join(root, 'staging', randomUUID()), 'left by a crash');

      server = await startTestServer({ root });
      assert.deepEqual(await stagingFiles(root), [id]);
      assert.deepEqual(await expectedRanges(server.url, id), ['50-99']);
      await server.close();
    } finally {
      await removeRoot(root);
    }
  });

  it('leaves no staging file when the only chunk of a new session fails', async () => {
    const server = await startTestServer();
    try {
      const id = newSessionId();
      const held = heldChunk(server.url, 'fail/f.bin', id, bytes(10_000), 0, 9999);
      await sleep(100);
      held.abort();
      await held.answer;
      await waitUntil(async () => (await stagingFiles(server.root)).length === 0, 'it is gone');
      assert.deepEqual((await getSession(server.url, id)).json.UploadSessions, []);
      assert.deepEqual(await staging(server.url), { UsedSpace: '0', FileCount: '0' });
    } finally {
      await server.dispose();
    }
  });

  it('reports a session whose staged bytes are lost, and repairs it', async () => {
    const root = await tempRoot();
    const id = newSessionId();
    try {
      const server = await startTestServer({ root });
      await putChunk(server.url, 'lost/l.bin', id, bytes(100), 0, 99);
      await server.close();
      await unlink(join(root, 'staging', id));

      const report = await fsck(root);
      assert.deepEqual(report.staging.lostSessions, [id]);
      assert.equal(isClean(report), false);
      await fsck(root, true);
      const after = await fsck(root);
      assert.ok(isClean(after), JSON.stringify(after));
      assert.deepEqual(after.counters.staging, { usedSpace: 0, fileCount: 0 });
    } finally {
      await removeRoot(root);
    }
  });

  it('reports a staging counter out of step with the sessions, and repairs it', async () => {
    const root = await tempRoot();
    try {
      const server = await startTestServer({ root });
      await putChunk(server.url, 'count/c.bin', newSessionId(), bytes(100), 0, 59);
      (server.store.catalog as any).db
        .prepare("UPDATE usage SET used_space = 7 WHERE category = 'staging'")
        .run();
      await server.close();

      const report = await fsck(root);
      assert.deepEqual(report.counters.staging, { usedSpace: 7, fileCount: 1 });
      assert.deepEqual(report.recounted.staging, { usedSpace: 60, fileCount: 1 });
      assert.equal(isClean(report), false);
      await fsck(root, true);
      assert.ok(isClean(await fsck(root)));
    } finally {
      await removeRoot(root);
    }
  });
});

describe('upload session options on the command line', () => {
  it('takes --max-chunk-size in bytes and --session-timeout in seconds', async () => {
    const root = await tempRoot();
    const child = await spawnServer(root, ['--max-chunk-size', '100', '--session-timeout', '1']);
    try {
      const id = newSessionId();
      const data = bytes(300);
      const big = await putChunk(child.url, 'cli/c.bin', id, data, 0, 100);
      assert.equal(big.status, 413);
      assert.match(big.json.Error.Message, /maximum chunk size is 100 bytes/);
      assert.equal((await putChunk(child.url, 'cli/c.bin', id, data, 0, 99)).status, 200);
      await waitUntil(
        async () => (await getSession(child.url, id)).json.UploadSessions.length === 0,
        'the session expires after about a second',
      );
      assert.deepEqual(await stagingFiles(root), []);
    } finally {
      await child.stop();
      await removeRoot(root);
    }
  });
});

describe('upload session expiry', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ sessionTimeoutSeconds: 1 });
  });
  after(async () => {
    await server.close();
    const report = await fsck(server.root);
    await removeRoot(server.root);
    assert.ok(isClean(report), JSON.stringify(report));
  });

  it('removes an idle session with its staged bytes', async () => {
    const id = newSessionId();
    await putChunk(server.url, 'idle/i.bin', id, bytes(1000), 0, 499);
    assert.deepEqual(await staging(server.url), { UsedSpace: '500', FileCount: '1' });
    assert.deepEqual(await stagingFiles(server.root), [id]);
    await waitUntil(
      async () => (await getSession(server.url, id)).json.UploadSessions.length === 0,
      'the session expires',
    );
    assert.deepEqual(await staging(server.url), { UsedSpace: '0', FileCount: '0' });
    assert.deepEqual(await stagingFiles(server.root), []);
  });

  it('keeps a session that keeps receiving chunks', async () => {
    const id = newSessionId();
    const data = bytes(800);
    const started = Date.now();
    for (const [start, end] of chunkRanges(data.length, 100)) {
      assert.equal((await putChunk(server.url, 'busy/b.bin', id, data, start, end)).status, 200);
      await sleep(250);
    }
    assert.ok(Date.now() - started > 1500, 'the upload outlived one timeout');
    assert.equal((await commitSession(server.url, id)).status, 200);
    const listing = await call('GET', `${server.url}/ImageStore/busy?api-version=6.2`);
    assert.equal(listing.json.StoreFiles[0].FileSize, '800');
  });

  it('expires the marker of a committed session but keeps its file', async () => {
    const id = newSessionId();
    await putChunk(server.url, 'marker/m.bin', id, bytes(10), 0, 9);
    assert.equal((await commitSession(server.url, id)).status, 200);
    await waitUntil(
      async () => (await getSession(server.url, id)).json.UploadSessions.length === 0,
      'the committed session expires',
    );
    const listing = await call('GET', `${server.url}/ImageStore/marker?api-version=6.2`);
    assert.equal(listing.json.StoreFiles[0].FileSize, '10');
  });
});
