import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BlobServiceClient } from '@azure/storage-blob';

/**
 * A 1 GiB file uploaded in 25 MiB chunks with 10 requests in flight (what the .NET client does),
 * into imagestore (upload session + commit) and into Azurite (block blob: stageBlock +
 * commitBlockList), both as child processes on loopback with their data in a temp folder.
 * Prints the throughput of each and their ratio, and imagestore's commit time for 1 GiB against
 * 1 MiB: a commit renames the staging file, so both should cost about the same.
 *
 * Run: `node --import tsx bench/chunked-upload.bench.ts` (or `npm run bench -- chunked`).
 * BENCH_FILE_MIB changes the file size.
 */
const MiB = 1024 * 1024;
const FILE_SIZE = Number(process.env.BENCH_FILE_MIB ?? 1024) * MiB;
const CHUNK_SIZE = 25 * MiB;
const IN_FLIGHT = 10;
const SMALL_COMMITS = 5;
const PROJECT_DIR = new URL('..', import.meta.url).pathname;

/** Chunk `index` of the file: shared random bytes stamped with the index, so chunks differ. */
const pattern = randomBytes(CHUNK_SIZE);
function chunkBytes(index: number, fileSize = FILE_SIZE): Buffer {
  const start = index * CHUNK_SIZE;
  const chunk = Buffer.from(pattern.subarray(0, Math.min(CHUNK_SIZE, fileSize - start)));
  chunk.writeUInt32BE(index, 0);
  return chunk;
}
const chunkCount = (fileSize: number) => Math.ceil(fileSize / CHUNK_SIZE);

async function inParallel(count: number, limit: number, work: (index: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

async function timed<T>(action: () => Promise<T>): Promise<[T, number]> {
  const started = process.hrtime.bigint();
  const result = await action();
  return [result, Number(process.hrtime.bigint() - started) / 1e6];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

interface Child {
  url: string;
  stop(): Promise<void>;
}

/** Starts a child process and waits for a stdout line that yields its URL. */
function startChild(command: string[], urlOf: (line: string) => string | undefined) {
  const child: ChildProcess = spawn(process.execPath, command, {
    cwd: PROJECT_DIR,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise<Child>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (process.env.BENCH_DEBUG) console.log(line);
      const url = urlOf(line);
      if (url) resolve({ url, stop: () => stopChild(child) });
    });
    child.once('exit', (code) => reject(new Error(`${command[0]} exited with ${code}`)));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// ---- imagestore --------------------------------------------------------------------------

const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });

function send(url: string, method: string, headers: Record<string, string>, body?: Buffer) {
  return new Promise<void>((resolve, reject) => {
    const req = request(url, { method, headers, agent }, (response) => {
      let text = '';
      response.on('data', (part) => (text += part));
      response.on('end', () =>
        response.statusCode === 200
          ? resolve()
          : reject(new Error(`${method} ${url}: ${response.statusCode} ${text}`)),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function uploadToImageStore(base: string, path: string, fileSize: number) {
  const sessionId = crypto.randomUUID();
  const chunkUrl = `${base}/ImageStore/${path}/$/UploadChunk?api-version=6.0&session-id=${sessionId}`;
  const [, uploadMs] = await timed(() =>
    inParallel(chunkCount(fileSize), IN_FLIGHT, async (index) => {
      const body = chunkBytes(index, fileSize);
      const start = index * CHUNK_SIZE;
      await send(
        chunkUrl,
        'PUT',
        {
          'content-type': 'application/octet-stream',
          'content-range': `bytes ${start}-${start + body.length - 1}/${fileSize}`,
        },
        body,
      );
    }),
  );
  const commitUrl = `${base}/ImageStore/$/CommitUploadSession?api-version=6.0&session-id=${sessionId}`;
  const [, commitMs] = await timed(() => send(commitUrl, 'POST', {}));
  return { uploadMs, commitMs };
}

async function sha256OfFile(path: string) {
  const hash = createHash('sha256');
  for await (const part of createReadStream(path)) hash.update(part);
  return hash.digest('hex');
}

async function benchImageStore(workspace: string, expectedHash: string) {
  const root = join(workspace, 'imagestore');
  const server = await startChild(
    ['bin/imagestore.js', 'serve', '--port', '0', '--root', root, '--log-level', 'info'],
    (line) => {
      const entry = line.startsWith('{') ? JSON.parse(line) : undefined;
      return entry?.msg === 'imagestore listening' ? entry.url : undefined;
    },
  );
  try {
    const big = await uploadToImageStore(server.url, 'bench/big.bin', FILE_SIZE);
    // The only blob in the store is the committed file: check its bytes.
    const shards = await readdir(join(root, 'blobs'));
    const blobs = (
      await Promise.all(shards.map((s) => readdir(join(root, 'blobs', s)).then((f) => [s, f])))
    ).flatMap(([shard, files]) =>
      (files as string[]).map((f) => join(root, 'blobs', shard as string, f)),
    );
    if (blobs.length !== 1 || (await sha256OfFile(blobs[0])) !== expectedHash) {
      throw new Error('imagestore did not store the uploaded bytes');
    }
    const small: number[] = [];
    for (let i = 0; i < SMALL_COMMITS; i++) {
      small.push((await uploadToImageStore(server.url, `bench/small-${i}.bin`, MiB)).commitMs);
    }
    return { ...big, smallCommitMs: median(small) };
  } finally {
    await server.stop();
  }
}

// ---- Azurite -------------------------------------------------------------------------------

/** Azurite's documented development-storage account, valid only against the local emulator. */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

async function uploadToAzurite(service: BlobServiceClient, name: string, fileSize: number) {
  const blob = service.getContainerClient('bench').getBlockBlobClient(name);
  const ids = Array.from({ length: chunkCount(fileSize) }, (_, i) =>
    Buffer.from(`block-${String(i).padStart(8, '0')}`).toString('base64'),
  );
  const [, uploadMs] = await timed(() =>
    inParallel(ids.length, IN_FLIGHT, async (index) => {
      const body = chunkBytes(index, fileSize);
      await blob.stageBlock(ids[index], body, body.length);
    }),
  );
  const [, commitMs] = await timed(() => blob.commitBlockList(ids));
  const { contentLength } = await blob.getProperties();
  if (contentLength !== fileSize) throw new Error(`Azurite stored ${contentLength} bytes`);
  return { uploadMs, commitMs };
}

async function benchAzurite(workspace: string) {
  const port = await freePort();
  const location = join(workspace, 'azurite');
  const azurite = await startChild(
    [
      'node_modules/azurite/dist/src/blob/main.js',
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
      '--location',
      location,
      '--silent',
      // Azurite reports usage to a remote service unless told not to; this run stays on loopback.
      '--disableTelemetry',
    ],
    (line) => (/successfully listen/.test(line) ? `http://127.0.0.1:${port}` : undefined),
  );
  try {
    const service = BlobServiceClient.fromConnectionString(
      `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};` +
        `BlobEndpoint=${azurite.url}/${DEV_ACCOUNT};`,
    );
    await service.getContainerClient('bench').create();
    const big = await uploadToAzurite(service, 'big.bin', FILE_SIZE);
    const small: number[] = [];
    for (let i = 0; i < SMALL_COMMITS; i++) {
      small.push((await uploadToAzurite(service, `small-${i}.bin`, MiB)).commitMs);
    }
    return { ...big, smallCommitMs: median(small) };
  } finally {
    await azurite.stop();
  }
}

// ---- report --------------------------------------------------------------------------------

const mibPerSecond = (ms: number) => FILE_SIZE / MiB / (ms / 1000);

const workspace = await mkdtemp(join(tmpdir(), 'imagestore-bench-chunked-'));
try {
  console.log(
    `chunked upload: ${FILE_SIZE / MiB} MiB in ${CHUNK_SIZE / MiB} MiB chunks, ` +
      `${IN_FLIGHT} in flight, loopback, data under ${workspace}; ` +
      `node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
  );
  const hash = createHash('sha256');
  for (let i = 0; i < chunkCount(FILE_SIZE); i++) hash.update(chunkBytes(i));
  const imagestore = await benchImageStore(workspace, hash.digest('hex'));
  await rm(join(workspace, 'imagestore'), { recursive: true, force: true });
  const azurite = await benchAzurite(workspace);

  const rows = [
    ['imagestore (session, fsync per chunk)', imagestore],
    ['azurite 3.35.0 (stageBlock + commitBlockList)', azurite],
  ] as const;
  for (const [name, r] of rows) {
    const total = r.uploadMs + r.commitMs;
    console.log(
      `${name.padEnd(48)} chunks ${(r.uploadMs / 1000).toFixed(2)} s, ` +
        `commit ${r.commitMs.toFixed(1)} ms, total ${(total / 1000).toFixed(2)} s, ` +
        `${mibPerSecond(total).toFixed(0)} MiB/s`,
    );
  }
  const ratio =
    mibPerSecond(imagestore.uploadMs + imagestore.commitMs) /
    mibPerSecond(azurite.uploadMs + azurite.commitMs);
  console.log(`throughput ratio imagestore / azurite: ${ratio.toFixed(2)}`);
  console.log(
    `imagestore commit: ${FILE_SIZE / MiB} MiB ${imagestore.commitMs.toFixed(1)} ms, ` +
      `1 MiB ${imagestore.smallCommitMs.toFixed(1)} ms (median of ${SMALL_COMMITS}); ` +
      `azurite commitBlockList: ${azurite.commitMs.toFixed(1)} ms vs ` +
      `${azurite.smallCommitMs.toFixed(1)} ms`,
  );
} finally {
  agent.destroy();
  await rm(workspace, { recursive: true, force: true });
}
