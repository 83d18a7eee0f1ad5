import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call } from './helpers/http.ts';
import { folderSize, info, list, storeUrl, storedBytes } from './helpers/image-store.ts';
import { startTestServer, tempRoot, type TestServer } from './helpers/server.ts';

const APP_MANIFEST = `<?xml version="1.0" encoding="utf-8"?>
<ApplicationManifest ApplicationTypeName="VotingType" ApplicationTypeVersion="1.0.0"
  xmlns="http://schemas.microsoft.com/2011/01/fabric">
  <ServiceManifestImport>
    <ServiceManifestRef ServiceManifestName="VotingWebPkg" ServiceManifestVersion="1.0.0" />
  </ServiceManifestImport>
  <ServiceManifestImport>
    <ServiceManifestRef ServiceManifestName="VotingDataPkg" ServiceManifestVersion="1.0.0" />
  </ServiceManifestImport>
</ApplicationManifest>
`;

/** A small but realistic package: two service packages with Code, Config and Data. */
function packageFiles(): Record<string, Buffer> {
  const files: Record<string, Buffer> = { 'ApplicationManifest.xml': Buffer.from(APP_MANIFEST) };
  for (const [service, seed] of [
    ['VotingWebPkg', 11],
    ['VotingDataPkg', 29],
  ] as const) {
    files[`${service}/ServiceManifest.xml`] = Buffer.from(
      `<ServiceManifest Name="${service}" Version="1.0.0">` +
        '<CodePackage Name="Code"/></ServiceManifest>',
    );
    files[`${service}/Code/${service}.dll`] = Buffer.from(
      Array.from({ length: 1500 + seed }, (_, i) => (i * seed) % 256),
    );
    files[`${service}/Code/${service}.pdb`] = Buffer.alloc(700 + seed, seed);
    files[`${service}/Code/appsettings.json`] = Buffer.from(`{"Logging":{"Level":"${service}"}}`);
    files[`${service}/Config/Settings.xml`] = Buffer.from(
      '<Settings><Section Name="S"/></Settings>',
    );
    files[`${service}/Data/seed.csv`] = Buffer.from(`id,name\n1,${service}\n2,other\n`);
  }
  return files;
}

/** Files under `dir` (relative, `/` separators) and every folder, deepest first, root last. */
async function walk(dir: string): Promise<{ files: string[]; folders: string[] }> {
  const files: string[] = [];
  const folders: string[] = [];
  const visit = async (folder: string) => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) await visit(full);
      else if (entry.name !== '_.dir') files.push(relative(dir, full).split(sep).join('/'));
    }
    folders.push(relative(dir, folder).split(sep).join('/'));
  };
  await visit(dir);
  return { files: files.sort(), folders };
}

describe('a realistic application package uploaded the way sfctl does', () => {
  let server: TestServer;
  let local: string;
  const files = packageFiles();
  const TARGET = 'VotingApp';
  before(async () => {
    server = await startTestServer();
    local = await tempRoot();
    for (const [path, bytes] of Object.entries(files)) {
      await mkdir(join(local, path, '..'), { recursive: true });
      await writeFile(join(local, path), bytes);
    }
  });
  after(async () => {
    await server.dispose();
    await rm(local, { recursive: true, force: true });
  });

  it('accepts every file, then a _.dir in every folder, root last', async () => {
    const { files: found, folders } = await walk(local);
    assert.deepEqual(found, Object.keys(files).sort());
    assert.equal(folders.at(-1), '');
    for (const path of found) {
      const body = await readFile(join(local, path));
      const url = storeUrl(server.url, `${TARGET}/${path}`, '6.1', 'timeout=300');
      const answer = await call('PUT', url, body);
      assert.equal(answer.status, 200, `${path}: ${answer.text}`);
    }
    for (const folder of folders) {
      const marker = folder === '' ? `${TARGET}/_.dir` : `${TARGET}/${folder}/_.dir`;
      const answer = await call('PUT', storeUrl(server.url, marker, '6.1'), '');
      assert.equal(answer.status, 200, marker);
    }
  });

  it('lists every folder with its recursive file count, markers included', async () => {
    const root = await list(server.url, '');
    // 13 files, 9 markers (root, 2 services, 6 Code/Config/Data folders).
    assert.deepEqual(root.json.StoreFolders, [{ StoreRelativePath: TARGET, FileCount: '22' }]);

    const app = await list(server.url, TARGET);
    assert.deepEqual(
      app.json.StoreFiles.map((f: any) => [f.StoreRelativePath, f.FileSize]),
      [
        [`${TARGET}\\_.dir`, '0'],
        [`${TARGET}\\ApplicationManifest.xml`, String(files['ApplicationManifest.xml'].length)],
      ],
    );
    assert.deepEqual(app.json.StoreFolders, [
      { StoreRelativePath: `${TARGET}\\VotingDataPkg`, FileCount: '10' },
      { StoreRelativePath: `${TARGET}\\VotingWebPkg`, FileCount: '10' },
    ]);

    for (const service of ['VotingWebPkg', 'VotingDataPkg']) {
      const listing = await list(server.url, `${TARGET}/${service}`, '6.2');
      assert.deepEqual(listing.json.StoreFolders, [
        { StoreRelativePath: `${TARGET}\\${service}\\Code`, FileCount: '4' },
        { StoreRelativePath: `${TARGET}\\${service}\\Config`, FileCount: '2' },
        { StoreRelativePath: `${TARGET}\\${service}\\Data`, FileCount: '2' },
      ]);
      const code = await list(server.url, `${TARGET}/${service}/Code`, '6.2');
      assert.deepEqual(
        code.json.StoreFiles.map((f: any) => [f.StoreRelativePath, f.FileSize]),
        [
          [`${TARGET}\\${service}\\Code\\_.dir`, '0'],
          [
            `${TARGET}\\${service}\\Code\\appsettings.json`,
            String(files[`${service}/Code/appsettings.json`].length),
          ],
          [
            `${TARGET}\\${service}\\Code\\${service}.dll`,
            String(files[`${service}/Code/${service}.dll`].length),
          ],
          [
            `${TARGET}\\${service}\\Code\\${service}.pdb`,
            String(files[`${service}/Code/${service}.pdb`].length),
          ],
        ],
      );
    }
  });

  it('stores every file byte for byte', async () => {
    for (const [path, bytes] of Object.entries(files)) {
      assert.deepEqual(await storedBytes(server.store, `${TARGET}/${path}`), bytes, path);
    }
  });

  it('reports Info and FolderSize equal to the bytes sent', async () => {
    const total = Object.values(files).reduce((sum, bytes) => sum + bytes.length, 0);
    const usage = await info(server.url);
    assert.deepEqual(usage.UsedByCopy, { UsedSpace: String(total), FileCount: '22' });
    assert.deepEqual(usage.UsedByRegister, { UsedSpace: '0', FileCount: '0' });
    assert.deepEqual(usage.UsedByStaging, { UsedSpace: '0', FileCount: '0' });
    assert.deepEqual((await folderSize(server.url, '')).json.FolderSize, String(total));
    assert.deepEqual((await folderSize(server.url, TARGET)).json.FolderSize, String(total));
    for (const service of ['VotingWebPkg', 'VotingDataPkg']) {
      const serviceBytes = Object.entries(files)
        .filter(([path]) => path.startsWith(`${service}/`))
        .reduce((sum, [, bytes]) => sum + bytes.length, 0);
      const answer = await folderSize(server.url, `${TARGET}/${service}`);
      assert.deepEqual(answer.json, {
        StoreRelativePath: `${TARGET}\\${service}`,
        FolderSize: String(serviceBytes),
      });
    }
  });

  it('copies the complete package into Store as registered content', async () => {
    const total = Object.values(files).reduce((sum, bytes) => sum + bytes.length, 0);
    const answer = await call(
      'POST',
      storeUrl(server.url, '$/Copy'),
      JSON.stringify({
        RemoteSource: TARGET,
        RemoteDestination: `Store\\VotingType`,
        SkipFiles: [],
        CheckMarkFile: true,
      }),
    );
    assert.equal(answer.status, 200, answer.text);
    const usage = await info(server.url);
    assert.deepEqual(usage.UsedByRegister, { UsedSpace: String(total), FileCount: '22' });
    const store = await list(server.url, 'Store');
    assert.deepEqual(store.json.StoreFolders, [
      { StoreRelativePath: 'Store\\VotingType', FileCount: '22' },
    ]);
  });
});
