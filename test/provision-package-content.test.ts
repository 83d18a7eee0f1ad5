import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { packageFiles, tinyApp, type AppSpec, type ServiceSpec } from './helpers/app-package.ts';
import { errorOf } from './helpers/http.ts';
import {
  blobFilesOnDisk,
  listTypes,
  provisionPath,
  storeTree,
  uploadLikeSfctl,
  usage,
} from './helpers/provisioning.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const VALIDATION = '400 FABRIC_E_IMAGEBUILDER_VALIDATION_ERROR';

function service(name: string, version: string, code: string, codeVersion: string): ServiceSpec {
  return {
    name,
    version,
    serviceType: `${name}Type`,
    stateful: false,
    packages: [
      {
        kind: 'Code',
        name: code,
        version: codeVersion,
        files: { 'run.exe': `${name} ${code} ${codeVersion}` },
      },
    ],
  };
}

function app(typeName: string, version: string, services: ServiceSpec[]): AppSpec {
  return { typeName, version, parameters: {}, services };
}

describe('provisioning checks what the package holds', () => {
  let server: TestServer;
  let url: string;

  before(async () => {
    server = await startTestServer({ cleanupOnProvisionSuccess: false });
    url = server.url;
  });
  after(() => server.dispose());

  async function tryProvision(root: string, files: Map<string, Buffer>) {
    await uploadLikeSfctl(url, root, files);
    return provisionPath(url, root);
  }

  async function assertRefused(root: string, files: Map<string, Buffer>, ...mentions: string[]) {
    const before = await usage(url);
    const answer = await tryProvision(root, files);
    assert.equal(errorOf(answer), VALIDATION, answer.text);
    for (const text of mentions) assert.ok(answer.json.Error.Message.includes(text), answer.text);
    assert.deepEqual((await usage(url)).register, before.register);
    await server.store.garbage.idle();
    const now = await usage(url);
    assert.equal(await blobFilesOnDisk(server.root), now.copy.files + now.register.files);
  }

  it('refuses two packages of one version that map to the same store name', async () => {
    const files = packageFiles(
      app('ClashType', '1.0', [
        service('Svc.A', '1.0', 'Code', '1.0'),
        service('Svc', '1.0', 'A.Code', '1.0'),
      ]),
    );
    await assertRefused(
      'Clash',
      files,
      "CodePackage 'Code' version '1.0' of ServiceManifest 'Svc.A' version '1.0'",
      "CodePackage 'A.Code' version '1.0' of ServiceManifest 'Svc' version '1.0'",
      'Store\\ClashType\\Svc.A.Code.1.0',
    );
    assert.ok(!(await listTypes(url)).some((i) => i.Name === 'ClashType'));
  });

  it('refuses a package whose store name is a manifest name', async () => {
    const files = packageFiles(
      app('ManifestClash', '1.0', [service('Svc', '1.0', 'Manifest', '1.0.xml')]),
    );
    await assertRefused(
      'ManifestClash',
      files,
      "CodePackage 'Manifest' version '1.0.xml' of ServiceManifest 'Svc' version '1.0'",
      "ServiceManifest 'Svc' version '1.0'",
      'Store\\ManifestClash\\Svc.Manifest.1.0.xml',
    );
  });

  it('names the registered package a new one clashes with', async () => {
    const v1 = packageFiles(app('Shadow', '1.0', [service('Svc.A', '1.0', 'Code', '1.0')]));
    assert.equal((await tryProvision('Shadow1', v1)).status, 200);
    const v2 = packageFiles(app('Shadow', '2.0', [service('Svc', '2.0', 'A.Code', '1.0')]));
    await assertRefused(
      'Shadow2',
      v2,
      "CodePackage 'A.Code' version '1.0' of ServiceManifest 'Svc' version '2.0' maps to the " +
        "store name 'Store\\Shadow\\Svc.A.Code.1.0', which CodePackage 'Code' version '1.0' of " +
        "ServiceManifest 'Svc.A' version '1.0' (registered by version '1.0')",
    );
    const v3 = packageFiles(
      app('Shadow', '3.0', [service('Svc.A', '3.0', 'Manifest', '1.0.xml.checksum')]),
    );
    await assertRefused(
      'Shadow3',
      v3,
      "CodePackage 'Manifest' version '1.0.xml.checksum' of ServiceManifest 'Svc.A' version '3.0'",
      "ServiceManifest 'Svc.A' version '1.0' (registered by version '1.0')",
    );
  });

  it('refuses a .zip package that is not a zip archive, naming it', async () => {
    const spec = tinyApp('NotZipType', '1.0');
    spec.services[0].packages[0].compressed = true;
    const files = packageFiles(spec);
    files.set('SvcPkg/Code.zip', Buffer.from('notazip'));
    await assertRefused(
      'NotZip',
      files,
      "'NotZip\\SvcPkg\\Code.zip'",
      'is not a readable zip archive',
    );
  });

  it('refuses a package present both as a folder and as a .zip', async () => {
    const spec = tinyApp('BothType', '1.0');
    const files = packageFiles(spec);
    spec.services[0].packages[0].compressed = true;
    files.set('SvcPkg/Code.zip', packageFiles(spec).get('SvcPkg/Code.zip')!);
    await assertRefused(
      'Both',
      files,
      'ambiguous',
      "'Both\\SvcPkg\\Code'",
      "'Both\\SvcPkg\\Code.zip'",
    );
  });

  it('decodes character references in manifest attribute values', async () => {
    const spec = tinyApp('RefType', '1.0');
    spec.parameters = { Letter: '&#65;&#x1F600;', Kept: '&amp;#66; &lt;x&gt;' };
    const answer = await tryProvision('Refs', packageFiles(spec));
    assert.equal(answer.status, 200, answer.text);
    const item = (await listTypes(url)).find((i) => i.Name === 'RefType');
    assert.deepEqual(item.DefaultParameterList, [
      { Key: 'Letter', Value: 'A\u{1F600}' },
      { Key: 'Kept', Value: '&#66; <x>' },
    ]);
    const tree = await storeTree(url, 'Store/RefType');
    assert.ok(tree.has('Store\\RefType\\ApplicationManifest.1.0.xml'));
  });

  it('refuses a character reference to something that is not an XML character', async () => {
    const spec = tinyApp('BadRefType', '1.0');
    spec.parameters = { Nul: '&#0;' };
    await assertRefused('BadRef', packageFiles(spec), "'BadRef\\ApplicationManifest.xml'", '&#0;');
  });

  it('accepts a build path with a leading slash', async () => {
    await uploadLikeSfctl(url, 'Slash', packageFiles(tinyApp('SlashType', '1.0')));
    const answer = await provisionPath(url, '/Slash');
    assert.equal(answer.status, 200, answer.text);
    assert.ok((await listTypes(url)).some((i) => i.Name === 'SlashType'));
  });
});
