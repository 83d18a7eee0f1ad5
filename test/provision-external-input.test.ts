import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { packageFiles, tinyApp } from './helpers/app-package.ts';
import { errorOf } from './helpers/http.ts';
import { external, PackageServer } from './helpers/package-server.ts';
import { blobFilesOnDisk, listTypes, provision, usage } from './helpers/provisioning.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { zip, type ZipEntry } from './helpers/zip.ts';

const VALIDATION = '400 FABRIC_E_IMAGEBUILDER_VALIDATION_ERROR';
const CODE_ENTRY = 'SvcPkg/Code/svc.exe';

/** The `.sfpkg` of a tiny package whose code file entry is changed by `spoil`. */
function spoiledPackage(typeName: string, spoil: (entry: ZipEntry) => ZipEntry): Buffer {
  const app = tinyApp(typeName, '1.0');
  app.services[0].packages[0].files['svc.exe'] = Array.from(
    { length: 400 },
    (_, i) => `line ${i} of the service binary ${(i * 7919) % 1000}\n`,
  ).join('');
  return zip(
    [...packageFiles(app)].map(([name, data]) =>
      name === CODE_ENTRY ? spoil({ name, data }) : { name, data },
    ),
  );
}

/** Overwrites bytes in the middle of the entry's deflate stream. */
function corruptDeflate(entry: ZipEntry): ZipEntry {
  const deflated = Buffer.from(deflateRawSync(entry.data));
  deflated.fill(0xff, deflated.length >> 2, (deflated.length >> 2) + 16);
  return { ...entry, deflated };
}

/** Stored (uncompressed) deflate with one data byte changed: same size, wrong CRC-32. */
function changedByte(entry: ZipEntry): ZipEntry {
  const deflated = Buffer.from(deflateRawSync(entry.data, { level: 0 }));
  deflated[deflated.length >> 1] ^= 0x20;
  return { ...entry, deflated };
}

describe('ExternalStore input and archive content', () => {
  let server: TestServer;
  let url: string;
  const store = new PackageServer();

  before(async () => {
    await store.start();
    store.routes.set('/Corrupt.sfpkg', spoiledPackage('CorruptType', corruptDeflate));
    store.routes.set(
      '/Short.sfpkg',
      spoiledPackage('ShortType', (e) => ({ ...e, declaredSize: e.data.length + 100 })),
    );
    store.routes.set(
      '/Long.sfpkg',
      spoiledPackage('LongType', (e) => ({ ...e, declaredSize: e.data.length - 100 })),
    );
    store.routes.set('/Crc.sfpkg', spoiledPackage('CrcType', changedByte));
    store.routes.set('/Case1.sfpkg', zipOf(packageFiles(tinyApp('CaseType', '1.0'))));
    store.routes.set('/Case2.sfpkg', zipOf(packageFiles(tinyApp('CaseType', '2.0'))));
    store.routes.set('/lower2.sfpkg', zipOf(packageFiles(tinyApp('casetype', '2.0'))));
    server = await startTestServer();
    url = server.url;
  });
  after(async () => {
    try {
      await server?.dispose();
    } finally {
      await store.stop();
    }
  });

  function zipOf(files: Map<string, Buffer>) {
    return zip([...files].map(([name, data]) => ({ name, data })));
  }

  /** Blobs on disk are exactly the registered files: nothing leaked by failed provisions. */
  async function assertNoOrphanBlobs() {
    await server.store.garbage.idle();
    assert.equal(await blobFilesOnDisk(server.root), (await usage(url)).register.files);
  }

  it('answers a validation error naming the entry for corrupt deflate data, every time', async () => {
    const uri = `${store.url}/Corrupt.sfpkg`;
    const before = await usage(url);
    for (let attempt = 0; attempt < 10; attempt++) {
      const answer = await provision(url, external(uri, 'CorruptType', '1.0'));
      assert.equal(errorOf(answer), VALIDATION, `attempt ${attempt}: ${answer.text}`);
      assert.ok(answer.json.Error.Message.includes(uri), answer.text);
      assert.ok(answer.json.Error.Message.includes(`corrupt entry '${CODE_ENTRY}'`), answer.text);
    }
    assert.deepEqual(await usage(url), before);
    assert.ok(!(await listTypes(url)).some((i) => i.Name === 'CorruptType'));
    await assertNoOrphanBlobs();
  });

  it('refuses entries whose size or CRC-32 differs from the declared one, naming them', async () => {
    for (const [route, type] of [
      ['/Short.sfpkg', 'ShortType'],
      ['/Long.sfpkg', 'LongType'],
      ['/Crc.sfpkg', 'CrcType'],
    ]) {
      const answer = await provision(url, external(`${store.url}${route}`, type, '1.0'));
      assert.equal(errorOf(answer), VALIDATION, answer.text);
      assert.ok(answer.json.Error.Message.includes(`${store.url}${route}`), answer.text);
      assert.ok(answer.json.Error.Message.includes(`corrupt entry '${CODE_ENTRY}'`), answer.text);
    }
    await assertNoOrphanBlobs();
  });

  it('refuses an empty type name or version before downloading anything', async () => {
    const uri = `${store.url}/Case1.sfpkg`;
    const requests = store.requested.length;
    for (const [name, version, property] of [
      ['', '1.0', 'ApplicationTypeName'],
      ['CaseType', '', 'ApplicationTypeVersion'],
      ['  ', '1.0', 'ApplicationTypeName'],
    ]) {
      const answer = await provision(url, external(uri, name, version));
      assert.equal(errorOf(answer), '400 E_INVALIDARG', answer.text);
      assert.ok(answer.json.Error.Message.includes(property), answer.text);
    }
    assert.equal(store.requested.length, requests, 'nothing was downloaded');
  });

  it('reports a requested name that differs in case from the manifest as a mismatch', async () => {
    const first = await provision(url, external(`${store.url}/Case1.sfpkg`, 'CaseType', '1.0'));
    assert.equal(first.status, 200, first.text);
    const answer = await provision(url, external(`${store.url}/Case2.sfpkg`, 'casetype', '2.0'));
    assert.equal(errorOf(answer), VALIDATION, answer.text);
    assert.match(
      answer.json.Error.Message,
      /declares application type 'CaseType' version '2\.0', but 'casetype' version '2\.0' was requested/,
    );
    // A package that really is named in other letter case still collides with the registered type.
    const lower = await provision(url, external(`${store.url}/lower2.sfpkg`, 'casetype', '2.0'));
    assert.equal(errorOf(lower), VALIDATION, lower.text);
    assert.match(lower.json.Error.Message, /differs only in letter case from the registered type/);
    assert.deepEqual(
      (await listTypes(url)).filter((i) => /casetype/i.test(i.Name)).map((i) => i.Version),
      ['1.0'],
    );
    await assertNoOrphanBlobs();
  });
});
