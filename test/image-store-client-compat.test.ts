import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ServiceFabricClient } from 'azure-servicefabric';
import { errorOf } from './helpers/http.ts';
import { info, list, put, storedBytes } from './helpers/image-store.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A loopback relay in front of the server that records what the generated client really sends,
 * so the tests can show they exercise `%2F` paths and JSON-typed empty uploads.
 */
async function startRecorder(target: string) {
  const seen: Seen[] = [];
  const { hostname, port } = new URL(target);
  const relay = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const forward = httpRequest(
        { host: hostname, port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const address = relay.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    seen,
    close: () => new Promise<void>((resolve) => relay.close(() => resolve())),
  };
}

describe('azure-servicefabric 2.2.0 client', () => {
  let server: TestServer;
  let recorder: Awaited<ReturnType<typeof startRecorder>>;
  let client: any;
  before(async () => {
    server = await startTestServer();
    recorder = await startRecorder(server.url);
    client = new ServiceFabricClient(recorder.url, { noRetryPolicy: true });
  });
  after(async () => {
    await recorder.close();
    await server.dispose();
  });

  const last = () => recorder.seen.at(-1)!;

  it('uploads an empty file with a JSON content type and an encoded path', async () => {
    await client.uploadFile('VotingApp/Code/_.dir');
    const sent = last();
    assert.equal(sent.method, 'PUT');
    assert.match(sent.url, /^\/ImageStore\/VotingApp%2FCode%2F_\.dir\?api-version=6\.0/);
    assert.match(String(sent.headers['content-type']), /^application\/json/);
    assert.equal(sent.body.length, 0);
    assert.deepEqual(await storedBytes(server.store, 'VotingApp/Code/_.dir'), Buffer.alloc(0));
    assert.equal((await list(server.url, 'VotingApp/Code')).json.StoreFiles[0].FileSize, '0');
  });

  it('reads the root content', async () => {
    assert.equal((await put(server.url, 'VotingApp/Code/app.dll', 'binary')).status, 200);
    assert.equal((await put(server.url, 'VotingApp/_.dir', '')).status, 200);
    const content = await client.getImageStoreRootContent();
    assert.match(last().url, /^\/ImageStore\?api-version=6\.0/);
    assert.deepEqual(content.storeFolders, [{ storeRelativePath: 'VotingApp', fileCount: '3' }]);
    assert.deepEqual(content.storeFiles, []);
  });

  it('reads a folder and a file by an encoded path', async () => {
    const folder = await client.getImageStoreContent('VotingApp/Code');
    assert.match(last().url, /^\/ImageStore\/VotingApp%2FCode\?api-version=6\.2/);
    assert.deepEqual(
      folder.storeFiles.map((f: any) => [f.storeRelativePath, f.fileSize]),
      [
        ['VotingApp\\Code\\_.dir', '0'],
        ['VotingApp\\Code\\app.dll', '6'],
      ],
    );
    const file = folder.storeFiles[1];
    assert.ok(file.modifiedDate instanceof Date && !Number.isNaN(file.modifiedDate.getTime()));
    assert.match(file.fileVersion.versionNumber, /^\d+$/);

    const single = await client.getImageStoreContent('VotingApp\\Code\\app.dll');
    assert.equal(single.storeFiles.length, 1);
    assert.equal(single.storeFiles[0].storeRelativePath, 'VotingApp\\Code\\app.dll');
  });

  it('copies a complete folder', async () => {
    await client.copyImageStoreContent({
      remoteSource: 'VotingApp',
      remoteDestination: 'Store/VotingType',
      skipFiles: ['app.pdb'],
      checkMarkFile: true,
    });
    const sent = last();
    assert.equal(sent.method, 'POST');
    assert.match(sent.url, /^\/ImageStore\/\$\/Copy\?api-version=6\.0/);
    assert.equal(JSON.parse(sent.body.toString()).RemoteSource, 'VotingApp');
    assert.deepEqual(
      await storedBytes(server.store, 'Store/VotingType/Code/app.dll'),
      Buffer.from('binary'),
    );
    assert.deepEqual((await info(server.url)).UsedByRegister, { UsedSpace: '6', FileCount: '3' });
  });

  it('deletes content, idempotently', async () => {
    await client.deleteImageStoreContent('VotingApp/Code');
    assert.match(last().url, /^\/ImageStore\/VotingApp%2FCode\?api-version=6\.0/);
    await client.deleteImageStoreContent('VotingApp/Code');
    assert.equal(errorOf(await list(server.url, 'VotingApp/Code')), '404 FABRIC_E_FILE_NOT_FOUND');
  });

  it('surfaces a FabricError as an error with its code and message', async () => {
    const failure = await client.getImageStoreContent('VotingApp/Missing').then(
      () => undefined,
      (error: any) => error,
    );
    assert.ok(failure, 'a missing path is an error');
    assert.equal(failure.statusCode, 404);
    assert.equal(failure.body?.error?.code, 'FABRIC_E_FILE_NOT_FOUND');
    assert.match(failure.body?.error?.message, /VotingApp\\Missing/);
  });
});
