import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { packageFiles, tinyApp, votingApp } from './helpers/app-package.ts';
import { call, errorOf } from './helpers/http.ts';
import { PackageServer, external, sfpkg } from './helpers/package-server.ts';
import {
  blobFilesOnDisk,
  listTypes,
  provision,
  provisionPath,
  storeTree,
  sum,
  uploadLikeSfctl,
  usage,
  waitForType,
} from './helpers/provisioning.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const VALIDATION = '400 FABRIC_E_IMAGEBUILDER_VALIDATION_ERROR';
const CHANGED = 'was deleted or overwritten while the package was being provisioned';

describe('provisioning when store content changes under it', () => {
  let server: TestServer;
  let url: string;
  const packages = new PackageServer();

  before(async () => {
    await packages.start();
    for (const version of ['1.0', '4.0', '6.0', '7.0']) {
      packages.routes.set(
        `/Race${version}.sfpkg`,
        sfpkg(packageFiles(tinyApp('RaceType', version))),
      );
    }
    server = await startTestServer({ cleanupOnProvisionSuccess: false });
    url = server.url;
  });
  after(async () => {
    try {
      await server?.dispose();
    } finally {
      await packages.stop();
    }
  });

  async function assertNoOrphanBlobs() {
    await server.store.garbage.idle();
    const now = await usage(url);
    assert.equal(await blobFilesOnDisk(server.root), now.copy.files + now.register.files);
  }

  /**
   * Provisions `buildPath` while an earlier provision of the same type holds the type's queue
   * (its download stalls), runs `change` once the provision has claimed its version and waits
   * in that queue, then lets both go on. Returns the answer to the provision of `buildPath`.
   */
  async function provisionWhileChanging(
    blocker: string,
    buildPath: string,
    version: string,
    change: () => Promise<void>,
  ) {
    const stalled = external(
      `${packages.url}/stall/Race${blocker}.sfpkg`,
      'RaceType',
      blocker,
      true,
    );
    assert.equal((await provision(url, stalled)).status, 202);
    await waitForType(url, 'RaceType', blocker, (i) => i.Status === 'Provisioning');
    const answer = provisionPath(url, buildPath);
    await waitForType(url, 'RaceType', version, (i) => i.Status === 'Provisioning');
    await change();
    await server.store.garbage.idle();
    await packages.release();
    await waitForType(url, 'RaceType', blocker, (i) => i.Status === 'Available');
    return answer;
  }

  it('fails cleanly when the build path is deleted during the provision', async () => {
    await uploadLikeSfctl(url, 'Race2', packageFiles(tinyApp('RaceType', '2.0')));
    const answer = await provisionWhileChanging('1.0', 'Race2', '2.0', async () => {
      assert.equal((await call('DELETE', `${url}/ImageStore/Race2?api-version=6.0`)).status, 200);
    });
    assert.equal(errorOf(answer), VALIDATION, answer.text);
    assert.ok(answer.json.Error.Message.includes(`'Race2\\ApplicationManifest.xml' ${CHANGED}`));
    assert.ok(!(await listTypes(url)).some((i) => i.Version === '2.0'));
    await assertNoOrphanBlobs();
  });

  it('fails cleanly when a file of the build path is overwritten during the provision', async () => {
    await uploadLikeSfctl(url, 'Race3', packageFiles(tinyApp('RaceType', '3.0')));
    const answer = await provisionWhileChanging('4.0', 'Race3', '3.0', async () => {
      const put = await call(
        'PUT',
        `${url}/ImageStore/Race3/SvcPkg/Code/svc.exe?api-version=6.0`,
        Buffer.from('replaced'),
      );
      assert.equal(put.status, 200);
    });
    assert.equal(errorOf(answer), VALIDATION, answer.text);
    assert.ok(answer.json.Error.Message.includes(`'Race3\\SvcPkg\\Code\\svc.exe' ${CHANGED}`));
    assert.ok(!(await listTypes(url)).some((i) => i.Version === '3.0'));
    await assertNoOrphanBlobs();
  });

  it('fails cleanly when a file is added to the build path during the provision', async () => {
    await uploadLikeSfctl(url, 'Race5', packageFiles(tinyApp('RaceType', '5.0')));
    const answer = await provisionWhileChanging('6.0', 'Race5', '5.0', async () => {
      const put = await call(
        'PUT',
        `${url}/ImageStore/Race5/SvcPkg/Code/extra.dll?api-version=6.0`,
        Buffer.from('added late'),
      );
      assert.equal(put.status, 200);
    });
    assert.equal(errorOf(answer), VALIDATION, answer.text);
    assert.ok(answer.json.Error.Message.includes(`'Race5\\SvcPkg\\Code\\extra.dll' ${CHANGED}`));
    assert.ok(!(await listTypes(url)).some((i) => i.Version === '5.0'));
    await assertNoOrphanBlobs();
  });

  it('answers 504 on time while queued behind another provision, then registers nothing', async () => {
    await uploadLikeSfctl(url, 'Race8', packageFiles(tinyApp('RaceType', '8.0')));
    const stalled = external(`${packages.url}/stall/Race7.0.sfpkg`, 'RaceType', '7.0', true);
    assert.equal((await provision(url, stalled)).status, 202);
    await waitForType(url, 'RaceType', '7.0', (i) => i.Status === 'Provisioning');
    const body = { Kind: 'ImageStorePath', ApplicationTypeBuildPath: 'Race8', Async: false };
    const answer = await provision(url, body, '6.2', '&timeout=1');
    assert.equal(errorOf(answer), '504 FABRIC_E_TIMEOUT', answer.text);
    // Still queued: the claim goes when the stopped work gets its turn.
    await packages.release();
    await waitForType(url, 'RaceType', '7.0', (i) => i.Status === 'Available');
    for (let i = 0; (await listTypes(url)).some((t) => t.Version === '8.0'); i++) {
      assert.ok(i < 200, 'the timed-out version is dropped');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.ok(
      !(await storeTree(url, 'Store/RaceType')).has('Store\\RaceType\\ApplicationManifest.8.0.xml'),
    );
    await assertNoOrphanBlobs();
  });

  it('registers a deleted shared package again from a new package that contains it', async () => {
    await uploadLikeSfctl(url, 'Dam1', packageFiles(votingApp('1.0.0', 'DamType')));
    assert.equal((await provisionPath(url, 'Dam1')).status, 200);
    const gone = 'Store/DamType/BackendPkg.Code.1.0.0.zip';
    assert.equal((await call('DELETE', `${url}/ImageStore/${gone}?api-version=6.0`)).status, 200);

    await uploadLikeSfctl(url, 'Dam2', packageFiles(votingApp('2.0.0', 'DamType')));
    const answer = await provisionPath(url, 'Dam2');
    assert.equal(answer.status, 200, answer.text);
    const tree = await storeTree(url, 'Store/DamType');
    assert.ok(tree.has('Store\\DamType\\BackendPkg.Code.1.0.0.zip'));
    assert.deepEqual((await usage(url)).register, sum(await storeTree(url, 'Store')));
    await assertNoOrphanBlobs();
  });

  it('refuses to share a registered package whose files were changed or deleted', async () => {
    const before = await usage(url);
    // Version 3.0.0 leaves out the unchanged BackendPkg, which it would share.
    const files = packageFiles(votingApp('3.0.0', 'DamType'));
    for (const path of files.keys()) if (path.startsWith('BackendPkg/')) files.delete(path);
    await uploadLikeSfctl(url, 'Dam3', files);
    const manifest = 'Store/DamType/BackendPkg.Manifest.1.0.0.xml';
    const put = await call(
      'PUT',
      `${url}/ImageStore/${manifest}?api-version=6.0`,
      Buffer.from('x'),
    );
    assert.equal(put.status, 200);
    const answer = await provisionPath(url, 'Dam3');
    assert.equal(errorOf(answer), VALIDATION, answer.text);
    assert.ok(
      answer.json.Error.Message.includes(
        "ServiceManifest 'BackendPkg' version '1.0.0' is not in the package, and the registered " +
          "'Store\\DamType\\BackendPkg.Manifest.1.0.0.xml'",
      ),
      answer.text,
    );
    const settings = 'Store/DamType/BackendPkg.Config.1.0.0.zip';
    assert.equal(
      (await call('DELETE', `${url}/ImageStore/${settings}?api-version=6.0`)).status,
      200,
    );
    // With the manifest back in the package, the deleted config package is what is missing.
    const withManifest = packageFiles(votingApp('3.0.0', 'DamType'));
    files.set(
      'BackendPkg/ServiceManifest.xml',
      withManifest.get('BackendPkg/ServiceManifest.xml')!,
    );
    for (const path of withManifest.keys()) {
      if (path.startsWith('BackendPkg/Code')) files.set(path, withManifest.get(path)!);
    }
    await uploadLikeSfctl(url, 'Dam3b', files);
    const second = await provisionPath(url, 'Dam3b');
    assert.equal(errorOf(second), VALIDATION, second.text);
    assert.ok(
      second.json.Error.Message.includes(
        "ConfigPackage 'Config' version '1.0.0' of ServiceManifest 'BackendPkg' version '1.0.0' " +
          "is not in the package, and the registered 'Store\\DamType\\BackendPkg.Config.1.0.0.zip'",
      ),
      second.text,
    );
    assert.deepEqual(
      (await listTypes(url)).filter((i) => i.Name === 'DamType').map((i) => i.Version),
      ['1.0.0', '2.0.0'],
    );
    // The refused provisions registered nothing; the overwritten manifest is one file as before.
    assert.deepEqual((await usage(url)).register.files, before.register.files - 1);
    await assertNoOrphanBlobs();
  });
});
