import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { errorOf } from './helpers/http.ts';
import { info, list, put, remove } from './helpers/image-store.ts';
import { spawnServer, tempRoot, type ChildServer } from './helpers/server.ts';

const BIN = new URL('../bin/imagestore.js', import.meta.url).pathname;

interface Fsck {
  code: number;
  stdout: string;
  report: any;
}

/** `imagestore fsck --root <root> [--repair]`, once as text and once as JSON. */
async function fsck(root: string, repair = false): Promise<Fsck> {
  const run = (extra: string[]) =>
    new Promise<{ code: number; stdout: string }>((resolve) => {
      const args = [BIN, 'fsck', '--root', root, ...(repair ? ['--repair'] : []), ...extra];
      execFile(process.execPath, args, (error, stdout) => {
        resolve({ code: error ? Number(error.code) : 0, stdout });
      });
    });
  if (repair) {
    const repaired = await run(['--json']);
    return { ...repaired, report: JSON.parse(repaired.stdout) };
  }
  const text = await run([]);
  const json = await run(['--json']);
  assert.equal(json.code, text.code, 'text and JSON runs agree');
  return { code: text.code, stdout: text.stdout, report: JSON.parse(json.stdout) };
}

const CONTENT: Record<string, string> = {
  'app/_.dir': '',
  'app/ApplicationManifest.xml': '<ApplicationManifest/>',
  'app/Svc/Code/run.sh': '#!/bin/sh\necho run\n',
  'app/Svc/_.dir': '',
  'Store/Registered/m.xml': '<m/>',
  'loose.txt': 'loose',
};

async function snapshot(url: string) {
  const usage = await info(url);
  const root = await list(url, '');
  const app = await list(url, 'app');
  const svc = await list(url, 'app/Svc/Code');
  return {
    copy: usage.UsedByCopy,
    register: usage.UsedByRegister,
    staging: usage.UsedByStaging,
    capacity: usage.DiskInfo.Capacity,
    listings: [root.json, app.json, svc.json],
  };
}

describe('restart', () => {
  let root: string;
  let server: ChildServer | undefined;
  before(async () => {
    root = await tempRoot();
  });
  after(async () => {
    await server?.stop('SIGKILL');
    await rm(root, { recursive: true, force: true });
  });

  let before_: Awaited<ReturnType<typeof snapshot>>;

  it('keeps everything across a SIGTERM restart', async () => {
    server = await spawnServer(root);
    for (const [path, body] of Object.entries(CONTENT)) {
      assert.equal((await put(server.url, path, body)).status, 200, path);
    }
    before_ = await snapshot(server.url);
    assert.deepEqual(before_.copy, { UsedSpace: '46', FileCount: '5' });
    assert.deepEqual(before_.register, { UsedSpace: '4', FileCount: '1' });
    await server.stop('SIGTERM');
    assert.equal(server.process.exitCode, 0);
    // What an interrupted upload would leave behind; the start-up check removes it.
    await writeFile(join(root, 'tmp', 'left-by-a-crash'), 'partial body');

    server = await spawnServer(root);
    assert.deepEqual(await snapshot(server.url), before_);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
  });

  it('keeps every acknowledged write across kill -9', async () => {
    // Overwrites free blobs; whatever kill -9 interrupts is finished at the next start.
    for (const body of ['ACKNOWLEDGED', 'first draft!', 'acknowledged']) {
      assert.equal((await put(server!.url, 'after/kill.txt', body)).status, 200);
    }
    assert.equal((await remove(server!.url, 'loose.txt')).status, 200);
    const expected = await snapshot(server!.url);
    await server!.stop('SIGKILL');
    assert.equal(server!.process.signalCode, 'SIGKILL');

    server = await spawnServer(root);
    const afterKill = await snapshot(server.url);
    assert.deepEqual(afterKill, expected);
    assert.equal((await list(server.url, 'after/kill.txt')).json.StoreFiles[0].FileSize, '12');
    assert.equal(errorOf(await list(server.url, 'loose.txt')), '404 FABRIC_E_FILE_NOT_FOUND');
    await server.stop('SIGTERM');
    server = undefined;
  });

  it('fsck reports a cleanly stopped store as consistent', async () => {
    const result = await fsck(root);
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /store is consistent/);
    assert.deepEqual(result.report.missingBlobs, []);
    assert.deepEqual(result.report.wrongSizeBlobs, []);
    assert.equal(result.report.orphanBlobs, 0);
    assert.equal(result.report.foldersOutOfStep, 0);
    assert.deepEqual(result.report.counters, result.report.recounted);
    assert.deepEqual(result.report.recounted.copy, { usedSpace: 53, fileCount: 5 });
    assert.deepEqual(result.report.recounted.register, { usedSpace: 4, fileCount: 1 });
  });

  it('fsck reports a lost blob, an orphan blob, a temp file and a wrong counter', async () => {
    const db = new Database(join(root, 'catalog', 'imagestore.db'));
    const lost = db
      .prepare("SELECT blob FROM files WHERE key = 'app\\applicationmanifest.xml'")
      .get() as {
      blob: string;
    };
    db.prepare("UPDATE usage SET used_space = used_space + 1000 WHERE category = 'copy'").run();
    db.close();
    await unlink(join(root, 'blobs', lost.blob.slice(0, 2), lost.blob));
    await mkdir(join(root, 'blobs', 'ff'), { recursive: true });
    await writeFile(join(root, 'blobs', 'ff', 'ff0000000000000000000000000000aa'), 'orphan bytes');
    await writeFile(join(root, 'tmp', 'interrupted-upload'), 'half a body');

    const result = await fsck(root);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, /MISMATCH/);
    assert.match(result.stdout, /differences found/);
    assert.deepEqual(result.report.missingBlobs, ['app\\applicationmanifest.xml']);
    assert.equal(result.report.orphanBlobs, 1);
    assert.deepEqual(result.report.counters.copy, { usedSpace: 1053, fileCount: 5 });
    assert.deepEqual(result.report.recounted.copy, { usedSpace: 53, fileCount: 5 });
    assert.equal(result.report.temporaryFiles, 1);
    // A report-only run changes nothing: the temporary file is still there for --repair.
    assert.deepEqual(await readdir(join(root, 'tmp')), ['interrupted-upload']);
  });

  it('fsck --repair fixes every difference and a second fsck is clean', async () => {
    const repaired = await fsck(root, true);
    assert.equal(repaired.code, 0, repaired.stdout);
    assert.equal(repaired.report.repaired, true);

    const again = await fsck(root);
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, /store is consistent/);
    assert.equal(again.report.orphanBlobs, 0);
    assert.deepEqual(again.report.missingBlobs, []);
    const lostBytes = '<ApplicationManifest/>'.length;
    assert.deepEqual(again.report.counters.copy, { usedSpace: 53 - lostBytes, fileCount: 4 });
    assert.deepEqual(await readdir(join(root, 'blobs', 'ff')).catch(() => []), []);
  });

  it('serves Info equal to a recount after repair', async () => {
    server = await spawnServer(root);
    const usage = await info(server.url);
    assert.deepEqual(usage.UsedByCopy, { UsedSpace: '31', FileCount: '4' });
    assert.deepEqual(usage.UsedByRegister, { UsedSpace: '4', FileCount: '1' });
    assert.equal(
      errorOf(await list(server.url, 'app/ApplicationManifest.xml')),
      '404 FABRIC_E_FILE_NOT_FOUND',
    );
    const app = await list(server.url, 'app');
    assert.deepEqual(app.json.StoreFolders, [{ StoreRelativePath: 'app\\Svc', FileCount: '2' }]);
  });

  it('refuses a second server on a root in use', async () => {
    await assert.rejects(spawnServer(root), /exited/);
    assert.equal((await info(server!.url)).UsedByCopy.FileCount, '4');
  });
});

describe('fsck on leftovers', () => {
  let root: string;
  before(async () => {
    root = await tempRoot();
    const server = await spawnServer(root);
    assert.equal((await put(server.url, 'keep/a.txt', 'kept')).status, 200);
    await server.stop();
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('reports stray files, temp files and orphan staging files without touching them', async () => {
    await writeFile(join(root, 'blobs', 'stray.txt'), 'x');
    await mkdir(join(root, 'blobs', 'ab', 'nested'), { recursive: true });
    await writeFile(join(root, 'tmp', 'half-upload'), 'half');
    const orphanSession = '11111111-2222-3333-4444-555555555555';
    await writeFile(join(root, 'staging', orphanSession), 'y');

    const result = await fsck(root);
    assert.equal(result.code, 1, result.stdout);
    assert.deepEqual(result.report.strayFiles.sort(), [join('ab', 'nested'), 'stray.txt']);
    assert.equal(result.report.temporaryFiles, 1);
    assert.equal(result.report.staging.orphanStagingFiles, 1);
    assert.deepEqual(await readdir(join(root, 'tmp')), ['half-upload']);
    assert.deepEqual(await readdir(join(root, 'staging')), [orphanSession]);
    assert.ok((await readdir(join(root, 'blobs'))).includes('stray.txt'));
  });

  it('removes them with --repair and keeps the stored file', async () => {
    assert.equal((await fsck(root, true)).code, 0);
    const again = await fsck(root);
    assert.equal(again.code, 0, again.stdout);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
    assert.deepEqual(await readdir(join(root, 'staging')), []);
    const server = await spawnServer(root);
    try {
      assert.equal((await info(server.url)).UsedByCopy.FileCount, '1');
    } finally {
      await server.stop();
    }
  });
});
