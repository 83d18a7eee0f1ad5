import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { eventually, info } from './helpers/image-store.ts';
import { newSessionId, putChunk } from './helpers/upload-session.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

/** Sends a chunk's headers and the first `sent` bytes of its body, then keeps the socket open. */
async function stalledChunk(base: string, path: string, id: string, range: string, sent: number) {
  const { hostname, port } = new URL(base);
  const socket: Socket = connect(Number(port), hostname);
  await new Promise((resolve) => socket.once('connect', resolve));
  const [start, end] = range.split('/')[0].split('-').map(Number);
  const length = end - start + 1;
  socket.write(
    `PUT /ImageStore/${path}/$/UploadChunk?api-version=6.0&session-id=${id} HTTP/1.1\r\n` +
      `Host: ${hostname}\r\nContent-Range: bytes ${range}\r\nContent-Length: ${length}\r\n\r\n`,
  );
  socket.write(Buffer.alloc(sent, 1));
  return socket;
}

describe('upload session bytes in flight', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.dispose());

  it('counts a chunk still arriving in UsedByStaging, and forgets it when it is dropped', async () => {
    const id = newSessionId();
    const socket = await stalledChunk(server.url, 'flight/a.bin', id, '0-99999/200000', 30000);
    await eventually(async () => (await info(server.url)).UsedByStaging.UsedSpace === '30000');
    assert.deepEqual((await info(server.url)).UsedByStaging, {
      UsedSpace: '30000',
      FileCount: '1',
    });
    socket.destroy();
    await eventually(async () => (await info(server.url)).UsedByStaging.FileCount === '0');
    assert.deepEqual((await info(server.url)).UsedByStaging, { UsedSpace: '0', FileCount: '0' });
  });

  it('counts the staging file once while several first chunks arrive', async () => {
    const id = newSessionId();
    const a = await stalledChunk(server.url, 'flight/b.bin', id, '0-999/4000', 100);
    const b = await stalledChunk(server.url, 'flight/b.bin', id, '2000-2999/4000', 200);
    await eventually(async () => (await info(server.url)).UsedByStaging.UsedSpace === '300');
    assert.equal((await info(server.url)).UsedByStaging.FileCount, '1');
    a.destroy();
    b.destroy();
    await eventually(async () => (await info(server.url)).UsedByStaging.UsedSpace === '0');
  });

  it('moves an acknowledged chunk from in flight to the session counter exactly once', async () => {
    const id = newSessionId();
    const data = Buffer.alloc(5000, 3);
    assert.equal((await putChunk(server.url, 'flight/c.bin', id, data, 0, 1999)).status, 200);
    assert.deepEqual((await info(server.url)).UsedByStaging, { UsedSpace: '2000', FileCount: '1' });
    const socket = await stalledChunk(server.url, 'flight/c.bin', id, '2000-4999/5000', 1000);
    await eventually(async () => (await info(server.url)).UsedByStaging.UsedSpace === '3000');
    assert.equal((await info(server.url)).UsedByStaging.FileCount, '1');
    socket.destroy();
    await eventually(async () => (await info(server.url)).UsedByStaging.UsedSpace === '2000');
  });
});
