import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageFiles, tinyApp, votingApp } from './helpers/app-package.ts';
import { errorOf } from './helpers/http.ts';
import {
  listTypes,
  provision,
  storeTree,
  sum,
  unprovision,
  usage,
  waitForType,
} from './helpers/provisioning.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { external, PackageServer, sfpkg } from './helpers/package-server.ts';

const VALIDATION = '400 FABRIC_E_IMAGEBUILDER_VALIDATION_ERROR';

describe('provisioning from an external store (.sfpkg)', () => {
  let server: TestServer;
  let url: string;
  const store = new PackageServer();

  before(async () => {
    await store.start();
    store.routes.set('/Voting.sfpkg', sfpkg(packageFiles(votingApp('1.0.0', 'ExtType'))));
    store.routes.set('/Voting2.sfpkg', sfpkg(packageFiles(votingApp('2.0.0', 'ExtType'))));
    store.routes.set('/Slow.sfpkg', sfpkg(packageFiles(tinyApp('SlowType', '1.0'))));
    store.routes.set(
      '/Evil.sfpkg',
      sfpkg(packageFiles(tinyApp('EvilType', '1.0')), [
        { name: '../escaped.txt', data: Buffer.from('outside') },
      ]),
    );
    store.routes.set('/NotZip.sfpkg', Buffer.from('this is not a zip archive'));
    store.routes.set('/Big.sfpkg', Buffer.alloc(300_000, 7));
    server = await startTestServer({ maxPackageDownloadBytes: 200_000 });
    url = server.url;
  });
  after(async () => {
    try {
      await server?.dispose();
    } finally {
      await store.stop();
    }
  });

  /** Every blob on disk is a registered file: nothing leaked by failed or finished provisions. */
  async function assertNoLeakedBlobs() {
    await server.store.garbage.idle();
    let blobs = 0;
    for (const shard of await readdir(join(server.root, 'blobs'))) {
      blobs += (await readdir(join(server.root, 'blobs', shard))).length;
    }
    assert.equal(blobs, (await usage(url)).register.files);
  }

  it('downloads, unpacks and registers a package', async () => {
    const answer = await provision(url, external(`${store.url}/Voting.sfpkg`, 'ExtType', '1.0.0'));
    assert.equal(answer.status, 200, answer.text);
    const tree = await storeTree(url, 'Store/ExtType');
    assert.ok(tree.has('Store\\ExtType\\BackendPkg.Code.1.0.0.zip'));
    // Folders unpacked from the archive are marked complete like uploaded ones.
    assert.ok(tree.has('Store\\ExtType\\WebPkg.Code.1.0.0\\_.dir'));
    assert.ok(tree.has('Store\\ExtType\\WebPkg.Code.1.0.0\\wwwroot\\_.dir'));
    const now = await usage(url);
    assert.deepEqual(now.register, sum(tree));
    assert.deepEqual(now.copy, { bytes: 0, files: 0 });
    assert.deepEqual(
      (await listTypes(url)).map((i) => [i.Name, i.Version, i.Status]),
      [['ExtType', '1.0.0', 'Available']],
    );
    await assertNoLeakedBlobs();
  });

  it('registers a second version asynchronously, sharing what is unchanged', async () => {
    const before = await storeTree(url, 'Store/ExtType');
    const answer = await provision(
      url,
      external(`${store.url}/Voting2.sfpkg`, 'ExtType', '2.0.0', true),
    );
    assert.equal(answer.status, 202, answer.text);
    await waitForType(url, 'ExtType', '2.0.0', (i) => i.Status === 'Available');
    const tree = await storeTree(url, 'Store/ExtType');
    const added = [...tree.keys()].filter((p) => !before.has(p));
    assert.ok(added.includes('Store\\ExtType\\WebPkg.Code.2.0.0\\web.exe'));
    assert.ok(!added.some((p) => p.includes('BackendPkg')), 'BackendPkg is shared');
    assert.deepEqual((await usage(url)).register, sum(tree));
    await assertNoLeakedBlobs();
  });

  it('answers 409 while the same version is still provisioning', async () => {
    const slow = external(`${store.url}/stall/Slow.sfpkg`, 'SlowType', '1.0', true);
    assert.equal((await provision(url, slow)).status, 202);
    await waitForType(url, 'SlowType', '1.0', (i) => i.Status === 'Provisioning');
    assert.equal(
      errorOf(await provision(url, slow)),
      '409 FABRIC_E_APPLICATION_TYPE_PROVISION_IN_PROGRESS',
    );
    assert.equal(
      errorOf(await unprovision(url, 'SlowType', '1.0')),
      '409 FABRIC_E_APPLICATION_TYPE_PROVISION_IN_PROGRESS',
    );
    await store.release();
    await waitForType(url, 'SlowType', '1.0', (i) => i.Status === 'Available');
    await assertNoLeakedBlobs();
  });

  it('times out a download that outlasts the request timeout and registers nothing', async () => {
    const before = await usage(url);
    const answer = await provision(
      url,
      external(`${store.url}/stall/Slow.sfpkg`, 'SlowType', '2.0'),
      '6.2',
      '&timeout=1',
    );
    assert.equal(errorOf(answer), '504 FABRIC_E_TIMEOUT', answer.text);
    assert.ok(!(await listTypes(url)).some((i) => i.Version === '2.0'));
    assert.deepEqual(await usage(url), before);
    await assertNoLeakedBlobs();
  });

  it('refuses packages it cannot fetch or unpack, naming the URI', async () => {
    const before = await usage(url);
    const cases: [string, string, string][] = [
      [`${store.url}/Missing.sfpkg`, VALIDATION, 'HTTP 404'],
      [`${store.url}/NotZip.sfpkg`, VALIDATION, 'is not a readable zip archive'],
      [`${store.url}/Evil.sfpkg`, VALIDATION, '../escaped.txt'],
      [`${store.url}/Big.sfpkg`, '413 FABRIC_E_VALUE_TOO_LARGE', '200000 bytes'],
      [`${store.url}/Voting.txt`, VALIDATION, 'does not name an .sfpkg file'],
      ['ftp://127.0.0.1/x.sfpkg', '400 E_INVALIDARG', 'must use http or https'],
      ['http://127.0.0.1:1/Refused.sfpkg', VALIDATION, 'could not be downloaded'],
    ];
    for (const [uri, status, message] of cases) {
      const answer = await provision(url, external(uri, 'BadType', '1.0'));
      assert.equal(errorOf(answer), status, `${uri}: ${answer.text}`);
      assert.ok(answer.json.Error.Message.includes(message), answer.text);
      if (!uri.startsWith('ftp')) assert.ok(answer.json.Error.Message.includes(uri), answer.text);
    }
    assert.deepEqual(await usage(url), before);
    assert.ok(!(await listTypes(url)).some((i) => i.Name === 'BadType'));
    await assertNoLeakedBlobs();
  });

  it('refuses a package whose manifest names another type or version', async () => {
    const answer = await provision(url, external(`${store.url}/Voting.sfpkg`, 'ExtType', '9.9'));
    assert.equal(errorOf(answer), VALIDATION);
    assert.match(
      answer.json.Error.Message,
      /declares application type 'ExtType' version '1\.0\.0', but 'ExtType' version '9\.9' was requested/,
    );
    assert.ok(answer.json.Error.Message.includes(`${store.url}/Voting.sfpkg`));
    await assertNoLeakedBlobs();
  });
});
