import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { packageFiles, tinyApp, votingApp } from './helpers/app-package.ts';
import { call, errorOf } from './helpers/http.ts';
import {
  listTypes,
  provision,
  provisionPath,
  uploadLikeSfctl,
  usage,
  waitForType,
} from './helpers/provisioning.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const VALIDATION = '400 FABRIC_E_IMAGEBUILDER_VALIDATION_ERROR';

describe('provisioning conflicts and failures', () => {
  let server: TestServer;
  let url: string;

  before(async () => {
    server = await startTestServer({ cleanupOnProvisionSuccess: false });
    url = server.url;
    await uploadLikeSfctl(url, 'Voting1', packageFiles(votingApp('1.0.0')));
    const answer = await provisionPath(url, 'Voting1');
    assert.equal(answer.status, 200, answer.text);
  });
  after(() => server.dispose());

  it('keeps the upload when the server setting turns Default cleanup off', async () => {
    const left = await call('GET', `${url}/ImageStore/Voting1?api-version=6.2`);
    assert.equal(left.status, 200);
  });

  it('refuses a changed package that kept its name and version', async () => {
    const before = await usage(url);
    const app = votingApp('1.0.0');
    app.version = '1.0.1';
    app.services[0].packages[0].files['web.exe'] = 'patched without a new version';
    await uploadLikeSfctl(url, 'Voting101', packageFiles(app));
    const answer = await provisionPath(url, 'Voting101');
    assert.equal(errorOf(answer), VALIDATION, answer.text);
    assert.match(
      answer.json.Error.Message,
      /CodePackage 'Code' version '1\.0\.0' of ServiceManifest 'WebPkg' version '1\.0\.0' is already registered for application type 'VotingType' \(version '1\.0\.0'\) with different content/,
    );
    assert.deepEqual((await usage(url)).register, before.register);
    assert.deepEqual(
      (await listTypes(url)).map((i) => i.Version),
      ['1.0.0'],
    );
  });

  it('refuses a type name that differs only in letter case from a registered one', async () => {
    await uploadLikeSfctl(url, 'Lower', packageFiles(votingApp('3.0.0', 'votingtype')));
    const answer = await provisionPath(url, 'Lower');
    assert.equal(errorOf(answer), VALIDATION);
    assert.match(
      answer.json.Error.Message,
      /differs only in letter case from the registered type 'VotingType'/,
    );
  });

  it('accepts the legacy flat body (api 6.0), old property names (6.1) and Kind in any place', async () => {
    for (const [root, version] of [
      ['Legacy', '4.0.0'],
      ['Old61', '4.0.1'],
      ['KindLast', '4.0.2'],
    ]) {
      await uploadLikeSfctl(url, root, packageFiles(votingApp(version)));
    }
    const legacy = await provision(
      url,
      { ApplicationTypeBuildPath: 'Legacy', Async: false },
      '6.0',
    );
    assert.equal(legacy.status, 200, legacy.text);
    const old = await provision(
      url,
      {
        Kind: 'ImageStorePath',
        ApplicationTypeImageStorePath: 'Old61',
        DisableApplicationPackageCleanup: true,
        Async: false,
      },
      '6.1',
    );
    assert.equal(old.status, 200, old.text);
    const last = await provision(url, {
      Async: false,
      ApplicationTypeBuildPath: 'KindLast',
      Kind: 'ImageStorePath',
    });
    assert.equal(last.status, 200, last.text);
    const versions = (await listTypes(url)).map((i) => i.Version);
    assert.deepEqual(versions, ['1.0.0', '4.0.0', '4.0.1', '4.0.2']);
  });

  it('answers 202 for Async and shows a failed validation as Failed with its details', async () => {
    const app = tinyApp('VotingType', '5.0.0');
    const files = packageFiles(app);
    files.delete('SvcPkg/Code/svc.exe');
    await uploadLikeSfctl(url, 'Async5', files);
    const answer = await provisionPath(url, 'Async5', { Async: true });
    assert.equal(answer.status, 202, answer.text);
    assert.equal(answer.text, '', 'Async answers 202 with an empty body');
    const failed = await waitForType(
      url,
      'VotingType',
      '5.0.0',
      (i) => i.Status !== 'Provisioning',
    );
    assert.equal(failed.Status, 'Failed');
    assert.match(
      failed.StatusDetails,
      /FABRIC_E_IMAGEBUILDER_VALIDATION_ERROR: CodePackage 'Code'/,
    );
    assert.match(failed.StatusDetails, /'Async5\\SvcPkg\\Code\.zip'/);
    const manifest = await call(
      'GET',
      `${url}/ApplicationTypes/VotingType/$/GetApplicationManifest?api-version=6.0&ApplicationTypeVersion=5.0.0`,
    );
    assert.equal(errorOf(manifest), '404 FABRIC_E_APPLICATION_TYPE_NOT_FOUND');

    // The fixed upload provisions over the failed attempt.
    await uploadLikeSfctl(url, 'Async5', packageFiles(app));
    const again = await provisionPath(url, 'Async5', { Async: true });
    assert.equal(again.status, 202, again.text);
    const done = await waitForType(url, 'VotingType', '5.0.0', (i) => i.Status !== 'Provisioning');
    assert.deepEqual([done.Status, done.StatusDetails], ['Available', '']);
  });

  it('reuses registered service packages that a package leaves out', async () => {
    const before = await usage(url);
    const files = packageFiles(votingApp('7.0.0'));
    for (const path of [...files.keys()])
      if (path !== 'ApplicationManifest.xml') files.delete(path);
    await uploadLikeSfctl(url, 'OnlyManifest7', files);
    const answer = await provisionPath(url, 'OnlyManifest7');
    assert.equal(answer.status, 200, answer.text);
    const manifest = files.get('ApplicationManifest.xml')!;
    assert.deepEqual((await usage(url)).register, {
      bytes: before.register.bytes + manifest.length,
      files: before.register.files + 1,
    });
    const types = await call(
      'GET',
      `${url}/ApplicationTypes/VotingType/$/GetServiceTypes?api-version=6.0&ApplicationTypeVersion=7.0.0`,
    );
    assert.deepEqual(
      types.json.map((t: any) => t.ServiceTypeDescription.ServiceTypeName),
      ['WebType', 'BackendType'],
    );
  });

  it('unprovisions a Failed version, which holds no files', async () => {
    const files = packageFiles(tinyApp('VotingType', '6.0.0'));
    files.delete('SvcPkg/ServiceManifest.xml');
    await uploadLikeSfctl(url, 'Broken6', files);
    assert.equal((await provisionPath(url, 'Broken6', { Async: true })).status, 202);
    await waitForType(url, 'VotingType', '6.0.0', (i) => i.Status === 'Failed');
    const before = await usage(url);
    const answer = await call(
      'POST',
      `${url}/ApplicationTypes/VotingType/$/Unprovision?api-version=6.0`,
      JSON.stringify({ ApplicationTypeVersion: '6.0.0' }),
    );
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(await usage(url), before);
    assert.ok(!(await listTypes(url)).some((i) => i.Version === '6.0.0'));
  });
});
