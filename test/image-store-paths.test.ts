import assert from 'node:assert/strict';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { errorOf } from './helpers/http.ts';
import { copy, info, list, put, rawCall, remove, storedBytes } from './helpers/image-store.ts';
import { startTestServer, tempRoot, type TestServer } from './helpers/server.ts';

const paths = (entries: { StoreRelativePath: string }[]) => entries.map((e) => e.StoreRelativePath);

describe('store paths', () => {
  let outer: string;
  let server: TestServer;
  before(async () => {
    // The store root sits alone in its own folder so an escape would show up next to it.
    outer = await tempRoot();
    const root = join(outer, 'root');
    await mkdir(root);
    server = await startTestServer({ root });
  });
  after(async () => {
    await server.dispose();
    await rm(outer, { recursive: true, force: true });
  });

  it('treats /, \\, %2F and %5C as the same separator', async () => {
    assert.equal((await put(server.url, 'sep/a/one.txt', '1')).status, 200);
    assert.equal(
      (await rawCall(server.url, 'PUT', '/ImageStore/sep\\a\\two.txt?api-version=6.0', '22'))
        .status,
      200,
    );
    assert.equal((await put(server.url, 'sep%2Fa%2Fthree.txt', '333')).status, 200);
    assert.equal((await put(server.url, 'sep%5Ca%5Cfour.txt', '4444')).status, 200);
    assert.equal(
      (await put(server.url, 'sep%2Fa\\five.txt'.replace('\\', '%5C'), '55555')).status,
      200,
    );

    const expected = [
      'sep\\a\\five.txt',
      'sep\\a\\four.txt',
      'sep\\a\\one.txt',
      'sep\\a\\three.txt',
      'sep\\a\\two.txt',
    ];
    for (const spelling of ['sep/a', 'sep%2Fa', 'sep%5Ca', 'sep%5ca', 'sep%2fa']) {
      const answer = await list(server.url, spelling);
      assert.equal(answer.status, 200, spelling);
      assert.deepEqual(paths(answer.json.StoreFiles), expected, spelling);
    }
    const backslash = await rawCall(server.url, 'GET', '/ImageStore/sep\\a?api-version=6.2');
    assert.deepEqual(paths(backslash.json.StoreFiles), expected);
    const root = await list(server.url, '');
    assert.deepEqual(root.json.StoreFolders, [{ StoreRelativePath: 'sep', FileCount: '5' }]);
    assert.deepEqual(await storedBytes(server.store, 'sep/a/two.txt'), Buffer.from('22'));
  });

  it('trims outer separators and spaces', async () => {
    for (const spelling of [
      '%20trim%2Fa.txt%20',
      '%2Ftrim%2Fa.txt%2F',
      '%5C%20trim/a.txt%20%5C%2F',
    ]) {
      assert.equal((await put(server.url, spelling, spelling)).status, 200, spelling);
    }
    const answer = await list(server.url, '%20%2Ftrim%5C%20');
    assert.equal(answer.status, 200);
    assert.deepEqual(paths(answer.json.StoreFiles), ['trim\\a.txt']);
    assert.equal(answer.json.StoreFiles[0].FileSize, String('%5C%20trim/a.txt%20%5C%2F'.length));
    const raw = await rawCall(server.url, 'GET', '/ImageStore/%20\\trim\\/?api-version=6.2');
    assert.deepEqual(paths(raw.json.StoreFiles), ['trim\\a.txt']);
  });

  it("matches keys case-insensitively and keeps the first writer's casing", async () => {
    assert.equal((await put(server.url, 'Case/Data/File.TXT', 'first')).status, 200);
    assert.equal((await put(server.url, 'case/data/file.txt', 'second!')).status, 200);
    assert.equal((await put(server.url, 'CASE/DATA/New.txt', 'n')).status, 200);

    const answer = await list(server.url, 'cAsE/dAtA');
    assert.deepEqual(paths(answer.json.StoreFiles), [
      'Case\\Data\\File.TXT',
      'Case\\Data\\New.txt',
    ]);
    assert.equal(answer.json.StoreFiles[0].FileSize, '7');
    assert.deepEqual(await storedBytes(server.store, 'CASE/data/FILE.txt'), Buffer.from('second!'));
    const root = await list(server.url, '');
    assert.ok(root.json.StoreFolders.some((f: any) => f.StoreRelativePath === 'Case'));
    assert.ok(!root.json.StoreFolders.some((f: any) => f.StoreRelativePath === 'case'));
    assert.equal(
      root.json.StoreFolders.find((f: any) => f.StoreRelativePath === 'Case').FileCount,
      '2',
    );
  });

  it('lists with \\ separators from the store root', async () => {
    assert.equal((await put(server.url, 'app/Code/a.dll', 'a')).status, 200);
    const code = await list(server.url, 'app/Code');
    assert.equal(code.json.StoreFiles[0].StoreRelativePath, 'app\\Code\\a.dll');
    const app = await list(server.url, 'app');
    assert.deepEqual(app.json.StoreFolders, [{ StoreRelativePath: 'app\\Code', FileCount: '1' }]);
  });

  it('keeps non-ASCII names intact', async () => {
    assert.equal((await put(server.url, encodeURIComponent('uni/café/ü ñ.txt'), 'u')).status, 200);
    const answer = await list(server.url, encodeURIComponent('UNI/CAFÉ'));
    assert.deepEqual(paths(answer.json.StoreFiles), ['uni\\café\\ü ñ.txt']);
  });

  const badPaths = [
    '..',
    '%2E%2E',
    'a/../b.txt',
    'a%2F..%2Fb.txt',
    'a\\..\\..\\escape.txt',
    '..%5C..%5Cescape.txt',
    '%2E%2E%2F%2E%2E%2Fescape.txt',
    'a/%20..%20/b.txt',
    'a/./b.txt',
    'a%00b.txt',
    'nul%00',
    'line%0Abreak.txt',
    'tab%09.txt',
    'del%7F.txt',
    'unit%1F.txt',
    'a/%20%20/b.txt',
    'a%5C%20%5Cb.txt',
  ];

  it('refuses .., . and control characters in an upload path', async () => {
    for (const path of badPaths) {
      const answer = await rawCall(server.url, 'PUT', `/ImageStore/${path}?api-version=6.0`, 'x');
      assert.equal(errorOf(answer), '400 E_INVALIDARG', `PUT ${path}: ${answer.text}`);
    }
  });

  it('refuses the same paths when listing, deleting and as folder-size targets', async () => {
    for (const path of badPaths) {
      for (const [method, suffix, version] of [
        ['GET', '', '6.2'],
        ['DELETE', '', '6.0'],
        ['GET', '/$/FolderSize', '6.5'],
      ]) {
        const url = `/ImageStore/${path}${suffix}?api-version=${version}`;
        const answer = await rawCall(server.url, method, url);
        assert.equal(errorOf(answer), '400 E_INVALIDARG', `${method} ${url}: ${answer.text}`);
      }
    }
  });

  it('refuses a bare $ segment that names no operation', async () => {
    for (const url of ['/ImageStore/$', '/ImageStore/$/', '/ImageStore/app/$']) {
      const answer = await rawCall(server.url, 'GET', `${url}?api-version=6.2`);
      assert.equal(errorOf(answer), '400 E_INVALIDARG', `${url}: ${answer.text}`);
    }
  });

  it('names the offending path in the message', async () => {
    const dots = await rawCall(
      server.url,
      'PUT',
      '/ImageStore/a%2F..%2Fb.txt?api-version=6.0',
      'x',
    );
    assert.match(dots.json.Error.Message, /a\/\.\.\/b\.txt/);
    const nul = await rawCall(server.url, 'PUT', '/ImageStore/a%00b.txt?api-version=6.0', 'x');
    assert.match(nul.json.Error.Message, /a\\x00b\.txt/);
  });

  it('refuses empty paths where a path is required', async () => {
    for (const path of ['', '/', '%2F', '%5C', '%20', '%20%2F%20%5C%20', '%2F%2F%2F']) {
      for (const method of ['PUT', 'DELETE']) {
        const answer = await rawCall(server.url, method, `/ImageStore/${path}?api-version=6.0`, '');
        assert.equal(errorOf(answer), '400 E_INVALIDARG', `${method} '${path}': ${answer.text}`);
      }
    }
    assert.ok((await list(server.url, '')).json.StoreFolders.length > 0, 'nothing was deleted');
  });

  it('refuses .. and control characters in copy paths', async () => {
    assert.equal((await put(server.url, 'src/f.txt', 'f')).status, 200);
    for (const [source, destination] of [
      ['src/f.txt', '../outside.txt'],
      ['src/f.txt', 'a\\..\\..\\outside.txt'],
      ['../root/src/f.txt', 'x.txt'],
      ['src/f.txt', 'a\u0000b'],
      ['src/f.txt', ''],
      ['src/f.txt', ' / '],
    ]) {
      const answer = await copy(server.url, {
        RemoteSource: source,
        RemoteDestination: destination,
      });
      assert.equal(errorOf(answer), '400 E_INVALIDARG', `${source} -> ${destination}`);
    }
  });

  it('never writes anything outside the store root', async () => {
    assert.deepEqual(await readdir(outer), ['root']);
    const inRoot = (await readdir(server.root)).sort();
    assert.deepEqual(inRoot, [
      'blobs',
      'catalog',
      'imagestore.pid',
      'provisioning',
      'staging',
      'tmp',
    ]);
    const catalogFiles = (await readdir(join(server.root, 'catalog'))).sort();
    assert.ok(
      catalogFiles.every((name) => name.startsWith('imagestore.db')),
      String(catalogFiles),
    );
    const shards = await readdir(join(server.root, 'blobs'));
    assert.ok(
      shards.every((name) => /^[0-9a-f]{2}$/.test(name)),
      String(shards),
    );
    const usage = await info(server.url);
    assert.equal(usage.UsedByRegister.FileCount, '0');
  });

  it('still removes real content after refusing bad deletes', async () => {
    assert.equal((await remove(server.url, 'src')).status, 200);
    assert.equal(errorOf(await list(server.url, 'src')), '404 FABRIC_E_FILE_NOT_FOUND');
  });
});
