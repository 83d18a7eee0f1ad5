import assert from 'node:assert/strict';
import { stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, errorOf } from './helpers/http.ts';
import { copy, folderSize, info, put, remove, storeUrl } from './helpers/image-store.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const usage = (space: number, count: number) => ({
  UsedSpace: String(space),
  FileCount: String(count),
});

describe('folder size', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.dispose());

  it('reports 0 for an empty root', async () => {
    const answer = await folderSize(server.url, '');
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json, { StoreRelativePath: '', FolderSize: '0' });
  });

  it('sums every file below the root and below a folder, markers counting 0', async () => {
    for (const [path, body] of [
      ['App/_.dir', ''],
      ['App/a.bin', 'x'.repeat(100)],
      ['App/Code/b.bin', 'y'.repeat(250)],
      ['App/Code/Deep/c.bin', 'z'.repeat(7)],
      ['Other/d.bin', 'w'.repeat(40)],
    ]) {
      assert.equal((await put(server.url, path, body)).status, 200);
    }
    assert.deepEqual((await folderSize(server.url, '')).json, {
      StoreRelativePath: '',
      FolderSize: '397',
    });
    assert.deepEqual((await folderSize(server.url, 'App')).json, {
      StoreRelativePath: 'App',
      FolderSize: '357',
    });
    assert.deepEqual((await folderSize(server.url, 'app%2Fcode%2F')).json, {
      StoreRelativePath: 'App\\Code',
      FolderSize: '257',
    });
  });

  it('answers the stored casing of a folder or file, whatever the request casing', async () => {
    assert.equal((await put(server.url, 'Cased/Inner/File.TXT', 'abc')).status, 200);
    assert.deepEqual((await folderSize(server.url, 'CASED/inner')).json, {
      StoreRelativePath: 'Cased\\Inner',
      FolderSize: '3',
    });
    assert.deepEqual((await folderSize(server.url, 'cased/INNER/file.txt')).json, {
      StoreRelativePath: 'Cased\\Inner\\File.TXT',
      FolderSize: '3',
    });
    assert.equal((await remove(server.url, 'Cased')).status, 200);
  });

  it('follows overwrite, copy and delete', async () => {
    assert.equal((await put(server.url, 'App/Code/b.bin', 'short')).status, 200);
    assert.equal((await folderSize(server.url, 'App')).json.FolderSize, '112');
    assert.equal(
      (await copy(server.url, { RemoteSource: 'App', RemoteDestination: 'B' })).status,
      200,
    );
    assert.equal((await folderSize(server.url, 'B')).json.FolderSize, '112');
    assert.equal((await folderSize(server.url, '')).json.FolderSize, '264');
    assert.equal((await remove(server.url, 'App/Code')).status, 200);
    assert.equal((await folderSize(server.url, 'App')).json.FolderSize, '100');
    assert.equal((await folderSize(server.url, '')).json.FolderSize, '252');
  });

  it('answers a missing folder with 404 FABRIC_E_FILE_NOT_FOUND naming it', async () => {
    const answer = await folderSize(server.url, 'App/Gone');
    assert.equal(errorOf(answer), '404 FABRIC_E_FILE_NOT_FOUND');
    assert.match(answer.json.Error.Message, /App\\Gone/);
  });

  it('reads the size from the catalog, not from a walk of the disk', async () => {
    // The catalog is the source of truth: a blob damaged behind its back does not change it.
    const file = await server.store.catalog.getFile('other\\d.bin');
    const { truncate } = await import('node:fs/promises');
    await truncate(join(server.root, 'blobs', file!.blob.slice(0, 2), file!.blob), 1);
    assert.equal((await folderSize(server.url, 'Other')).json.FolderSize, '40');
  });
});

describe('Info', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.dispose());

  it('answers a single object with every number as a string', async () => {
    const answer = await call('GET', storeUrl(server.url, '$/Info', '6.5'));
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
    assert.ok(!Array.isArray(answer.json));
    assert.deepEqual(Object.keys(answer.json), [
      'DiskInfo',
      'UsedByMetadata',
      'UsedByStaging',
      'UsedByCopy',
      'UsedByRegister',
    ]);
    assert.deepEqual(Object.keys(answer.json.DiskInfo), ['Capacity', 'AvailableSpace']);
    for (const name of ['UsedByMetadata', 'UsedByStaging', 'UsedByCopy', 'UsedByRegister']) {
      assert.deepEqual(Object.keys(answer.json[name]), ['UsedSpace', 'FileCount']);
    }
    for (const group of Object.values(answer.json) as Record<string, unknown>[]) {
      for (const value of Object.values(group)) assert.match(value as string, /^\d+$/);
    }
    assert.deepEqual(answer.json.UsedByCopy, usage(0, 0));
    assert.deepEqual(answer.json.UsedByRegister, usage(0, 0));
    assert.deepEqual(answer.json.UsedByStaging, usage(0, 0));
  });

  it('reports the disk of the volume holding the store root', async () => {
    const disk = (await info(server.url)).DiskInfo;
    const volume = await statfs(server.root);
    assert.equal(disk.Capacity, String(volume.blocks * volume.bsize));
    const available = volume.bavail * volume.bsize;
    assert.ok(
      Math.abs(Number(disk.AvailableSpace) - available) < 64 * 1024 * 1024,
      `${disk.AvailableSpace} vs ${available}`,
    );
    assert.ok(Number(disk.AvailableSpace) <= Number(disk.Capacity));
  });

  it('counts the catalog files as metadata', async () => {
    assert.equal((await put(server.url, 'm/x.txt', 'x')).status, 200);
    const metadata = (await info(server.url)).UsedByMetadata;
    let space = 0;
    let count = 0;
    for (const suffix of ['', '-wal', '-shm', '-journal']) {
      const file = await stat(join(server.root, 'catalog', `imagestore.db${suffix}`)).catch(
        () => undefined,
      );
      if (file) {
        space += file.size;
        count += 1;
      }
    }
    assert.ok(count >= 1);
    assert.deepEqual(metadata, usage(space, count));
    assert.equal((await remove(server.url, 'm')).status, 200);
  });

  it('follows upload, overwrite, copy, delete and Store files', async () => {
    const current = async () => {
      const answer = await info(server.url);
      return { copy: answer.UsedByCopy, register: answer.UsedByRegister };
    };
    assert.deepEqual(await current(), { copy: usage(0, 0), register: usage(0, 0) });

    assert.equal((await put(server.url, 'app/a.bin', 'a'.repeat(1000))).status, 200);
    assert.equal((await put(server.url, 'app/_.dir', '')).status, 200);
    assert.deepEqual(await current(), { copy: usage(1000, 2), register: usage(0, 0) });

    assert.equal((await put(server.url, 'APP/A.BIN', 'a'.repeat(600))).status, 200);
    assert.deepEqual(await current(), { copy: usage(600, 2), register: usage(0, 0) });

    const copied = await copy(server.url, { RemoteSource: 'app', RemoteDestination: 'app2' });
    assert.equal(copied.status, 200);
    assert.deepEqual(await current(), { copy: usage(1200, 4), register: usage(0, 0) });

    assert.equal((await put(server.url, 'Store/App/m.xml', 'm'.repeat(30))).status, 200);
    assert.equal((await put(server.url, 'WindowsFabricStore/c.cab', 'c'.repeat(5))).status, 200);
    assert.equal((await put(server.url, 'storefront/s.txt', 's'.repeat(9))).status, 200);
    assert.equal((await put(server.url, 'app/Store/n.txt', 'n'.repeat(4))).status, 200);
    assert.deepEqual(await current(), { copy: usage(1213, 6), register: usage(35, 2) });

    const registered = await copy(server.url, {
      RemoteSource: 'app',
      RemoteDestination: 'store/x',
    });
    assert.equal(registered.status, 200);
    assert.deepEqual(await current(), { copy: usage(1213, 6), register: usage(639, 5) });

    assert.equal((await remove(server.url, 'app')).status, 200);
    assert.deepEqual(await current(), { copy: usage(609, 3), register: usage(639, 5) });

    assert.equal((await remove(server.url, 'store/App/m.xml')).status, 200);
    assert.equal((await remove(server.url, 'Store/x')).status, 200);
    assert.deepEqual(await current(), { copy: usage(609, 3), register: usage(5, 1) });

    assert.equal((await remove(server.url, 'app2')).status, 200);
    assert.equal((await remove(server.url, 'storefront')).status, 200);
    assert.equal((await remove(server.url, 'WindowsFabricStore/c.cab')).status, 200);
    assert.deepEqual(await current(), { copy: usage(0, 0), register: usage(0, 0) });
    assert.deepEqual((await info(server.url)).UsedByStaging, usage(0, 0));
  });

  it('agrees with a recount of the catalog rows', async () => {
    for (const [path, body] of [
      ['r/a', '12345'],
      ['Store/r/b', '678'],
      ['r/a', '9'],
    ]) {
      assert.equal((await put(server.url, path, body)).status, 200);
    }
    const answer = await info(server.url);
    const recount = await server.store.catalog.recount(false);
    assert.deepEqual(
      answer.UsedByCopy,
      usage(recount.recounted.copy.usedSpace, recount.recounted.copy.fileCount),
    );
    assert.deepEqual(
      answer.UsedByRegister,
      usage(recount.recounted.register.usedSpace, recount.recounted.register.fileCount),
    );
    assert.deepEqual(answer.UsedByCopy, usage(1, 1));
    assert.deepEqual(answer.UsedByRegister, usage(3, 1));
    assert.equal(recount.foldersOutOfStep, 0);
  });
});

describe('Info on a path', () => {
  it('is refused with E_INVALIDARG', async () => {
    const server = await startTestServer();
    try {
      const answer = await call('GET', storeUrl(server.url, 'x/$/Info', '6.5'));
      assert.equal(errorOf(answer), '400 E_INVALIDARG');
    } finally {
      await server.dispose();
    }
  });
});
