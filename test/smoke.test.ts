import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call } from './helpers/http.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

describe('smoke', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.dispose());

  it('stores a file and reports it in Info', async () => {
    const put = await call('PUT', `${server.url}/ImageStore/app/a.txt?api-version=6.0`, 'hello');
    assert.equal(put.status, 200);
    const info = await call('GET', `${server.url}/ImageStore/$/Info?api-version=6.5`);
    assert.deepEqual(info.json.UsedByCopy, { UsedSpace: '5', FileCount: '1' });
  });
});
