import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { errorOf } from './helpers/http.ts';
import { folderSize, info, list, put, rawCall, remove } from './helpers/image-store.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const paths = (entries: { StoreRelativePath: string }[]) => entries.map((e) => e.StoreRelativePath);

describe('delete', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.dispose());

  async function upload(entries: Record<string, string>) {
    for (const [path, body] of Object.entries(entries)) {
      assert.equal((await put(server.url, path, body)).status, 200, path);
    }
  }

  it('deletes a folder with everything below it and updates every count', async () => {
    await upload({
      'app/_.dir': '',
      'app/a.txt': 'aaaa',
      'app/Code/b.dll': 'bbbbbbbb',
      'app/Code/Deep/c.bin': 'cc',
      'keep/k.txt': 'kkk',
    });
    const before = await info(server.url);
    assert.equal(before.UsedByCopy.FileCount, '5');
    assert.equal(before.UsedByCopy.UsedSpace, '17');

    assert.equal((await remove(server.url, 'app/Code')).status, 200);
    assert.equal(errorOf(await list(server.url, 'app/Code')), '404 FABRIC_E_FILE_NOT_FOUND');
    assert.equal(errorOf(await list(server.url, 'app/Code/Deep')), '404 FABRIC_E_FILE_NOT_FOUND');
    const app = await list(server.url, 'app');
    assert.deepEqual(paths(app.json.StoreFiles), ['app\\_.dir', 'app\\a.txt']);
    assert.deepEqual(app.json.StoreFolders, []);
    const root = await list(server.url, '');
    assert.deepEqual(root.json.StoreFolders, [
      { StoreRelativePath: 'app', FileCount: '2' },
      { StoreRelativePath: 'keep', FileCount: '1' },
    ]);
    assert.deepEqual((await folderSize(server.url, '')).json.FolderSize, '7');
    assert.deepEqual((await info(server.url)).UsedByCopy, { UsedSpace: '7', FileCount: '3' });
  });

  it('deletes a single file and drops a folder left empty', async () => {
    assert.equal((await remove(server.url, 'keep/k.txt')).status, 200);
    assert.equal(errorOf(await list(server.url, 'keep')), '404 FABRIC_E_FILE_NOT_FOUND');
    assert.deepEqual(paths((await list(server.url, '')).json.StoreFolders), ['app']);
  });

  it('matches the path case-insensitively and in any separator spelling', async () => {
    await upload({ 'Spell/One/x.txt': 'x', 'Spell/Two/y.txt': 'y', 'Spell/Three/z.txt': 'z' });
    assert.equal((await remove(server.url, 'SPELL%2Fone')).status, 200);
    assert.equal((await remove(server.url, 'spell%5CTWO%5C')).status, 200);
    const raw = await rawCall(
      server.url,
      'DELETE',
      '/ImageStore/%20\\spell\\three?api-version=6.0',
    );
    assert.equal(raw.status, 200);
    assert.equal(errorOf(await list(server.url, 'Spell')), '404 FABRIC_E_FILE_NOT_FOUND');
  });

  it('deletes only the named folder, not siblings sharing its prefix', async () => {
    await upload({
      'pre/x.txt': '1',
      'pre.txt': '22',
      'pre2/y.txt': '333',
      'pre-x/z.txt': '4444',
      'pre]/w.txt': '55555',
    });
    const before = await info(server.url);
    assert.equal((await remove(server.url, 'pre')).status, 200);
    const root = (await list(server.url, '')).json;
    assert.ok(root.StoreFiles.some((f: any) => f.StoreRelativePath === 'pre.txt'));
    const siblings = root.StoreFolders.filter((f: any) => f.StoreRelativePath.startsWith('pre'));
    assert.deepEqual(siblings, [
      { StoreRelativePath: 'pre-x', FileCount: '1' },
      { StoreRelativePath: 'pre2', FileCount: '1' },
      { StoreRelativePath: 'pre]', FileCount: '1' },
    ]);
    for (const sibling of ['pre2', 'pre-x', 'pre%5D']) {
      assert.equal((await list(server.url, sibling)).status, 200, sibling);
    }
    assert.equal((await folderSize(server.url, 'pre2')).json.FolderSize, '3');
    const afterInfo = await info(server.url);
    assert.equal(Number(afterInfo.UsedByCopy.FileCount), Number(before.UsedByCopy.FileCount) - 1);
    assert.equal((await remove(server.url, 'pre2')).status, 200);
    assert.equal((await remove(server.url, 'pre-x')).status, 200);
    assert.equal((await remove(server.url, 'pre]')).status, 200);
    assert.equal((await remove(server.url, 'pre.txt')).status, 200);
    // Only app\_.dir and app\a.txt remain from the earlier tests.
    assert.deepEqual((await info(server.url)).UsedByCopy, { UsedSpace: '4', FileCount: '2' });
    assert.equal((await folderSize(server.url, '')).json.FolderSize, '4');
    assert.deepEqual((await list(server.url, '')).json.StoreFolders, [
      { StoreRelativePath: 'app', FileCount: '2' },
    ]);
  });

  it('is idempotent: a missing path answers 200 and changes nothing', async () => {
    const before = await info(server.url);
    for (const path of ['never/was', 'app/missing.txt', 'app/_.dir/x']) {
      assert.equal((await remove(server.url, path)).status, 200, path);
      assert.equal((await remove(server.url, path)).status, 200, path);
    }
    assert.deepEqual((await info(server.url)).UsedByCopy, before.UsedByCopy);
  });

  it('refuses to delete Store or WindowsFabricStore in any spelling', async () => {
    await upload({ 'Store/App/_.dir': '', 'WindowsFabricStore/f.cab': 'cab' });
    const spellings = [
      'Store',
      'store',
      'STORE',
      'store/',
      'Store%2F',
      '%2FStore',
      '%5CSTORE%20',
      '%20store%20',
      'store%5C%5C',
      'WindowsFabricStore',
      'windowsfabricstore/',
      '%2FWINDOWSFABRICSTORE%5C',
    ];
    for (const path of spellings) {
      const answer = await remove(server.url, path);
      assert.equal(
        errorOf(answer),
        '400 FABRIC_E_IMAGEBUILDER_RESERVED_DIRECTORY_ERROR',
        `DELETE ${path}: ${answer.text}`,
      );
    }
    for (const path of [
      '/ImageStore/\\STORE ?api-version=6.0',
      '/ImageStore//Store/?api-version=6.0',
    ]) {
      const raw = await rawCall(server.url, 'DELETE', path.replace(' ', '%20'));
      assert.equal(errorOf(raw), '400 FABRIC_E_IMAGEBUILDER_RESERVED_DIRECTORY_ERROR', path);
    }
    const message = (await remove(server.url, 'store/')).json.Error.Message;
    assert.match(message, /store/);
    assert.equal((await list(server.url, 'Store/App')).status, 200);
    assert.equal((await list(server.url, 'WindowsFabricStore/f.cab')).status, 200);
    assert.deepEqual((await info(server.url)).UsedByRegister, { UsedSpace: '3', FileCount: '2' });
  });

  it('allows deleting files and folders under Store', async () => {
    await upload({ 'Store/App/x.txt': 'xx', 'Store/top.txt': 't' });
    assert.equal((await remove(server.url, 'store/app')).status, 200);
    assert.equal((await remove(server.url, 'Store/top.txt')).status, 200);
    assert.equal((await remove(server.url, 'WindowsFabricStore/f.cab')).status, 200);
    assert.deepEqual((await info(server.url)).UsedByRegister, { UsedSpace: '0', FileCount: '0' });
    assert.equal(errorOf(await list(server.url, 'Store')), '404 FABRIC_E_FILE_NOT_FOUND');
  });

  it('does not treat a nested folder named Store as reserved', async () => {
    await upload({ 'app/Store/x.txt': 'x' });
    assert.equal((await remove(server.url, 'app/Store')).status, 200);
    assert.equal(errorOf(await list(server.url, 'app/Store')), '404 FABRIC_E_FILE_NOT_FOUND');
  });
});
