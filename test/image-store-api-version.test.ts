import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, errorOf } from './helpers/http.ts';
import {
  copy,
  info,
  list,
  partialUpload,
  put,
  rawCall,
  statusOf,
  storeUrl,
} from './helpers/image-store.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

/** One request per operation of issue 2 that succeeds on a store holding `app/_.dir`. */
const OPERATIONS: { name: string; min: string; send(base: string, v: string): Promise<any> }[] = [
  { name: 'UploadFile', min: '1.0', send: (b, v) => put(b, 'app/x.txt', 'x', {}, v) },
  { name: 'GetImageStoreContent', min: '1.0', send: (b, v) => list(b, 'app', v) },
  { name: 'GetImageStoreRootContent', min: '1.0', send: (b, v) => list(b, '', v) },
  {
    name: 'DeleteImageStoreContent',
    min: '1.0',
    send: (b, v) => call('DELETE', storeUrl(b, 'gone', v)),
  },
  {
    name: 'CopyImageStoreContent',
    min: '1.0',
    send: (b, v) =>
      call(
        'POST',
        storeUrl(b, '$/Copy', v),
        JSON.stringify({ RemoteSource: 'app', RemoteDestination: 'copied' }),
      ),
  },
  {
    name: 'GetImageStoreRootFolderSize',
    min: '6.5',
    send: (b, v) => call('GET', storeUrl(b, '$/FolderSize', v)),
  },
  {
    name: 'GetImageStoreFolderSize',
    min: '6.5',
    send: (b, v) => call('GET', storeUrl(b, 'app/$/FolderSize', v)),
  },
  { name: 'GetImageStoreInfo', min: '6.5', send: (b, v) => call('GET', storeUrl(b, '$/Info', v)) },
];

describe('api-version', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    assert.equal((await put(server.url, 'app/_.dir')).status, 200);
  });
  after(() => server.dispose());

  for (const op of OPERATIONS) {
    it(`accepts ${op.name} from ${op.min} up to 11.3 and refuses versions outside`, async () => {
      for (const version of [op.min, '6.5', '7.0', '11.3', '11.3-preview', `${op.min}-preview`]) {
        const answer = await op.send(server.url, version);
        assert.equal(answer.status, 200, `${op.name} at ${version}: ${answer.text}`);
      }
      const below = op.min === '1.0' ? '0.9' : '6.4';
      for (const version of [below, '11.4', '12.0']) {
        const answer = await op.send(server.url, version);
        assert.equal(errorOf(answer), '400 E_INVALIDARG', `${op.name} at ${version}`);
        assert.match(answer.json.Error.Message, new RegExp(`${op.min} to 11\\.3`));
        assert.match(answer.json.Error.Message, new RegExp(`'${version.replace('.', '\\.')}'`));
      }
    });
  }

  it('accepts the versions real clients send: 6.0, 6.1, 6.2 and 6.5', async () => {
    for (const version of ['6.0', '6.1', '6.2', '6.5']) {
      assert.equal((await put(server.url, 'v/a.txt', version, {}, version)).status, 200);
      const listing = await list(server.url, 'v', version);
      assert.equal(listing.status, 200);
      assert.equal(listing.json.StoreFiles[0].FileSize, String(version.length));
    }
    for (const version of ['6.5', '6.5-preview']) {
      assert.equal((await call('GET', storeUrl(server.url, '$/Info', version))).status, 200);
    }
  });

  it('requires api-version and names the accepted range', async () => {
    const upload = await call('PUT', `${server.url}/ImageStore/app/y.txt`, 'y');
    assert.equal(errorOf(upload), '400 E_INVALIDARG');
    assert.match(upload.json.Error.Message, /api-version/);
    assert.match(upload.json.Error.Message, /1\.0 to 11\.3/);
    const infoAnswer = await call('GET', `${server.url}/ImageStore/$/Info`);
    assert.equal(errorOf(infoAnswer), '400 E_INVALIDARG');
    assert.match(infoAnswer.json.Error.Message, /6\.5 to 11\.3/);
    const listing = await list(server.url, 'app');
    assert.deepEqual(
      listing.json.StoreFiles.map((f: any) => f.StoreRelativePath),
      ['app\\_.dir', 'app\\x.txt'],
      'the refused upload stored nothing',
    );
  });

  it('refuses api-versions that are not numbers', async () => {
    for (const version of ['', 'abc', '6.0.1', '-1', '1e1', '6.0-beta', ' 6.0', '0x6', 'NaN']) {
      const answer = await call(
        'GET',
        `${server.url}/ImageStore?api-version=${encodeURIComponent(version)}`,
      );
      assert.equal(errorOf(answer), '400 E_INVALIDARG', `api-version '${version}'`);
      assert.match(answer.json.Error.Message, /1\.0 to 11\.3/);
    }
  });

  it('honours a configured maxApiVersion', async () => {
    const low = await startTestServer({ maxApiVersion: 7.0 });
    try {
      assert.equal((await list(low.url, '', '7.0')).status, 200);
      const refused = await list(low.url, '', '7.1');
      assert.equal(errorOf(refused), '400 E_INVALIDARG');
      assert.match(refused.json.Error.Message, /1\.0 to 7\.0/);
      const infoRefused = await call('GET', storeUrl(low.url, '$/Info', '11.3'));
      assert.match(infoRefused.json.Error.Message, /6\.5 to 7\.0/);
    } finally {
      await low.dispose();
    }
  });

  it('lists without ContinuationToken up to 3.0 and with it after', async () => {
    const old = await list(server.url, 'app', '3.0');
    assert.deepEqual(Object.keys(old.json), ['StoreFiles', 'StoreFolders']);
    const paged = await list(server.url, 'app', '3.1');
    assert.deepEqual(Object.keys(paged.json), ['StoreFiles', 'StoreFolders', 'ContinuationToken']);
    assert.equal(paged.json.ContinuationToken, '');
  });
});

describe('timeout', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.dispose());

  it('accepts whole seconds from 1 to 4294967295', async () => {
    for (const timeout of ['1', '60', '300', '4294967295']) {
      const answer = await call(
        'PUT',
        storeUrl(server.url, 't/a.txt', '6.0', `timeout=${timeout}`),
        'a',
      );
      assert.equal(answer.status, 200, `timeout=${timeout}: ${answer.text}`);
    }
  });

  it('refuses a timeout out of range or not a whole number, naming it', async () => {
    for (const timeout of ['0', '4294967296', '-1', 'abc', '1.5', '', '99999999999', '1e3']) {
      const answer = await call(
        'GET',
        storeUrl(server.url, '', '6.0', `timeout=${encodeURIComponent(timeout)}`),
      );
      assert.equal(errorOf(answer), '400 E_INVALIDARG', `timeout=${timeout}`);
      assert.ok(answer.json.Error.Message.includes(`'${timeout}'`), answer.json.Error.Message);
    }
  });

  it('answers 504 FABRIC_E_TIMEOUT to an upload that stalls past its timeout', async () => {
    const before = await info(server.url);
    const query = 'api-version=6.0&timeout=1';
    const upload = await partialUpload(server.url, 'slow/file.bin', 100, 'x'.repeat(40), query);
    const started = Date.now();
    const raw = await upload.response;
    const elapsed = Date.now() - started;
    upload.destroy();
    assert.equal(statusOf(raw), 504, raw);
    assert.match(raw, /"Code":"FABRIC_E_TIMEOUT"/);
    assert.ok(elapsed >= 900 && elapsed < 5000, `answered after ${elapsed} ms`);

    assert.equal(errorOf(await list(server.url, 'slow/file.bin')), '404 FABRIC_E_FILE_NOT_FOUND');
    const afterInfo = await info(server.url);
    assert.deepEqual(afterInfo.UsedByCopy, before.UsedByCopy);
    assert.deepEqual(afterInfo.UsedByStaging, { UsedSpace: '0', FileCount: '0' });
    assert.deepEqual(await readdir(join(server.root, 'tmp')), []);
  });
});

describe('errors', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.dispose());

  const expectFabricError = (answer: any, status: number, code: string) => {
    assert.equal(errorOf(answer), `${status} ${code}`, answer.text);
    assert.deepEqual(Object.keys(answer.json), ['Error']);
    assert.deepEqual(Object.keys(answer.json.Error), ['Code', 'Message']);
    assert.equal(typeof answer.json.Error.Message, 'string');
    assert.ok(answer.json.Error.Message.length > 0);
    assert.match(answer.headers.get('content-type'), /^application\/json/);
  };

  it('answers an unknown route with a FabricError', async () => {
    for (const path of [
      '/Nope',
      '/',
      '/imagestore?api-version=6.0',
      '/ImageStoreX?api-version=6',
    ]) {
      expectFabricError(await call('GET', `${server.url}${path}`), 400, 'E_INVALIDARG');
    }
  });

  it('answers an unknown method or function with a FabricError naming it', async () => {
    const patch = await call('PATCH', storeUrl(server.url, 'a.txt'), 'x');
    expectFabricError(patch, 400, 'E_INVALIDARG');
    assert.match(patch.json.Error.Message, /PATCH/);
    const post = await call('POST', storeUrl(server.url, 'a.txt'), 'x');
    expectFabricError(post, 400, 'E_INVALIDARG');
    const fn = await call('GET', storeUrl(server.url, '$/Frobnicate', '11.3'));
    expectFabricError(fn, 400, 'E_INVALIDARG');
    assert.match(fn.json.Error.Message, /Frobnicate/);
    const putInfo = await call('PUT', storeUrl(server.url, '$/Info', '6.5'), 'x');
    expectFabricError(putInfo, 400, 'E_INVALIDARG');
  });

  it('refuses a path on operations that take none', async () => {
    const infoWithPath = await call('GET', storeUrl(server.url, 'app/$/Info', '6.5'));
    expectFabricError(infoWithPath, 400, 'E_INVALIDARG');
    const copyWithPath = await call(
      'POST',
      storeUrl(server.url, 'app/$/Copy'),
      JSON.stringify({ RemoteSource: 'a', RemoteDestination: 'b' }),
    );
    expectFabricError(copyWithPath, 400, 'E_INVALIDARG');
  });

  it('answers a malformed percent-encoding with E_INVALIDARG', async () => {
    const answer = await call('PUT', storeUrl(server.url, 'bad%E0%A4%A.txt'), 'x');
    expectFabricError(answer, 400, 'E_INVALIDARG');
    assert.match(answer.json.Error.Message, /%E0%A4%A/);
  });

  it('answers a missing path with 404 FABRIC_E_FILE_NOT_FOUND', async () => {
    expectFabricError(await list(server.url, 'missing'), 404, 'FABRIC_E_FILE_NOT_FOUND');
    expectFabricError(
      await copy(server.url, { RemoteSource: 'missing', RemoteDestination: 'x' }),
      404,
      'FABRIC_E_FILE_NOT_FOUND',
    );
  });

  it('answers writes with 200, an empty body and a JSON content type', async () => {
    const answer = await put(server.url, 'w/a.txt', 'a');
    assert.equal(answer.status, 200);
    assert.equal(answer.text, '');
    assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
  });

  it('refuses over-long paths with FABRIC_E_PATH_TOO_LONG', async () => {
    const segment = await put(server.url, `a/${'s'.repeat(256)}.txt`, 'x');
    expectFabricError(segment, 400, 'FABRIC_E_PATH_TOO_LONG');
    const path = await put(server.url, Array.from({ length: 120 }, () => 'folder10').join('/'));
    expectFabricError(path, 400, 'FABRIC_E_PATH_TOO_LONG');
  });

  it('uses the first of repeated query parameters and ignores unknown ones', async () => {
    const first = await call('GET', `${server.url}/ImageStore?api-version=6.0&api-version=99`);
    assert.equal(first.status, 200);
    const refused = await call('GET', `${server.url}/ImageStore?api-version=99&api-version=6.0`);
    expectFabricError(refused, 400, 'E_INVALIDARG');
    const extra = await call('GET', `${server.url}/ImageStore?_cacheToken=17&api-version=6.0`);
    assert.equal(extra.status, 200);
  });

  it('never answers a malformed request with a 5xx', async () => {
    const odd: [string, string, string?][] = [
      ['GET', '/ImageStore/%?api-version=6.0'],
      ['GET', '/ImageStore/%zz?api-version=6.0'],
      ['GET', '/ImageStore/a/$/Info/extra?api-version=6.5'],
      ['POST', '/ImageStore/$/Copy/?api-version=6.0', '{}'],
      ['OPTIONS', '/ImageStore?api-version=6.0'],
      ['DELETE', '/ImageStore?api-version=6.0'],
      ['PUT', '/ImageStore?api-version=6.0', 'x'],
      ['GET', '/ImageStore?api-version=6.0&timeout=%FF'],
      ['GET', `/ImageStore/${'a%2F'.repeat(3000)}x?api-version=6.0`],
    ];
    for (const [method, path, body] of odd) {
      const answer = await rawCall(server.url, method, path, body);
      assert.ok(answer.status >= 400 && answer.status < 500, `${method} ${path}: ${answer.status}`);
      assert.equal(typeof answer.json?.Error?.Code, 'string', `${method} ${path}: ${answer.text}`);
    }
  });

  it('serves later requests on the same server after every client mistake', async () => {
    const answer = await info(server.url);
    assert.equal(answer.UsedByStaging.FileCount, '0');
  });
});
