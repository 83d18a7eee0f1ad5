import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { packageFiles, tinyApp } from './helpers/app-package.ts';
import { call, errorOf } from './helpers/http.ts';
import {
  listTypes,
  provisionPath,
  storeTree,
  unprovision,
  uploadLikeSfctl,
  usage,
} from './helpers/provisioning.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

async function register(url: string, name: string, version: string) {
  const root = `${name}-${version}`;
  await uploadLikeSfctl(url, root, packageFiles(tinyApp(name, version)));
  const answer = await provisionPath(url, root);
  assert.equal(answer.status, 200, answer.text);
}

describe('listing application types', () => {
  let server: TestServer;
  let url: string;

  before(async () => {
    server = await startTestServer();
    url = server.url;
    assert.equal((await call('GET', `${url}/ApplicationTypes?api-version=4.0`)).status, 204);
    for (const [name, version] of [
      ['Calc', '1.0'],
      ['Calc', '2.0'],
      ['Gateway', '1.0'],
      ['Queue', '1.0'],
      ['Queue', '2.0+build.7'],
    ]) {
      await register(url, name, version);
    }
  });
  after(() => server.dispose());

  /** Follows ContinuationToken, sent back unencoded, from page to page (at most `pages`). */
  async function allPages(maxResults: number, pages = 20) {
    const seen: string[][] = [];
    let token = '';
    for (let i = 0; i < pages; i++) {
      const answer = await call(
        'GET',
        `${url}/ApplicationTypes?api-version=6.0&MaxResults=${maxResults}` +
          (token === '' ? '' : `&ContinuationToken=${token}`),
      );
      assert.equal(answer.status, 200, answer.text);
      assert.ok(answer.json.Items.length <= maxResults);
      seen.push(answer.json.Items.map((i: any) => `${i.Name} ${i.Version}`));
      token = answer.json.ContinuationToken;
      if (token === '') return seen;
    }
    throw new Error(`paging never ended: ${JSON.stringify(seen)}`);
  }

  it('pages with MaxResults and a token sent back unencoded', async () => {
    const pages = await allPages(2);
    assert.deepEqual(pages, [
      ['Calc 1.0', 'Calc 2.0'],
      ['Gateway 1.0', 'Queue 1.0'],
      ['Queue 2.0+build.7'],
    ]);
    const first = await call('GET', `${url}/ApplicationTypes?api-version=6.0&MaxResults=4`);
    const last = await call(
      'GET',
      `${url}/ApplicationTypes?api-version=6.0&MaxResults=2` +
        `&ContinuationToken=${first.json.ContinuationToken}`,
    );
    assert.deepEqual(last.json, {
      ContinuationToken: '',
      Items: [
        {
          Name: 'Queue',
          Version: '2.0+build.7',
          DefaultParameterList: [{ Key: 'Count', Value: '2.0+build.7' }],
          Status: 'Available',
          StatusDetails: '',
          ApplicationTypeDefinitionKind: 'ServiceFabricApplicationPackage',
        },
      ],
    });
  });

  it("pages exactly through names and versions that contain '+'", async () => {
    await register(url, 'P+Q', '1.0');
    await register(url, 'P', 'Q+1.0');
    await register(url, 'P+Q', 'Q+1.0');
    try {
      const pages = await allPages(1);
      assert.deepEqual(pages.flat(), [
        'Calc 1.0',
        'Calc 2.0',
        'Gateway 1.0',
        'P Q+1.0',
        'P+Q 1.0',
        'P+Q Q+1.0',
        'Queue 1.0',
        'Queue 2.0+build.7',
      ]);
    } finally {
      for (const [name, version] of [
        ['P+Q', '1.0'],
        ['P', 'Q+1.0'],
        ['P+Q', 'Q+1.0'],
      ]) {
        assert.equal((await unprovision(url, name, version)).status, 200);
      }
    }
  });

  it('answers the plain array Service Fabric Explorer reads at api-version 3.0', async () => {
    const answer = await call(
      'GET',
      `${url}/ApplicationTypes/?api-version=3.0&_cacheToken=1&MaxResults=1`,
    );
    assert.equal(answer.status, 200);
    assert.ok(Array.isArray(answer.json));
    assert.equal(answer.json.length, 5);
    const byName = await call('GET', `${url}/ApplicationTypes/Calc?api-version=3.0`);
    assert.deepEqual(
      byName.json.map((i: any) => i.Version),
      ['1.0', '2.0'],
    );
    const numbers = await call('GET', `${url}/ApplicationTypes/Calc?api-version=2.0`);
    assert.deepEqual(
      [numbers.json[0].Status, numbers.json[0].ApplicationTypeDefinitionKind],
      [2, 1],
    );
  });

  it('lists one type by name, filtered by version, without parameters when asked', async () => {
    const answer = await call(
      'GET',
      `${url}/ApplicationTypes/Queue?api-version=6.0&ApplicationTypeVersion=${encodeURIComponent('2.0+build.7')}&ExcludeApplicationParameters=true`,
    );
    assert.deepEqual(
      answer.json.Items.map((i: any) => [i.Name, i.Version, i.DefaultParameterList]),
      [['Queue', '2.0+build.7', []]],
    );
    const none = await call('GET', `${url}/ApplicationTypes/Nope?api-version=6.0`);
    assert.deepEqual(none.json, { ContinuationToken: '', Items: [] });
    const compose = await call(
      'GET',
      `${url}/ApplicationTypes?api-version=6.0&ApplicationTypeDefinitionKindFilter=2`,
    );
    assert.deepEqual(compose.json.Items, []);
  });

  it('refuses bad query values with E_INVALIDARG', async () => {
    for (const query of [
      'MaxResults=-1',
      'MaxResults=ten',
      'ExcludeApplicationParameters=yes',
      'ContinuationToken=nonsense',
      'ApplicationTypeDefinitionKindFilter=70000',
    ]) {
      const answer = await call('GET', `${url}/ApplicationTypes?api-version=6.0&${query}`);
      assert.equal(errorOf(answer), '400 E_INVALIDARG', query);
    }
    assert.equal(errorOf(await call('GET', `${url}/ApplicationTypes`)), '400 E_INVALIDARG');
    assert.equal(
      errorOf(await call('DELETE', `${url}/ApplicationTypes/Calc?api-version=6.0`)),
      '400 E_INVALIDARG',
    );
    assert.equal(
      errorOf(
        await call('GET', `${url}/ApplicationTypes/Calc/$/GetApplicationManifest?api-version=6.0`),
      ),
      '400 E_INVALIDARG',
    );
  });

  it('unprovisions asynchronously with 202', async () => {
    const answer = await unprovision(url, 'Gateway', '1.0', true);
    assert.equal(answer.status, 202, answer.text);
    await server.provisioner.idle();
    assert.ok(!(await listTypes(url)).some((i) => i.Name === 'Gateway'));
    assert.equal((await storeTree(url, 'Store/Gateway')).size, 0);
  });
});

describe('keeping only the most recently registered versions (--keep-versions)', () => {
  let server: TestServer;
  let url: string;

  before(async () => {
    server = await startTestServer({ keepVersions: 2 });
    url = server.url;
  });
  after(() => server.dispose());

  it('unregisters all but the N most recently registered versions after each provision', async () => {
    // Registration order, not version order, decides: 9.0 first, then 1.0 and 5.0.
    await register(url, 'Kept', '9.0');
    await register(url, 'Kept', '1.0');
    await register(url, 'Other', '1.0');
    assert.deepEqual(
      (await listTypes(url)).map((i) => `${i.Name} ${i.Version}`),
      ['Kept 1.0', 'Kept 9.0', 'Other 1.0'],
    );
    await register(url, 'Kept', '5.0');
    assert.deepEqual(
      (await listTypes(url)).map((i) => `${i.Name} ${i.Version}`),
      ['Kept 1.0', 'Kept 5.0', 'Other 1.0'],
    );
    const tree = await storeTree(url, 'Store/Kept');
    assert.ok(![...tree.keys()].some((p) => p.includes('9.0')), 'the files of 9.0 are gone');
    const all = new Map([...tree, ...(await storeTree(url, 'Store/Other'))]);
    const bytes = [...all.values()].reduce((a, b) => a + b, 0);
    assert.deepEqual((await usage(url)).register, { bytes, files: all.size });
  });
});
