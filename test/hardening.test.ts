import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import pino from 'pino';
import { startServer, type RunningServer } from '../src/app.ts';
import { call, errorOf } from './helpers/http.ts';
import { copy, put, rawCall, statusOf } from './helpers/image-store.ts';
import { spawnServer, startTestServer, tempRoot, type ChildServer } from './helpers/server.ts';

const BIN = new URL('../bin/imagestore.js', import.meta.url).pathname;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `imagestore <args>` to completion. */
function runCli(args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (part) => (stdout += part));
    child.stderr.on('data', (part) => (stderr += part));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Exit status 1 and exactly one `imagestore: ...` line on stderr, no stack trace. */
function assertOneLineFailure(run: CliRun, message: RegExp) {
  assert.equal(run.code, 1, run.stderr);
  const lines = run.stderr.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0], /^imagestore: /);
  assert.match(lines[0], message);
}

describe('command line failures', { concurrency: true }, () => {
  let root: string;
  before(async () => {
    root = await tempRoot();
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('refuses an unknown --log-level, naming the accepted levels', async () => {
    const run = await runCli(['serve', '--port', '0', '--root', root, '--log-level', 'loud']);
    assertOneLineFailure(run, /'loud'.*trace, debug, info, warn, error, fatal, silent/);
  });

  it('refuses a --max-api-version below 6.5', async () => {
    const run = await runCli(['serve', '--port', '0', '--root', root, '--max-api-version', '6.4']);
    assertOneLineFailure(run, /'6\.4'.*6\.5/);
  });

  it('refuses a --host that looks like an IPv4 address but is not one', async () => {
    const run = await runCli(['serve', '--port', '0', '--root', root, '--host', '999.1.1.1']);
    assertOneLineFailure(run, /999\.1\.1\.1/);
  });

  it('names the address when --host is not an address of this machine', async () => {
    const own = join(root, 'not-local');
    // 192.0.2.0/24 is reserved for documentation: binding fails locally, nothing is sent.
    const run = await runCli(['serve', '--port', '0', '--root', own, '--host', '192.0.2.1']);
    assertOneLineFailure(run, /192\.0\.2\.1.*not an address of this machine/);
  });

  it('names the port when it is already in use', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const run = await runCli(['serve', '--port', String(port), '--root', join(root, 'busy')]);
      assertOneLineFailure(run, new RegExp(`127\\.0\\.0\\.1:${port}.*already in use`));
    } finally {
      blocker.close();
    }
  });

  it('refuses a --root that is a file, for serve and fsck', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'not a folder');
    assertOneLineFailure(
      await runCli(['serve', '--port', '0', '--root', file]),
      /a-file is a file, not a folder/,
    );
    assertOneLineFailure(await runCli(['fsck', '--root', file]), /a-file is a file, not a folder/);
  });

  it('says the catalog file is not a valid database, for serve and fsck', async () => {
    const broken = join(root, 'broken');
    await mkdir(join(broken, 'catalog'), { recursive: true });
    await writeFile(join(broken, 'catalog', 'imagestore.db'), 'this is not SQLite '.repeat(20));
    const expected = /catalog file at .*broken\/catalog\/imagestore\.db is not a valid database/;
    assertOneLineFailure(await runCli(['serve', '--port', '0', '--root', broken]), expected);
    assertOneLineFailure(await runCli(['fsck', '--root', broken]), expected);
    // A failed start leaves no lock behind.
    assert.deepEqual(await readdir(broken), ['catalog']);
  });

  it('refuses a root in use by a running server, for serve and fsck', async () => {
    const shared = join(root, 'shared');
    const server: ChildServer = await spawnServer(shared);
    try {
      const pid = server.process.pid;
      const expected = new RegExp(`in use by process ${pid}`);
      assertOneLineFailure(await runCli(['serve', '--port', '0', '--root', shared]), expected);
      assertOneLineFailure(await runCli(['fsck', '--root', shared]), expected);
    } finally {
      await server.stop();
    }
  });

  it('reports the listening address on stderr when the log level hides info', async () => {
    const args = ['serve', '--port', '0', '--root', join(root, 'quiet'), '--log-level', 'warn'];
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let stderr = '';
        child.stderr.on('data', (part) => {
          stderr += part;
          const match = /^imagestore listening on (http:\/\/\S+)$/m.exec(stderr);
          if (match) resolve(match[1]);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
      });
      const answer = await call('GET', `${url}/ImageStore/$/Info?api-version=6.5`);
      assert.equal(answer.status, 200, answer.text);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('store root lock', () => {
  it(
    'takes over a root whose pid file names a live process that is not imagestore',
    {
      skip: process.platform !== 'linux' && 'reads /proc',
    },
    async () => {
      const root = await tempRoot();
      const unrelated = spawn('sleep', ['30'], { stdio: 'ignore' });
      try {
        await writeFile(join(root, 'imagestore.pid'), String(unrelated.pid));
        const server = await startTestServer({ root });
        await server.dispose();
      } finally {
        unrelated.kill();
        await rm(root, { recursive: true, force: true });
      }
    },
  );
});

/** A server whose log lines are kept for the test to read. */
async function startLoggedServer(): Promise<{ server: RunningServer; lines: any[]; root: string }> {
  const root = await tempRoot();
  const lines: any[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const server = await startServer({ port: 0, root }, pino({ level: 'info' }, sink));
  return { server, lines, root };
}

/** Sends raw bytes and collects whatever comes back until the server closes the connection. */
async function rawExchange(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let text = '';
  socket.on('data', (part) => (text += part));
  socket.write(bytes);
  await new Promise<void>((resolve) => {
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
  return text;
}

function jsonBodyOf(raw: string): any {
  return JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
}

describe('requests refused by the HTTP parser', () => {
  let server: RunningServer;
  let lines: any[];
  let root: string;
  before(async () => {
    ({ server, lines, root } = await startLoggedServer());
  });
  after(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  async function refused(request: string, status: number, message: RegExp) {
    const before = lines.length;
    const raw = await rawExchange(server.url, request);
    assert.equal(statusOf(raw), status, raw);
    assert.match(raw, /\r\nconnection: close\r\n/i);
    const body = jsonBodyOf(raw);
    assert.equal(body.Error.Code, 'E_INVALIDARG', raw);
    assert.match(body.Error.Message, message);
    const logged = lines.slice(before).filter((line) => line.level === 40);
    assert.equal(logged.length, 1, JSON.stringify(lines.slice(before)));
    assert.match(logged[0].msg, message);
  }

  it('answers oversized headers with 431 E_INVALIDARG and logs one warning', async () => {
    await refused(
      `GET /ImageStore?api-version=6.2 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      /headers exceed the \d+ bytes/,
    );
  });

  it('answers a malformed request line with 400 E_INVALIDARG', async () => {
    await refused('NOT A REQUEST\r\n\r\n', 400, /request line is malformed/);
  });

  it('answers an invalid Content-Length with 400 E_INVALIDARG', async () => {
    await refused(
      'PUT /ImageStore/a.txt?api-version=6.0 HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n',
      400,
      /Content-Length/,
    );
  });

  it('answers Content-Length together with Transfer-Encoding with 400 E_INVALIDARG', async () => {
    await refused(
      'PUT /ImageStore/a.txt?api-version=6.0 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n' +
        'Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      400,
      /Transfer-Encoding/,
    );
  });

  it('answers headers that did not arrive in time with 408 E_INVALIDARG', async () => {
    // Node's header timeout is checked every 30 s; raise its event on a real connection instead.
    const accepted = new Promise<Socket>((resolve) =>
      server.app.server.once('connection', resolve),
    );
    const { hostname, port } = new URL(server.url);
    const client = connect(Number(port), hostname);
    let raw = '';
    client.on('data', (part) => (raw += part));
    const closed = new Promise((resolve) => client.on('close', resolve));
    client.write('GET /ImageStore?api-version=6.2 HTTP/1.1\r\nHost: x\r\n');
    const socket = await accepted;
    const before = lines.length;
    const timeout = Object.assign(new Error('Request timeout'), {
      code: 'ERR_HTTP_REQUEST_TIMEOUT',
    });
    server.app.server.emit('clientError', timeout, socket);
    await closed;
    assert.equal(statusOf(raw), 408, raw);
    assert.equal(jsonBodyOf(raw).Error.Code, 'E_INVALIDARG');
    assert.match(jsonBodyOf(raw).Error.Message, /not received in time/);
    assert.equal(lines.slice(before).filter((line) => line.level === 40).length, 1);
  });

  it('logs one access line naming the request when the client leaves mid-body', async () => {
    const before = lines.length;
    const { hostname, port } = new URL(server.url);
    const client = connect(Number(port), hostname);
    await new Promise((resolve) => client.once('connect', resolve));
    client.write(
      'PUT /ImageStore/left.bin?api-version=6.0 HTTP/1.1\r\nHost: x\r\n' +
        'Content-Length: 1000\r\n\r\n',
    );
    client.write('only a few bytes');
    await sleep(100);
    client.destroy();
    let entries: any[] = [];
    for (let i = 0; i < 100 && entries.length === 0; i++) {
      await sleep(20);
      entries = lines
        .slice(before)
        .filter((line) => line.url === '/ImageStore/left.bin?api-version=6.0');
    }
    await sleep(200);
    entries = lines.slice(before).filter((line) => line.url?.startsWith('/ImageStore/left.bin'));
    assert.equal(entries.length, 1, JSON.stringify(lines.slice(before)));
    assert.equal(entries[0].method, 'PUT');
    assert.ok(entries[0].level === 30 || entries[0].level === 40, JSON.stringify(entries[0]));
    assert.match(entries[0].note, /client went away/);
    assert.equal(lines.slice(before).filter((line) => line.level >= 50).length, 0);
  });
});

describe('path and copy hardening', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.dispose());

  it('refuses a C1 control character in a path, shown as two hex digits', async () => {
    const answer = await put(server.url, 'dir/a%C2%85b.txt', 'x');
    assert.equal(errorOf(answer), '400 E_INVALIDARG', answer.text);
    assert.match(answer.json.Error.Message, /a\\x85b\.txt/);
  });

  it('shows NUL and LF in a refused path as \\x00 and \\x0a', async () => {
    const answer = await rawCall(
      server.url,
      'PUT',
      '/ImageStore/a%00b%0Ac.txt?api-version=6.0',
      'x',
    );
    assert.equal(errorOf(answer), '400 E_INVALIDARG', answer.text);
    assert.match(answer.json.Error.Message, /a\\x00b\\x0ac\.txt/);
  });

  it('leaves no orphan blob when one file of a folder copy fails', async () => {
    const files = Array.from({ length: 40 }, (_, i) => `f${String(i).padStart(2, '0')}.bin`);
    for (const name of ['a-lost.bin', ...files]) {
      assert.equal(
        (await put(server.url, `Pkg/${name}`, `bytes of ${name} `.repeat(50))).status,
        200,
      );
    }
    assert.equal((await put(server.url, 'Pkg/_.dir', '')).status, 200);
    const lost = await server.store.catalog.getFile('pkg\\a-lost.bin');
    await unlink((server.store.blobs as any).blobPath(lost!.blob));
    const countBlobs = async () => {
      let count = 0;
      const dir = join(server.root, 'blobs');
      for (const shard of await readdir(dir)) count += (await readdir(join(dir, shard))).length;
      return count;
    };
    const before = await countBlobs();
    const answer = await copy(server.url, { RemoteSource: 'Pkg', RemoteDestination: 'Copied' });
    assert.notEqual(answer.status, 200, answer.text);
    // Copies still running when the answer went out would land after it.
    await sleep(300);
    assert.equal(await countBlobs(), before);
  });
});

describe('cluster manifest', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.dispose());

  it('names the native image store in Management/ImageStoreConnectionString', async () => {
    const answer = await call('GET', `${server.url}/$/GetClusterManifest?api-version=6.0`);
    assert.equal(answer.status, 200, answer.text);
    const parsed = new XMLParser({ ignoreAttributes: false, isArray: () => false }).parse(
      answer.json.Manifest,
    );
    const sections = [parsed.ClusterManifest.FabricSettings.Section].flat();
    const management = sections.find((section: any) => section['@_Name'] === 'Management');
    const parameters = [management.Parameter].flat();
    const connection = parameters.find(
      (parameter: any) => parameter['@_Name'] === 'ImageStoreConnectionString',
    );
    assert.equal(connection['@_Value'], 'fabric:ImageStore');
  });

  it('validates api-version and timeout like every other operation', async () => {
    const base = `${server.url}/$/GetClusterManifest`;
    assert.equal(errorOf(await call('GET', base)), '400 E_INVALIDARG');
    assert.equal(errorOf(await call('GET', `${base}?api-version=0.9`)), '400 E_INVALIDARG');
    assert.equal(errorOf(await call('GET', `${base}?api-version=99.0`)), '400 E_INVALIDARG');
    assert.equal(
      errorOf(await call('GET', `${base}?api-version=1.0&timeout=0`)),
      '400 E_INVALIDARG',
    );
    assert.equal((await call('GET', `${base}?api-version=1.0`)).status, 200);
  });
});
