import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  applicationManifestXml,
  packageFiles,
  serviceManifestXml,
  votingApp,
} from './helpers/app-package.ts';
import { call, errorOf } from './helpers/http.ts';
import {
  listTypes,
  provisionPath,
  storeTree,
  sum,
  unprovision,
  uploadLikeSfctl,
  usage,
} from './helpers/provisioning.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const T = 'Store\\VotingType';

/** One type through its life: register v1, register v2 sharing packages, unregister both. */
describe('provisioning an application type from the image store', () => {
  let server: TestServer;
  let url: string;
  const v1 = packageFiles(votingApp('1.0.0'));
  const v2 = packageFiles(votingApp('2.0.0'));
  const bytesOf = (files: Map<string, Buffer>) =>
    [...files.values()].reduce((a, b) => a + b.length, 0);
  // Every folder gets a `_.dir`: root, the two services, WebPkg's three packages, and the two
  // folders inside WebPkg\Code.
  const MARKERS = 8;
  let afterV1: Map<string, number>;
  let afterV2: Map<string, number>;

  before(async () => {
    server = await startTestServer();
    url = server.url;
  });
  after(() => server.dispose());

  it('registers version 1.0.0 uploaded by sfctl and deletes the upload (Default policy)', async () => {
    await uploadLikeSfctl(url, 'VotingV1', v1);
    assert.deepEqual((await usage(url)).copy, { bytes: bytesOf(v1), files: v1.size + MARKERS });
    assert.deepEqual((await usage(url)).register, { bytes: 0, files: 0 });

    const answer = await provisionPath(url, 'VotingV1');
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.text, '');

    afterV1 = await storeTree(url, 'Store/VotingType');
    assert.deepEqual([...afterV1.keys()].sort(), [
      `${T}\\ApplicationManifest.1.0.0.xml`,
      `${T}\\BackendPkg.Code.1.0.0.checksum`,
      `${T}\\BackendPkg.Code.1.0.0.zip`,
      `${T}\\BackendPkg.Config.1.0.0.checksum`,
      `${T}\\BackendPkg.Config.1.0.0.zip`,
      `${T}\\BackendPkg.Manifest.1.0.0.xml`,
      `${T}\\BackendPkg.Manifest.1.0.0.xml.checksum`,
      `${T}\\WebPkg.Code.1.0.0.checksum`,
      `${T}\\WebPkg.Code.1.0.0\\_.dir`,
      `${T}\\WebPkg.Code.1.0.0\\lib\\_.dir`,
      `${T}\\WebPkg.Code.1.0.0\\lib\\helper.dll`,
      `${T}\\WebPkg.Code.1.0.0\\web.exe`,
      `${T}\\WebPkg.Code.1.0.0\\wwwroot\\_.dir`,
      `${T}\\WebPkg.Code.1.0.0\\wwwroot\\index.html`,
      `${T}\\WebPkg.Config.1.0.0.checksum`,
      `${T}\\WebPkg.Config.1.0.0\\Settings.xml`,
      `${T}\\WebPkg.Config.1.0.0\\_.dir`,
      `${T}\\WebPkg.Data.1.0.0.checksum`,
      `${T}\\WebPkg.Data.1.0.0\\_.dir`,
      `${T}\\WebPkg.Data.1.0.0\\seed.json`,
      `${T}\\WebPkg.Manifest.1.0.0.xml`,
      `${T}\\WebPkg.Manifest.1.0.0.xml.checksum`,
    ]);
    // Default cleanup removed the upload; the registered files count as register.
    assert.deepEqual((await usage(url)).copy, { bytes: 0, files: 0 });
    assert.deepEqual((await usage(url)).register, sum(afterV1));
    const folder = await call(
      'GET',
      `${url}/ImageStore/Store/VotingType/$/FolderSize?api-version=6.5`,
    );
    assert.equal(Number(folder.json.FolderSize), sum(afterV1).bytes);
  });

  it('stores each file byte for byte, with SHA-256 checksums of the content', async () => {
    // The REST API has no download, so the bytes are read through the server's own store.
    const read = async (path: string) => {
      const file = await server.store.catalog.getFile(path.replaceAll('/', '\\').toLowerCase());
      assert.ok(file, `${path} is registered`);
      const chunks: Buffer[] = [];
      for await (const chunk of server.store.blobs.readBlob(file.blob)) chunks.push(chunk);
      return Buffer.concat(chunks);
    };
    const manifest = v1.get('BackendPkg/ServiceManifest.xml')!;
    assert.deepEqual(await read('Store/VotingType/BackendPkg.Manifest.1.0.0.xml'), manifest);
    assert.equal(
      (await read('Store/VotingType/BackendPkg.Manifest.1.0.0.xml.checksum')).toString(),
      sha256(manifest),
    );
    const archive = v1.get('BackendPkg/Code.zip')!;
    assert.deepEqual(await read('Store/VotingType/BackendPkg.Code.1.0.0.zip'), archive);
    assert.equal(
      (await read('Store/VotingType/BackendPkg.Code.1.0.0.checksum')).toString(),
      sha256(archive),
    );
    assert.deepEqual(
      await read('Store/VotingType/WebPkg.Code.1.0.0/lib/helper.dll'),
      v1.get('WebPkg/Code/lib/helper.dll'),
    );
    assert.match(
      (await read('Store/VotingType/WebPkg.Code.1.0.0.checksum')).toString(),
      /^[0-9a-f]{64}$/,
    );
  });

  it('lists the type as Available with its default parameters', async () => {
    const items = await listTypes(url);
    assert.deepEqual(items, [
      {
        Name: 'VotingType',
        Version: '1.0.0',
        DefaultParameterList: [
          { Key: 'WebInstanceCount', Value: '-1' },
          { Key: 'BackendPartitionCount', Value: '3' },
        ],
        Status: 'Available',
        StatusDetails: '',
        ApplicationTypeDefinitionKind: 'ServiceFabricApplicationPackage',
      },
    ]);
  });

  it('answers the manifests and service types of the version', async () => {
    const base = `${url}/ApplicationTypes/VotingType/$`;
    const app = await call(
      'GET',
      `${base}/GetApplicationManifest?api-version=6.0&ApplicationTypeVersion=1.0.0`,
    );
    assert.deepEqual(app.json, { Manifest: applicationManifestXml(votingApp('1.0.0')) });
    const svc = await call(
      'GET',
      `${base}/GetServiceManifest?api-version=6.0&ApplicationTypeVersion=1.0.0&ServiceManifestName=WebPkg`,
    );
    assert.deepEqual(svc.json, { Manifest: serviceManifestXml(votingApp('1.0.0').services[0]) });
    const types = await call(
      'GET',
      `${base}/GetServiceTypes?api-version=6.0&ApplicationTypeVersion=1.0.0`,
    );
    assert.deepEqual(
      types.json.map((t: any) => [
        t.ServiceTypeDescription.Kind,
        t.ServiceTypeDescription.ServiceTypeName,
        t.ServiceManifestName,
        t.ServiceManifestVersion,
      ]),
      [
        ['Stateless', 'WebType', 'WebPkg', '1.0.0'],
        ['Stateful', 'BackendType', 'BackendPkg', '1.0.0'],
      ],
    );
    assert.equal(types.json[1].ServiceTypeDescription.HasPersistedState, true);
    const missing = await call(
      'GET',
      `${base}/GetServiceManifest?api-version=6.0&ApplicationTypeVersion=1.0.0&ServiceManifestName=Nope`,
    );
    assert.equal(errorOf(missing), '404 FABRIC_E_SERVICE_MANIFEST_NOT_FOUND');
    const unknown = await call(
      'GET',
      `${base}/GetApplicationManifest?api-version=6.0&ApplicationTypeVersion=9`,
    );
    assert.equal(errorOf(unknown), '404 FABRIC_E_APPLICATION_TYPE_NOT_FOUND');
  });

  it('registers version 2.0.0 sharing the unchanged packages, keeping the upload (Manual)', async () => {
    await uploadLikeSfctl(url, 'VotingV2', v2);
    const copied = await usage(url);
    assert.deepEqual(copied.copy, { bytes: bytesOf(v2), files: v2.size + MARKERS });

    const answer = await provisionPath(url, 'VotingV2', {
      ApplicationPackageCleanupPolicy: 'Manual',
    });
    assert.equal(answer.status, 200, answer.text);

    afterV2 = await storeTree(url, 'Store/VotingType');
    const added = [...afterV2.keys()].filter((p) => !afterV1.has(p)).sort();
    assert.deepEqual(added, [
      `${T}\\ApplicationManifest.2.0.0.xml`,
      `${T}\\WebPkg.Code.2.0.0.checksum`,
      `${T}\\WebPkg.Code.2.0.0\\_.dir`,
      `${T}\\WebPkg.Code.2.0.0\\lib\\_.dir`,
      `${T}\\WebPkg.Code.2.0.0\\lib\\helper.dll`,
      `${T}\\WebPkg.Code.2.0.0\\web.exe`,
      `${T}\\WebPkg.Code.2.0.0\\wwwroot\\_.dir`,
      `${T}\\WebPkg.Code.2.0.0\\wwwroot\\index.html`,
      `${T}\\WebPkg.Manifest.2.0.0.xml`,
      `${T}\\WebPkg.Manifest.2.0.0.xml.checksum`,
    ]);
    const now = await usage(url);
    assert.deepEqual(now.copy, copied.copy, 'Manual keeps the upload');
    const grew = sum(afterV2, added);
    assert.deepEqual(now.register, {
      bytes: copied.register.bytes + grew.bytes,
      files: copied.register.files + grew.files,
    });
    const versions = (await listTypes(url)).map((i) => [i.Version, i.Status]);
    assert.deepEqual(versions, [
      ['1.0.0', 'Available'],
      ['2.0.0', 'Available'],
    ]);
  });

  it('refuses to register the same version twice', async () => {
    const again = await provisionPath(url, 'VotingV2', {
      ApplicationPackageCleanupPolicy: 'Manual',
    });
    assert.equal(errorOf(again), '409 FABRIC_E_APPLICATION_TYPE_ALREADY_EXISTS');
    assert.match(again.json.Error.Message, /'VotingType' version '2\.0\.0'/);
  });

  it('unprovisions 1.0.0 and frees exactly the files 2.0.0 does not use', async () => {
    const before = await usage(url);
    const answer = await unprovision(url, 'VotingType', '1.0.0');
    assert.equal(answer.status, 200, answer.text);

    const left = await storeTree(url, 'Store/VotingType');
    const removed = [...afterV2.keys()].filter((p) => !left.has(p));
    assert.deepEqual(removed.sort(), [
      `${T}\\ApplicationManifest.1.0.0.xml`,
      `${T}\\WebPkg.Code.1.0.0.checksum`,
      `${T}\\WebPkg.Code.1.0.0\\_.dir`,
      `${T}\\WebPkg.Code.1.0.0\\lib\\_.dir`,
      `${T}\\WebPkg.Code.1.0.0\\lib\\helper.dll`,
      `${T}\\WebPkg.Code.1.0.0\\web.exe`,
      `${T}\\WebPkg.Code.1.0.0\\wwwroot\\_.dir`,
      `${T}\\WebPkg.Code.1.0.0\\wwwroot\\index.html`,
      `${T}\\WebPkg.Manifest.1.0.0.xml`,
      `${T}\\WebPkg.Manifest.1.0.0.xml.checksum`,
    ]);
    const freed = sum(afterV2, removed);
    const now = await usage(url);
    assert.deepEqual(now.register, {
      bytes: before.register.bytes - freed.bytes,
      files: before.register.files - freed.files,
    });
    assert.deepEqual(now.copy, before.copy);
    assert.deepEqual(
      (await listTypes(url)).map((i) => i.Version),
      ['2.0.0'],
    );
    const gone = await unprovision(url, 'VotingType', '1.0.0');
    assert.equal(errorOf(gone), '404 FABRIC_E_APPLICATION_TYPE_NOT_FOUND');
  });

  it('unprovisions the last version and removes the type folder', async () => {
    const answer = await unprovision(url, 'VotingType', '2.0.0');
    assert.equal(answer.status, 200, answer.text);
    assert.equal(
      (await call('GET', `${url}/ImageStore/Store/VotingType?api-version=6.2`)).status,
      404,
    );
    const now = await usage(url);
    assert.deepEqual(now.register, { bytes: 0, files: 0 });
    assert.deepEqual(now.copy, { bytes: bytesOf(v2), files: v2.size + MARKERS });
    assert.deepEqual(await listTypes(url), []);
  });

  it('registers a version again after it was unprovisioned', async () => {
    const answer = await provisionPath(url, 'VotingV2', {
      ApplicationPackageCleanupPolicy: 'Automatic',
    });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual((await usage(url)).copy, { bytes: 0, files: 0 });
    assert.deepEqual((await usage(url)).register, sum(await storeTree(url, 'Store/VotingType')));
    const recount = await server.store.catalog.recount(false);
    assert.deepEqual(recount.counters, recount.recounted);
    assert.equal(recount.foldersOutOfStep, 0);
  });
});
