import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { packageFiles, tinyApp, votingApp } from './helpers/app-package.ts';
import { call, errorOf, type Answer } from './helpers/http.ts';
import { listTypes, provisionPath, uploadLikeSfctl, usage } from './helpers/provisioning.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const VALIDATION = '400 FABRIC_E_IMAGEBUILDER_VALIDATION_ERROR';

describe('provisioning refuses a bad package with a message naming the file at fault', () => {
  let server: TestServer;
  let url: string;

  before(async () => {
    server = await startTestServer();
    url = server.url;
  });
  after(() => server.dispose());

  /** Uploads the voting package under `root` after `change` edits its files. */
  async function upload(root: string, change: (files: Map<string, Buffer>) => void = () => {}) {
    const files = packageFiles(votingApp('1.0.0', root + 'Type'));
    change(files);
    await uploadLikeSfctl(url, root, files);
  }

  function edit(files: Map<string, Buffer>, path: string, from: string | RegExp, to: string) {
    const text = files.get(path)!.toString();
    const changed = text.replace(from, to);
    assert.notEqual(changed, text, `the edit of ${path} changes it`);
    files.set(path, Buffer.from(changed));
  }

  async function assertRefused(answer: Answer, status: string, ...mentions: string[]) {
    assert.equal(errorOf(answer), status, answer.text);
    for (const text of mentions) assert.ok(answer.json.Error.Message.includes(text), answer.text);
    // Nothing was registered and no half-provisioned row is left behind.
    assert.deepEqual((await usage(url)).register, { bytes: 0, files: 0 });
    assert.deepEqual(await listTypes(url), []);
  }

  it('answers 404 for a build path that is not in the store', async () => {
    await assertRefused(
      await provisionPath(url, 'NoSuchPackage'),
      '404 FABRIC_E_DIRECTORY_NOT_FOUND',
      "'NoSuchPackage'",
    );
  });

  it("refuses build paths that climb with '..' or name a drive", async () => {
    await assertRefused(await provisionPath(url, 'pkg/../other'), VALIDATION, "'pkg/../other'");
    await assertRefused(await provisionPath(url, 'C:\\pkg'), VALIDATION, 'rooted');
    await assertRefused(await provisionPath(url, '/C:/pkg'), VALIDATION, 'rooted');
  });

  it('trims a leading separator of the build path like every image store path', async () => {
    // Not rooted any more: resolved inside the store, where this folder does not exist.
    const answer = await provisionPath(url, '/abs/pkg');
    assert.equal(errorOf(answer), '404 FABRIC_E_DIRECTORY_NOT_FOUND', answer.text);
    assert.ok(answer.json.Error.Message.includes("'abs\\pkg'"), answer.text);
  });

  it('refuses a build path inside the reserved Store folder', async () => {
    await assertRefused(
      await provisionPath(url, 'Store/App1'),
      '400 FABRIC_E_IMAGEBUILDER_RESERVED_DIRECTORY_ERROR',
      "'Store'",
    );
  });

  it('refuses a build path without its _.dir marker (upload not finished)', async () => {
    const files = packageFiles(tinyApp('NoMarkerType', '1.0'));
    for (const [path, body] of files) {
      await call('PUT', `${url}/ImageStore/NoMarker/${path}?api-version=6.1`, body);
    }
    await assertRefused(await provisionPath(url, 'NoMarker'), VALIDATION, "'NoMarker\\_.dir'");
  });

  it('refuses a package without ApplicationManifest.xml', async () => {
    await upload('NoAppManifest', (files) => files.delete('ApplicationManifest.xml'));
    await assertRefused(
      await provisionPath(url, 'NoAppManifest'),
      VALIDATION,
      "'NoAppManifest\\ApplicationManifest.xml' is missing",
    );
  });

  it('names the file and line of unreadable XML', async () => {
    await upload('BadXml', (files) =>
      edit(files, 'ApplicationManifest.xml', '<Parameters>', '<Parameters><Broken>'),
    );
    await assertRefused(
      await provisionPath(url, 'BadXml'),
      VALIDATION,
      "'BadXml\\ApplicationManifest.xml' is not well-formed XML at line",
    );
    await upload('BadSvcXml', (files) =>
      edit(files, 'BackendPkg/ServiceManifest.xml', '</ServiceTypes>', '</ServiceType>'),
    );
    const answer = await provisionPath(url, 'BadSvcXml');
    await assertRefused(answer, VALIDATION, "'BadSvcXml\\BackendPkg\\ServiceManifest.xml'");
    assert.match(answer.json.Error.Message, /at line 5/);
  });

  it('refuses an import whose ServiceManifest.xml is missing', async () => {
    await upload('NoSvc', (files) => files.delete('WebPkg/ServiceManifest.xml'));
    await assertRefused(
      await provisionPath(url, 'NoSvc'),
      VALIDATION,
      "'NoSvc\\WebPkg\\ServiceManifest.xml' is missing",
      "ServiceManifest 'WebPkg' version '1.0.0'",
    );
  });

  it('refuses a service manifest whose Name or Version differs from the import', async () => {
    await upload('Mismatch', (files) =>
      edit(files, 'WebPkg/ServiceManifest.xml', 'Version="1.0.0" xmlns', 'Version="9.9.9" xmlns'),
    );
    await assertRefused(
      await provisionPath(url, 'Mismatch'),
      VALIDATION,
      "'Mismatch\\WebPkg\\ServiceManifest.xml' declares ServiceManifest 'WebPkg' version '9.9.9'",
      "imports 'WebPkg' version '1.0.0'",
    );
  });

  it('refuses a missing code, config or data package, as folder or .zip', async () => {
    await upload('NoCode', (files) => {
      for (const path of [...files.keys()]) if (path.startsWith('WebPkg/Code/')) files.delete(path);
    });
    await assertRefused(
      await provisionPath(url, 'NoCode'),
      VALIDATION,
      "CodePackage 'Code' version '1.0.0' of ServiceManifest 'WebPkg'",
      "'NoCode\\WebPkg\\Code'",
      "'NoCode\\WebPkg\\Code.zip'",
    );
    await upload('NoZip', (files) => files.delete('BackendPkg/Config.zip'));
    await assertRefused(
      await provisionPath(url, 'NoZip'),
      VALIDATION,
      "ConfigPackage 'Config' version '1.0.0' of ServiceManifest 'BackendPkg'",
      "'NoZip\\BackendPkg\\Config.zip'",
    );
  });

  it("refuses '..' and rooted names inside the manifests", async () => {
    await upload('DotDot', (files) =>
      edit(
        files,
        'ApplicationManifest.xml',
        'ServiceManifestName="WebPkg"',
        'ServiceManifestName=".."',
      ),
    );
    await assertRefused(
      await provisionPath(url, 'DotDot'),
      VALIDATION,
      "'DotDot\\ApplicationManifest.xml' has ServiceManifestName '..'",
    );
    await upload('Rooted', (files) =>
      edit(
        files,
        'WebPkg/ServiceManifest.xml',
        'CodePackage Name="Code"',
        'CodePackage Name="\\abs"',
      ),
    );
    await assertRefused(
      await provisionPath(url, 'Rooted'),
      VALIDATION,
      "'Rooted\\WebPkg\\ServiceManifest.xml' has CodePackage Name '\\abs'",
    );
  });

  it('refuses a provision request the gateway could not deserialize', async () => {
    const bad = async (body: string, apiVersion = '6.2') =>
      call('POST', `${url}/ApplicationTypes/$/Provision?api-version=${apiVersion}`, body);
    assert.equal(errorOf(await bad('{"Kind":')), '400 E_INVALIDARG');
    const noKind = await bad('{"ApplicationTypeBuildPath":"x","Async":false}');
    assert.equal(errorOf(noKind), '400 E_INVALIDARG');
    assert.match(noKind.json.Error.Message, /Kind/);
    const kind = await bad('{"Kind":"Compose","Async":false}');
    assert.match(kind.json.Error.Message, /Kind 'Compose'/);
    const policy = await bad(
      '{"Kind":"ImageStorePath","ApplicationTypeBuildPath":"x","ApplicationPackageCleanupPolicy":"Sometimes"}',
    );
    assert.match(policy.json.Error.Message, /'Sometimes'/);
    const noUri = await bad(
      '{"Kind":"ExternalStore","ApplicationTypeName":"a","ApplicationTypeVersion":"1"}',
    );
    assert.match(noUri.json.Error.Message, /ApplicationPackageDownloadUri/);
    assert.equal(errorOf(await bad('{}', '0.9')), '400 E_INVALIDARG');
  });
});
