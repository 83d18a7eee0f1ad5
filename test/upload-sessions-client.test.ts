import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ServiceFabricClient } from 'azure-servicefabric';
import { call } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { bytes, newSessionId, putChunk, storedBytes } from './helpers/upload-session.ts';

/** The generated Node client's session calls against the server (chunks go over plain HTTP). */
describe('azure-servicefabric 2.2.0 upload-session calls', () => {
  let server: TestServer;
  let client: any;
  before(async () => {
    server = await startTestServer();
    client = new ServiceFabricClient(server.url, { noRetryPolicy: true });
  });
  after(() => server.dispose());

  it('reads a session by id with its missing ranges', async () => {
    const id = newSessionId();
    const data = bytes(1000);
    await putChunk(server.url, 'sdk/app/one.bin', id, data, 200, 499);

    const result = await client.getImageStoreUploadSessionById(id);
    assert.equal(result.uploadSessions.length, 1);
    const [session] = result.uploadSessions;
    assert.equal(session.storeRelativePath, 'sdk\\app\\one.bin');
    assert.equal(session.sessionId, id);
    assert.equal(session.fileSize, '1000');
    assert.ok(session.modifiedDate instanceof Date && !isNaN(session.modifiedDate.getTime()));
    assert.deepEqual(session.expectedRanges, [
      { startPosition: '0', endPosition: '199' },
      { startPosition: '500', endPosition: '999' },
    ]);
  });

  it('reads sessions by an encoded path and an empty list for an unknown id', async () => {
    const id = newSessionId();
    await putChunk(server.url, 'sdk/app/two.bin', id, bytes(10), 0, 4);
    const byPath = await client.getImageStoreUploadSessionByPath('sdk/app/two.bin');
    assert.deepEqual(
      byPath.uploadSessions.map((s: any) => s.sessionId),
      [id],
    );
    const none = await client.getImageStoreUploadSessionById(newSessionId());
    assert.deepEqual(none.uploadSessions, []);
  });

  it('commits a session, twice, and the file appears once', async () => {
    const id = newSessionId();
    const data = bytes(3000);
    await putChunk(server.url, 'sdk/app/three.bin', id, data, 1500, 2999);
    await putChunk(server.url, 'sdk/app/three.bin', id, data, 0, 1499);
    await client.commitImageStoreUploadSession(id);
    await client.commitImageStoreUploadSession(id);
    assert.ok((await storedBytes(server.store, 'sdk/app/three.bin')).equals(data));
    const listing = await call('GET', `${server.url}/ImageStore/sdk/app?api-version=6.2`);
    assert.equal(
      listing.json.StoreFiles.filter((f: any) => f.StoreRelativePath.endsWith('three.bin')).length,
      1,
    );
  });

  it('surfaces a commit with gaps as a 400 FabricError', async () => {
    const id = newSessionId();
    await putChunk(server.url, 'sdk/app/four.bin', id, bytes(100), 0, 49);
    await assert.rejects(client.commitImageStoreUploadSession(id), (error: any) => {
      assert.equal(error.statusCode, 400);
      assert.equal(error.body.error.code, 'E_INVALIDARG');
      assert.match(error.body.error.message, /50-99/);
      return true;
    });
  });

  it('deletes a session, and an unknown one is a 404', async () => {
    const id = newSessionId();
    await putChunk(server.url, 'sdk/app/five.bin', id, bytes(100), 0, 49);
    await client.deleteImageStoreUploadSession(id);
    assert.deepEqual((await client.getImageStoreUploadSessionById(id)).uploadSessions, []);
    await assert.rejects(client.deleteImageStoreUploadSession(id), (error: any) => {
      assert.equal(error.statusCode, 404);
      assert.match(error.body.error.message, new RegExp(id));
      return true;
    });
  });

  it('refuses the client uploadFileChunk, which sends no body, with a readable range error', async () => {
    const id = newSessionId();
    await assert.rejects(
      client.uploadFileChunk('sdk/app/six.bin', id, 'bytes 0-9/10'),
      (error: any) => {
        assert.equal(error.statusCode, 400);
        assert.equal(error.body.error.code, 'FABRIC_E_UPLOAD_SESSION_RANGE_NOT_SATISFIABLE');
        return true;
      },
    );
    assert.deepEqual((await client.getImageStoreUploadSessionById(id)).uploadSessions, []);
  });
});
