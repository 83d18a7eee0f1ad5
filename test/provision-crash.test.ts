import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { packageFiles, tinyApp, type AppSpec } from './helpers/app-package.ts';
import {
  listTypes,
  provision,
  provisionPath,
  storeTree,
  sum,
  uploadLikeSfctl,
  usage,
  waitForType,
} from './helpers/provisioning.ts';
import { spawnServer, startTestServer, tempRoot } from './helpers/server.ts';
import { zip } from './helpers/zip.ts';

const BIN = new URL('../bin/imagestore.js', import.meta.url).pathname;

/** A package with enough files that a kill lands in the middle of its registration. */
function widePackage(version: string): AppSpec {
  const app = tinyApp('WideType', version);
  const code = app.services[0].packages[0];
  for (let i = 0; i < 300; i++) code.files[`bin/part${i}.dll`] = `part ${i} `.repeat(200);
  return app;
}

async function fsck(root: string) {
  const { stdout } = await promisify(execFile)(process.execPath, [
    BIN,
    'fsck',
    '--root',
    root,
    '--json',
  ]).catch((error) => error);
  return JSON.parse(stdout);
}

describe('a crash mid-provision never leaves a half-registered Available type', () => {
  let root: string;
  const stalled: ServerResponse[] = [];
  const packageServer = createServer((_request, response) => {
    const body = zip(
      [...packageFiles(tinyApp('SlowType', '1.0'))].map(([name, data]) => ({ name, data })),
    );
    response.writeHead(200, { 'content-length': body.length });
    response.write(body.subarray(0, 10));
    stalled.push(response);
  });
  let packageUrl = '';

  before(async () => {
    root = await tempRoot();
    await new Promise<void>((resolve) => packageServer.listen(0, '127.0.0.1', resolve));
    packageUrl = `http://127.0.0.1:${(packageServer.address() as { port: number }).port}`;
  });
  after(async () => {
    for (const response of stalled) response.destroy();
    packageServer.closeAllConnections();
    packageServer.close();
    await rm(root, { recursive: true, force: true });
  });

  it('marks a provision interrupted by kill -9 Failed after the restart', async () => {
    let child = await spawnServer(root);
    const answer = await provision(child.url, {
      Kind: 'ExternalStore',
      ApplicationPackageDownloadUri: `${packageUrl}/Slow.sfpkg`,
      ApplicationTypeName: 'SlowType',
      ApplicationTypeVersion: '1.0',
      Async: true,
    });
    assert.equal(answer.status, 202, answer.text);
    await waitForType(child.url, 'SlowType', '1.0', (i) => i.Status === 'Provisioning');
    await child.stop('SIGKILL');

    child = await spawnServer(root);
    try {
      const [item] = await listTypes(child.url);
      assert.deepEqual([item.Name, item.Status], ['SlowType', 'Failed']);
      assert.match(item.StatusDetails, /stopped before provisioning finished/);
      assert.deepEqual((await usage(child.url)).register, { bytes: 0, files: 0 });
    } finally {
      await child.stop();
    }
  });

  it('leaves each killed registration either complete or absent', async () => {
    const files = packageFiles(widePackage('1.0'));
    const outcomes = new Set<string>();
    for (const delay of [0, 60, 150, 300, 3000]) {
      let child = await spawnServer(root);
      const version = `2.${delay}`;
      const app = packageFiles(widePackage(version));
      await uploadLikeSfctl(child.url, `Wide${delay}`, app);
      const answer = await provisionPath(child.url, `Wide${delay}`, {
        Async: true,
        ApplicationPackageCleanupPolicy: 'Manual',
      });
      assert.equal(answer.status, 202, answer.text);
      await new Promise((resolve) => setTimeout(resolve, delay));
      await child.stop('SIGKILL');

      child = await spawnServer(root);
      try {
        const item = (await listTypes(child.url)).find((i) => i.Version === version);
        outcomes.add(item.Status);
        const tree = await storeTree(child.url, 'Store/WideType');
        const mine = [...tree.keys()].filter((p) => p.includes(`.${version}`));
        if (item.Status === 'Available') {
          // code files + 2 markers + checksum, manifest + checksum, application manifest
          assert.equal(mine.length, files.size - 2 + 2 + 1 + 2 + 1, `all of ${version}`);
        } else {
          assert.equal(item.Status, 'Failed');
          assert.deepEqual(mine, [], `nothing of ${version}`);
        }
        assert.deepEqual((await usage(child.url)).register, sum(tree));
      } finally {
        await child.stop();
      }
    }
    // The kills landed both before and after the registering transaction.
    assert.deepEqual([...outcomes].sort(), ['Available', 'Failed']);
    const report = await fsck(root);
    assert.deepEqual(report.counters, report.recounted);
    assert.equal(report.foldersOutOfStep, 0);
    assert.deepEqual(report.missingBlobs, []);
  });
});

describe('an unprovision interrupted by a stop', () => {
  it('is finished when the server starts again', async () => {
    const root = await tempRoot();
    let server = await startTestServer({ root });
    try {
      await uploadLikeSfctl(server.url, 'Tiny', packageFiles(tinyApp('TinyType', '1.0')));
      assert.equal((await provisionPath(server.url, 'Tiny')).status, 200);
      // The state a crash right after an asynchronous unprovision's 202 leaves on disk.
      await server.provisioner.types.beginUnprovision('TinyType', '1.0');
      await server.close();

      server = await startTestServer({ root });
      assert.deepEqual(await listTypes(server.url), []);
      assert.deepEqual((await usage(server.url)).register, { bytes: 0, files: 0 });
      assert.equal((await storeTree(server.url, 'Store/TinyType')).size, 0);
    } finally {
      await server.dispose();
    }
  });
});
