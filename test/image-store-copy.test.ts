import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, errorOf } from './helpers/http.ts';
import { copy, info, list, put, remove, storeUrl, storedBytes } from './helpers/image-store.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const paths = (entries: { StoreRelativePath: string }[]) => entries.map((e) => e.StoreRelativePath);

describe('copy', () => {
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

  /** Every file below a folder with its bytes, paths relative to the folder. */
  async function tree(folder: string): Promise<Record<string, string>> {
    const files = await server.store.catalog.listTree(folder.toLowerCase().replaceAll('/', '\\'));
    const result: Record<string, string> = {};
    for (const file of files) {
      const bytes = await storedBytes(server.store, file.path);
      result[file.path.slice(folder.length + 1)] = bytes!.toString();
    }
    return result;
  }

  it('copies a single file to exactly the destination', async () => {
    await upload({ 'src/one.txt': 'one body' });
    const before = await info(server.url);
    const answer = await copy(server.url, {
      RemoteSource: 'src/one.txt',
      RemoteDestination: 'dst/renamed.txt',
    });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.text, '');
    assert.deepEqual(await storedBytes(server.store, 'dst/renamed.txt'), Buffer.from('one body'));
    const listing = await list(server.url, 'dst');
    assert.deepEqual(paths(listing.json.StoreFiles), ['dst\\renamed.txt']);
    const afterInfo = await info(server.url);
    assert.equal(Number(afterInfo.UsedByCopy.FileCount), Number(before.UsedByCopy.FileCount) + 1);
    assert.equal(Number(afterInfo.UsedByCopy.UsedSpace), Number(before.UsedByCopy.UsedSpace) + 8);
  });

  it('makes an independent file: the source can change or go', async () => {
    const source = await server.store.catalog.getFile('src\\one.txt');
    const copied = await server.store.catalog.getFile('dst\\renamed.txt');
    assert.notEqual(source!.blob, copied!.blob);
    await upload({ 'src/one.txt': 'changed source' });
    assert.deepEqual(await storedBytes(server.store, 'dst/renamed.txt'), Buffer.from('one body'));
    assert.equal((await remove(server.url, 'src/one.txt')).status, 200);
    await server.store.garbage.idle();
    assert.deepEqual(await storedBytes(server.store, 'dst/renamed.txt'), Buffer.from('one body'));
    assert.equal((await list(server.url, 'dst/renamed.txt')).json.StoreFiles[0].FileSize, '8');
  });

  it('copies a complete folder with nested markers, marker written last', async () => {
    await upload({
      'pkg/Code/a.dll': 'A',
      'pkg/Code/_.dir': '',
      'pkg/Config/Settings.xml': '<Settings/>',
      'pkg/Config/_.dir': '',
      'pkg/ServiceManifest.xml': '<m/>',
      'pkg/_.dir': '',
    });
    const answer = await copy(server.url, {
      RemoteSource: 'pkg',
      RemoteDestination: 'Copies/Pkg2',
    });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(await tree('Copies/Pkg2'), {
      'Code\\_.dir': '',
      'Code\\a.dll': 'A',
      'Config\\_.dir': '',
      'Config\\Settings.xml': '<Settings/>',
      'ServiceManifest.xml': '<m/>',
      '_.dir': '',
    });
    const listing = await list(server.url, 'copies/pkg2');
    assert.deepEqual(listing.json.StoreFolders, [
      { StoreRelativePath: 'Copies\\Pkg2\\Code', FileCount: '2' },
      { StoreRelativePath: 'Copies\\Pkg2\\Config', FileCount: '2' },
    ]);
    const files = await server.store.catalog.listTree('copies\\pkg2');
    const marker = files.find((f) => f.key === 'copies\\pkg2\\_.dir')!;
    for (const file of files) {
      if (file !== marker) assert.ok(file.version < marker.version, `${file.path} after marker`);
    }
  });

  it('refuses to copy a folder without its _.dir marker', async () => {
    await upload({ 'partial/a.txt': 'a', 'partial/sub/_.dir': '' });
    const answer = await copy(server.url, { RemoteSource: 'partial', RemoteDestination: 'p2' });
    assert.equal(errorOf(answer), '404 FABRIC_E_FILE_NOT_FOUND');
    assert.match(answer.json.Error.Message, /partial/);
    assert.equal(errorOf(await list(server.url, 'p2')), '404 FABRIC_E_FILE_NOT_FOUND');
  });

  it('answers a missing source with 404 naming it', async () => {
    const answer = await copy(server.url, { RemoteSource: 'no/such', RemoteDestination: 'x' });
    assert.equal(errorOf(answer), '404 FABRIC_E_FILE_NOT_FOUND');
    assert.match(answer.json.Error.Message, /no\\such/);
  });

  it('skips files by name, case-insensitively, at every depth', async () => {
    await upload({ 'pkg/Code/Fabric.Dll': 'skip me', 'pkg/fabric.dll': 'me too' });
    const answer = await copy(server.url, {
      RemoteSource: 'pkg',
      RemoteDestination: 'skipped',
      SkipFiles: ['FABRIC.dll', 'Settings.xml'],
      CheckMarkFile: true,
    });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(Object.keys(await tree('skipped')).sort(), [
      'Code\\_.dir',
      'Code\\a.dll',
      'Config\\_.dir',
      'ServiceManifest.xml',
      '_.dir',
    ]);
  });

  it('overwrites a destination folder by default, dropping files it had', async () => {
    await upload({ 'target/stale.txt': 'stale', 'target/_.dir': '', 'target/Code/a.dll': 'old' });
    const answer = await copy(server.url, { RemoteSource: 'pkg', RemoteDestination: 'target' });
    assert.equal(answer.status, 200, answer.text);
    const copied = await tree('target');
    assert.equal(copied['stale.txt'], undefined);
    assert.equal(copied['Code\\a.dll'], 'A');
    assert.equal(copied['Code\\Fabric.Dll'], 'skip me');
  });

  it('keeps a complete destination with CopyFlag Echo', async () => {
    await upload({ 'echo/mine.txt': 'mine', 'echo/_.dir': '' });
    const before = await tree('echo');
    for (const flag of ['Echo', 'echo']) {
      const answer = await copy(server.url, {
        RemoteSource: 'pkg',
        RemoteDestination: 'echo',
        CopyFlag: flag,
      });
      assert.equal(answer.status, 200, answer.text);
      assert.deepEqual(await tree('echo'), before);
    }
  });

  it('replaces an incomplete destination even with CopyFlag Echo', async () => {
    await upload({ 'echo2/leftover.txt': 'half' });
    const answer = await copy(server.url, {
      RemoteSource: 'pkg',
      RemoteDestination: 'echo2',
      CopyFlag: 'Echo',
    });
    assert.equal(answer.status, 200, answer.text);
    const copied = await tree('echo2');
    assert.equal(copied['leftover.txt'], undefined);
    assert.equal(copied['_.dir'], '');
  });

  it('keeps an existing destination file with Echo and replaces it with Overwrite', async () => {
    await upload({ 'f/src.txt': 'source', 'f/dst.txt': 'existing' });
    const description = { RemoteSource: 'f/src.txt', RemoteDestination: 'f/dst.txt' };
    assert.equal((await copy(server.url, { ...description, CopyFlag: 'Echo' })).status, 200);
    assert.deepEqual(await storedBytes(server.store, 'f/dst.txt'), Buffer.from('existing'));
    assert.equal((await copy(server.url, { ...description, CopyFlag: 'Overwrite' })).status, 200);
    assert.deepEqual(await storedBytes(server.store, 'f/dst.txt'), Buffer.from('source'));
  });

  it('normalises both paths before matching them', async () => {
    const answer = await copy(server.url, {
      RemoteSource: ' /PKG\\ ',
      RemoteDestination: '\\normalised/Copy/',
    });
    assert.equal(answer.status, 200, answer.text);
    assert.equal((await list(server.url, 'normalised/Copy/_.dir')).status, 200);
  });

  it('counts a copy into Store as registered content', async () => {
    const before = await info(server.url);
    const answer = await copy(server.url, { RemoteSource: 'pkg', RemoteDestination: 'Store/App' });
    assert.equal(answer.status, 200);
    const afterInfo = await info(server.url);
    const bytes = '<m/>'.length + 'A'.length + '<Settings/>'.length + 'skip me'.length;
    assert.equal(
      Number(afterInfo.UsedByRegister.UsedSpace),
      Number(before.UsedByRegister.UsedSpace) + bytes + 'me too'.length,
    );
    assert.equal(
      Number(afterInfo.UsedByRegister.FileCount),
      Number(before.UsedByRegister.FileCount) + 8,
    );
    assert.deepEqual(afterInfo.UsedByCopy, before.UsedByCopy);
  });

  it('refuses malformed copy descriptions with E_INVALIDARG', async () => {
    const bodies: unknown[] = [
      '',
      '   ',
      'not json',
      '{"RemoteSource":"pkg",',
      '[]',
      'null',
      '"pkg"',
      {},
      { RemoteSource: 'pkg' },
      { RemoteDestination: 'x' },
      { RemoteSource: 5, RemoteDestination: 'x' },
      { RemoteSource: 'pkg', RemoteDestination: ['x'] },
      { RemoteSource: 'pkg', RemoteDestination: 'x', SkipFiles: 'a.dll' },
      { RemoteSource: 'pkg', RemoteDestination: 'x', SkipFiles: [1] },
      { RemoteSource: 'pkg', RemoteDestination: 'x', CheckMarkFile: 'yes' },
      { RemoteSource: 'pkg', RemoteDestination: 'x', CopyFlag: 'Sideways' },
      { RemoteSource: 'pkg', RemoteDestination: 'x', CopyFlag: 1 },
      { RemoteSource: '', RemoteDestination: 'x' },
      { RemoteSource: 'pkg', RemoteDestination: 'pkg' },
      { RemoteSource: 'pkg', RemoteDestination: 'PKG/inner' },
      { RemoteSource: 'pkg/Code', RemoteDestination: 'pkg' },
    ];
    for (const body of bodies) {
      const answer = await copy(server.url, body);
      assert.equal(errorOf(answer), '400 E_INVALIDARG', `${JSON.stringify(body)}: ${answer.text}`);
    }
    assert.equal(errorOf(await list(server.url, 'x')), '404 FABRIC_E_FILE_NOT_FOUND');
    assert.equal(errorOf(await list(server.url, 'pkg/inner')), '404 FABRIC_E_FILE_NOT_FOUND');
  });

  it('reads the description whatever its Content-Type', async () => {
    const answer = await call(
      'POST',
      storeUrl(server.url, '$/Copy'),
      JSON.stringify({ remotesource: 'f/src.txt', REMOTEDESTINATION: 'f/ct.txt' }),
      { 'content-type': 'text/plain' },
    );
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(await storedBytes(server.store, 'f/ct.txt'), Buffer.from('source'));
  });
});
