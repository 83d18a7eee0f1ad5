import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { errorOf } from './helpers/http.ts';
import { ISO_MILLIS, list, put, remove } from './helpers/image-store.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const paths = (entries: { StoreRelativePath: string }[]) => entries.map((e) => e.StoreRelativePath);

describe('content listing', () => {
  let server: TestServer;
  let startedAt: number;
  before(async () => {
    server = await startTestServer();
    startedAt = Date.now();
  });
  after(() => server.dispose());

  it('lists an empty root as 200 with empty arrays', async () => {
    for (const version of ['6.0', '6.2', '11.3']) {
      const answer = await list(server.url, '', version);
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json, { StoreFiles: [], StoreFolders: [], ContinuationToken: '' });
    }
  });

  it('lists files and folders in the documented shapes', async () => {
    for (const [path, body] of [
      ['pkg/ApplicationManifest.xml', '<xml/>'],
      ['pkg/Svc/ServiceManifest.xml', 'manifest'],
      ['pkg/Svc/Code/run.sh', '#!/bin/sh'],
      ['pkg/Svc/Code/_.dir', ''],
      ['pkg/Svc/_.dir', ''],
      ['pkg/Other/Data/d.bin', 'dd'],
      ['pkg/_.dir', ''],
    ]) {
      assert.equal((await put(server.url, path, body)).status, 200);
    }
    const answer = await list(server.url, 'pkg');
    assert.equal(answer.status, 200);
    assert.deepEqual(Object.keys(answer.json), ['StoreFiles', 'StoreFolders', 'ContinuationToken']);
    assert.equal(answer.json.ContinuationToken, '');
    assert.deepEqual(paths(answer.json.StoreFiles), ['pkg\\_.dir', 'pkg\\ApplicationManifest.xml']);
    assert.deepEqual(answer.json.StoreFolders, [
      { StoreRelativePath: 'pkg\\Other', FileCount: '1' },
      { StoreRelativePath: 'pkg\\Svc', FileCount: '4' },
    ]);
    const manifest = answer.json.StoreFiles[1];
    assert.deepEqual(Object.keys(manifest), [
      'StoreRelativePath',
      'FileVersion',
      'FileSize',
      'ModifiedDate',
    ]);
    assert.deepEqual(Object.keys(manifest.FileVersion), [
      'EpochDataLossNumber',
      'VersionNumber',
      'EpochConfigurationNumber',
    ]);
    for (const value of Object.values(manifest.FileVersion)) {
      assert.match(value as string, /^\d+$/);
    }
    assert.equal(manifest.FileSize, '6');
    assert.match(manifest.ModifiedDate, ISO_MILLIS);
    const modified = Date.parse(manifest.ModifiedDate);
    assert.ok(modified >= startedAt - 1000 && modified <= Date.now() + 1000, manifest.ModifiedDate);

    const root = await list(server.url, '');
    assert.deepEqual(root.json.StoreFolders, [{ StoreRelativePath: 'pkg', FileCount: '7' }]);
    assert.deepEqual(root.json.StoreFiles, []);
  });

  it('gives every write a new, higher version number', async () => {
    const before = (await list(server.url, 'pkg/_.dir')).json.StoreFiles[0];
    assert.equal((await put(server.url, 'pkg/other.txt', 'o')).status, 200);
    const other = (await list(server.url, 'pkg/other.txt')).json.StoreFiles[0];
    assert.ok(Number(other.FileVersion.VersionNumber) > Number(before.FileVersion.VersionNumber));
    assert.equal((await remove(server.url, 'pkg/other.txt')).status, 200);
  });

  it('lists a file path as that one file', async () => {
    const answer = await list(server.url, 'PKG/svc/code/RUN.SH');
    assert.equal(answer.status, 200);
    assert.equal(answer.json.StoreFiles.length, 1);
    assert.equal(answer.json.StoreFiles[0].StoreRelativePath, 'pkg\\Svc\\Code\\run.sh');
    assert.equal(answer.json.StoreFiles[0].FileSize, '9');
    assert.deepEqual(answer.json.StoreFolders, []);
    assert.equal(answer.json.ContinuationToken, '');
  });

  it('answers a missing path with 404 FABRIC_E_FILE_NOT_FOUND naming it', async () => {
    for (const path of ['nothing/here', 'pkg/Svc/Code/missing.sh', 'pk']) {
      const answer = await list(server.url, path);
      assert.equal(errorOf(answer), '404 FABRIC_E_FILE_NOT_FOUND');
      assert.ok(
        answer.json.Error.Message.includes(path.replaceAll('/', '\\')),
        answer.json.Error.Message,
      );
    }
  });

  it('lists the root as empty again once everything is deleted', async () => {
    assert.equal((await remove(server.url, 'pkg')).status, 200);
    const answer = await list(server.url, '');
    assert.deepEqual(answer.json, { StoreFiles: [], StoreFolders: [], ContinuationToken: '' });
    assert.equal(errorOf(await list(server.url, 'pkg')), '404 FABRIC_E_FILE_NOT_FOUND');
  });
});

describe('content listing pages', () => {
  let server: TestServer;
  // Seven files and four folders in one folder, mixed case, interleaved in key order.
  const files = [
    'big/a.txt',
    'big/C.txt',
    'big/e.txt',
    'big/G.txt',
    'big/i.txt',
    'big/k.txt',
    'big/M.txt',
  ];
  const folders = ['big/B/x.txt', 'big/d/y/z.txt', 'big/F/w.txt', 'big/h/v.txt'];
  before(async () => {
    server = await startTestServer({ listPageSize: 3 });
    for (const path of [...files, ...folders]) {
      assert.equal((await put(server.url, path, path)).status, 200);
    }
    assert.equal((await put(server.url, 'root-file.txt', 'r')).status, 200);
    for (const top of ['t1', 'T2', 't3', 't4']) {
      assert.equal((await put(server.url, `${top}/f`, 'f')).status, 200);
    }
  });
  after(() => server.dispose());

  async function walk(path: string, apiVersion = '6.2') {
    const pages: any[] = [];
    let token = '';
    do {
      const extra = token === '' ? '' : `ContinuationToken=${encodeURIComponent(token)}`;
      const answer = await list(server.url, path, apiVersion, extra);
      assert.equal(answer.status, 200, answer.text);
      pages.push(answer.json);
      token = answer.json.ContinuationToken;
      assert.ok(pages.length < 20, 'paging does not end');
    } while (token !== '');
    return pages;
  }

  it('pages a large folder and returns every entry exactly once, in key order', async () => {
    const pages = await walk('big');
    assert.deepEqual(
      pages.map((p) => p.StoreFiles.length + p.StoreFolders.length),
      [3, 3, 3, 2],
    );
    // Sorted within each page only: every page must start after the previous one ends.
    const entries = pages.flatMap((p) =>
      [...paths(p.StoreFiles), ...paths(p.StoreFolders)].sort(byKey),
    );
    const expected = [
      'big\\a.txt',
      'big\\B',
      'big\\C.txt',
      'big\\d',
      'big\\e.txt',
      'big\\F',
      'big\\G.txt',
      'big\\h',
      'big\\i.txt',
      'big\\k.txt',
      'big\\M.txt',
    ];
    assert.deepEqual(entries, expected);
    assert.equal(new Set(entries).size, entries.length);
    const folderCounts = pages.flatMap((p) => p.StoreFolders.map((f: any) => f.FileCount));
    assert.deepEqual(folderCounts, ['1', '1', '1', '1']);
  });

  it('returns as the token the path of the first entry of the next page', async () => {
    const first = (await list(server.url, 'big')).json;
    assert.equal(first.ContinuationToken, 'big\\d');
    const second = (await list(server.url, 'big', '6.2', 'ContinuationToken=big%5Cd')).json;
    assert.deepEqual(paths(second.StoreFolders), ['big\\d', 'big\\F']);
    assert.deepEqual(paths(second.StoreFiles), ['big\\e.txt']);
  });

  it('accepts a token in any casing or separator spelling', async () => {
    const answer = (await list(server.url, 'big', '6.2', 'ContinuationToken=BIG%2FD')).json;
    assert.deepEqual(paths([...answer.StoreFiles, ...answer.StoreFolders]).sort(byKey), [
      'big\\d',
      'big\\e.txt',
      'big\\F',
    ]);
  });

  it('pages the root the same way', async () => {
    const pages = await walk('');
    const entries = pages.flatMap((p) => [...paths(p.StoreFiles), ...paths(p.StoreFolders)]);
    assert.deepEqual(entries.sort(byKey), ['big', 'root-file.txt', 't1', 'T2', 't3', 't4']);
    assert.equal(pages.length, 2);
  });

  it('returns everything in one unpaged answer for api-versions up to 3.0', async () => {
    const answer = await list(server.url, 'big', '3.0');
    assert.equal(answer.json.ContinuationToken, undefined);
    assert.equal(answer.json.StoreFiles.length, 7);
    assert.equal(answer.json.StoreFolders.length, 4);
  });

  it('refuses a token that is not a store path', async () => {
    const answer = await list(server.url, 'big', '6.2', 'ContinuationToken=..%2F..%2Fx');
    assert.equal(errorOf(answer), '400 E_INVALIDARG');
  });
});

function byKey(a: string, b: string) {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}
