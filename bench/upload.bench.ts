import { rm, stat } from 'node:fs/promises';
import { copyDurably, fsyncFileAndFolder, syncAll, writeRandomFile } from './lib/files.ts';
import { getJson, startImageStore } from './lib/imagestore.ts';
import { NGINX, nginxInstalled, startNginxDav } from './lib/nginx.ts';
import { putFile, senderName } from './lib/put.ts';
import { fixed, intFromEnv, median, printMachine, printTable, ratio } from './lib/report.ts';
import { withWorkspace } from './lib/workspace.ts';

/**
 * Single-PUT throughput of one large body (1 GiB) into imagestore, next to nginx's WebDAV PUT
 * on the same machine in the same run: several runs per peer, interleaved, median of each.
 */
const SIZE = intFromEnv('BENCH_UPLOAD_BYTES', 1 << 30);
const RUNS = intFromEnv('BENCH_UPLOAD_RUNS', 3);

const mbPerSecond = (seconds: number) => SIZE / 1e6 / seconds;
const since = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;

interface Peer {
  name: string;
  short: string;
  seconds: number[];
  /** Removes the previous run's file (untimed), then times one write of the body. */
  run(): Promise<number>;
}

function expectStatus(peer: string, status: number, accepted: number[]) {
  if (!accepted.includes(status)) throw new Error(`${peer} answered the PUT with ${status}`);
}

await withWorkspace('upload', async (workspace) => {
  const body = workspace.path('body.bin');
  await writeRandomFile(body, SIZE);
  printMachine();
  console.log(
    `single PUT of ${fixed(SIZE)} random bytes streamed from a file; sender: ${senderName()}; ` +
      `1 untimed + ${RUNS} timed runs per peer, interleaved, peer order rotating per run; ` +
      'all dirty pages synced before each write; MB = 10^6 bytes',
  );

  // Every timed write creates a new file, the previous one deleted beforehand (imagestore
  // always writes a fresh blob), so no peer gets ext4's flush-on-replace or pays for freeing
  // the last run's blocks inside the timed window.
  const imagestore = await startImageStore(workspace, 'imagestore', workspace.path('store'));
  const storeUrl = `${imagestore.url}/ImageStore/bench/upload.bin?api-version=6.5&timeout=3600`;
  const peers: Peer[] = [
    {
      name: 'imagestore PUT (fsync before 200)',
      short: 'imagestore',
      seconds: [],
      async run() {
        await fetch(storeUrl, { method: 'DELETE' });
        await syncAll();
        const put = await putFile(storeUrl, body, SIZE);
        expectStatus('imagestore', put.status, [200]);
        const listing = (await getJson(imagestore, '/ImageStore/bench?api-version=6.5')) as {
          StoreFiles: { FileSize: string }[];
        };
        if (listing.StoreFiles[0]?.FileSize !== String(SIZE)) {
          throw new Error(`imagestore lists ${JSON.stringify(listing.StoreFiles)} after the PUT`);
        }
        return put.seconds;
      },
    },
  ];

  const nginx = nginxInstalled() ? await startNginxDav(workspace) : undefined;
  const nginxSynced: number[] = [];
  if (nginx) {
    const target = `${nginx.wwwDir}/upload.bin`;
    peers.push({
      name: 'nginx WebDAV PUT (no fsync)',
      short: 'nginx',
      seconds: [],
      async run() {
        await rm(target, { force: true });
        await syncAll();
        const put = await putFile(`${nginx.url}/upload.bin`, body, SIZE);
        expectStatus('nginx', put.status, [201]);
        // The durable equivalent: what the same bytes still cost to reach the disk afterwards.
        const started = process.hrtime.bigint();
        await fsyncFileAndFolder(target);
        nginxSynced.push(put.seconds + since(started));
        if ((await stat(target)).size !== SIZE) throw new Error('nginx stored a different size');
        return put.seconds;
      },
    });
  } else {
    console.log(
      `${NGINX} not found: skipping the nginx peer. Install it with ` +
        '`apt-get install -y nginx-light` (or `nginx`) and run again for the ratio.',
    );
  }

  const copy = workspace.path('disk-copy.bin');
  peers.push({
    name: 'disk: 1 MiB writes + fsync, no HTTP',
    short: 'disk',
    seconds: [],
    async run() {
      await rm(copy, { force: true });
      await syncAll();
      const started = process.hrtime.bigint();
      await copyDurably(body, copy);
      return since(started);
    },
  });

  // One untimed write per peer first: server JIT, socket buffers and the VM's disk settle.
  for (const peer of peers) await peer.run();
  nginxSynced.length = 0;

  for (let run = 0; run < RUNS; run++) {
    const order = [...peers.slice(run % peers.length), ...peers.slice(0, run % peers.length)];
    const figures: string[] = [];
    for (const peer of order) {
      const seconds = await peer.run();
      peer.seconds.push(seconds);
      figures.push(`${peer.short} ${fixed(mbPerSecond(seconds))} MB/s`);
    }
    console.log(`  run ${run + 1}: ${figures.join(', ')}`);
  }

  const rate = (seconds: number[]) => median(seconds.map(mbPerSecond));
  const rows = [...peers.map((peer) => [peer.name, peer.seconds] as const)];
  if (nginx) rows.splice(2, 0, ['nginx WebDAV PUT + fsync by bench', nginxSynced]);
  console.log('');
  printTable(
    ['peer', ...peers[0].seconds.map((_, i) => `run ${i + 1}`), 'median MB/s'],
    rows.map(([name, seconds]) => [
      name,
      ...seconds.map((s) => fixed(mbPerSecond(s))),
      fixed(rate(seconds)),
    ]),
  );
  console.log('');
  const stored = rate(peers[0].seconds);
  const ratios: [string, string][] = [];
  if (nginx) {
    ratios.push(['ratio imagestore/nginx:', ratio(stored, rate(peers[1].seconds))]);
    ratios.push(['ratio imagestore/(nginx + fsync):', ratio(stored, rate(nginxSynced))]);
  }
  ratios.push(['ratio imagestore/disk:', ratio(stored, rate(peers[peers.length - 1].seconds))]);
  const width = Math.max(...ratios.map(([label]) => label.length));
  for (const [label, value] of ratios) console.log(`${label.padEnd(width)} ${value}`);
  if (nginx) {
    console.log(
      'caveat: imagestore fsyncs the body and the rename before answering 200; nginx answers ' +
        'with the body still in the page cache, so plain nginx is not a durable peer; ' +
        '"nginx + fsync" adds the fsync of file and folder the bench issues right after.',
    );
  }
});
