import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sdk from 'azure-servicefabric';
import { packageFiles, serviceManifestXml, votingApp } from './helpers/app-package.ts';
import { uploadLikeSfctl, usage } from './helpers/provisioning.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

// A CommonJS module whose typings declare an ES default export; both spellings exist at run time.
const ServiceFabricClient = sdk.default;
type ServiceFabricClient = InstanceType<typeof ServiceFabricClient>;

/** The `azure-servicefabric` npm client (the generated JS SDK) against the server. */
describe('the azure-servicefabric client provisions and inspects application types', () => {
  let server: TestServer;
  let client: ServiceFabricClient;

  before(async () => {
    server = await startTestServer();
    client = new ServiceFabricClient(server.url, { noRetryPolicy: true });
    await uploadLikeSfctl(server.url, 'VotingSdk1', packageFiles(votingApp('1.0.0')));
    await uploadLikeSfctl(server.url, 'VotingSdk2', packageFiles(votingApp('2.0.0')));
  });
  after(() => server.dispose());

  it('provisions with the polymorphic ImageStorePath description', async () => {
    await client.provisionApplicationType({
      kind: 'ImageStorePath',
      async: false,
      applicationTypeBuildPath: 'VotingSdk1',
      applicationPackageCleanupPolicy: 'Automatic',
    } as never);
    await client.provisionApplicationType({
      kind: 'ImageStorePath',
      async: false,
      applicationTypeBuildPath: 'VotingSdk2',
    } as never);
    assert.deepEqual((await usage(server.url)).copy, { bytes: 0, files: 0 });
  });

  it('lists types, all and by name, paged', async () => {
    const all = await client.getApplicationTypeInfoList({ maxResults: 1 });
    assert.ok(all.continuationToken, 'a token for the second page');
    assert.deepEqual(
      all.items!.map((i) => [i.name, i.version, i.status]),
      [['VotingType', '1.0.0', 'Available']],
    );
    const rest = await client.getApplicationTypeInfoList({
      continuationToken: all.continuationToken,
    });
    assert.deepEqual(
      rest.items!.map((i) => i.version),
      ['2.0.0'],
    );
    assert.equal(rest.continuationToken, '');
    const byName = await client.getApplicationTypeInfoListByName('VotingType', {
      applicationTypeVersion: '2.0.0',
    });
    assert.deepEqual(byName.items![0].defaultParameterList, [
      { key: 'WebInstanceCount', value: '-1' },
      { key: 'BackendPartitionCount', value: '3' },
    ]);
  });

  it('reads manifests and service types', async () => {
    const app = await client.getApplicationManifest('VotingType', '2.0.0');
    assert.match(app.manifest!, /ApplicationTypeVersion="2\.0\.0"/);
    const svc = await client.getServiceManifest('VotingType', '2.0.0', 'BackendPkg');
    assert.equal(svc.manifest, serviceManifestXml(votingApp('2.0.0').services[1]));
    const types = await client.getServiceTypeInfoList('VotingType', '2.0.0');
    assert.deepEqual(
      types.map((t) => [
        t.serviceTypeDescription!.kind,
        t.serviceTypeDescription!.serviceTypeName,
        t.serviceManifestVersion,
      ]),
      [
        ['Stateless', 'WebType', '2.0.0'],
        ['Stateful', 'BackendType', '1.0.0'],
      ],
    );
  });

  it('unprovisions both versions and reports a missing one as not found', async () => {
    await client.unprovisionApplicationType('VotingType', { applicationTypeVersion: '1.0.0' });
    await client.unprovisionApplicationType('VotingType', {
      applicationTypeVersion: '2.0.0',
      async: true,
    });
    await server.provisioner.idle();
    assert.deepEqual((await client.getApplicationTypeInfoList()).items, []);
    assert.deepEqual((await usage(server.url)).register, { bytes: 0, files: 0 });
    await assert.rejects(
      client.unprovisionApplicationType('VotingType', { applicationTypeVersion: '1.0.0' }),
      (error: { statusCode?: number; body?: { code?: string } }) => {
        assert.equal(error.statusCode, 404);
        return true;
      },
    );
  });
});
