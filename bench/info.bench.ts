import { fillCatalog } from './lib/catalog-fill.ts';
import { syncAll } from './lib/files.ts';
import { getJson, PROJECT_DIR, startImageStore } from './lib/imagestore.ts';
import { type LoadResult, type LoadSettings, measureGetRate } from './lib/load.ts';
import { fixed, intFromEnv, median, printMachine, printTable, ratio } from './lib/report.ts';
import { type Service, startService, urlFromJsonLog } from './lib/service.ts';
import { withWorkspace } from './lib/workspace.ts';

/**
 * `GET /ImageStore/$/Info` requests per second on an empty store and on one with 1,000,000
 * catalogued files, each as a ratio to a bare `node:http` server answering a constant JSON body
 * of the same size on the same machine in the same run. Info reads counters kept in the catalog,
 * so both ratios should be about the same.
 */
const INFO = '/ImageStore/$/Info?api-version=6.5';
const FILES = intFromEnv('BENCH_INFO_FILES', 1_000_000);
const settings: LoadSettings = {
  connections: intFromEnv('BENCH_CONNECTIONS', 10),
  warmupSeconds: intFromEnv('BENCH_WARMUP_SECONDS', 3),
  durationSeconds: intFromEnv('BENCH_SECONDS', 10),
};
const ROUNDS = intFromEnv('BENCH_ROUNDS', 3);

interface UsageJson {
  UsedSpace: string;
  FileCount: string;
}
interface InfoJson {
  UsedByCopy: UsageJson;
  UsedByMetadata: UsageJson;
}

async function checkedInfo(service: Service, files: number, bytes: number): Promise<InfoJson> {
  const info = (await getJson(service, INFO)) as InfoJson;
  const copy = info.UsedByCopy;
  console.log(
    `${service.name}: UsedByCopy.FileCount "${copy.FileCount}", UsedSpace "${copy.UsedSpace}"; ` +
      `UsedByMetadata.UsedSpace "${info.UsedByMetadata.UsedSpace}"`,
  );
  if (copy.FileCount !== String(files) || copy.UsedSpace !== String(bytes)) {
    throw new Error(`${service.name}: Info should report ${files} files of ${bytes} bytes`);
  }
  return info;
}

await withWorkspace('info', async (workspace) => {
  printMachine();
  console.log(
    `GET ${INFO} requests per second; load: autocannon, 1 process, ` +
      `${settings.connections} keep-alive connections, ${settings.warmupSeconds} s warm-up + ` +
      `${settings.durationSeconds} s measured per target, ${ROUNDS} rounds interleaved`,
  );

  const filled = await fillCatalog(workspace.path('store-full'), FILES);
  console.log(
    `catalogued ${fixed(filled.files)} files (${fixed(filled.bytes)} bytes) directly in ` +
      `${filled.seconds.toFixed(1)} s (${fixed(filled.files / filled.seconds)} files/s)`,
  );

  // The fill's write-back would otherwise still run during the first measurements.
  await syncAll();
  const empty = await startImageStore(workspace, 'imagestore-0', workspace.path('store-empty'));
  const full = await startImageStore(
    workspace,
    `imagestore-${FILES}`,
    workspace.path('store-full'),
  );
  await checkedInfo(empty, 0, 0);
  const fullInfo = await checkedInfo(full, filled.files, filled.bytes);

  // The peer answers with the very body imagestore sends at 1M files, so sizes match.
  const constant = JSON.stringify(fullInfo);
  const bare = await startService(workspace, {
    name: 'bare node:http',
    command: process.execPath,
    args: ['--import', 'tsx', 'bench/lib/bare-json-server.ts', constant],
    cwd: PROJECT_DIR,
    logFile: workspace.path('bare.log'),
    readyUrl: (log) => urlFromJsonLog(log, 'bare server listening'),
  });
  console.log(`response body: ${Buffer.byteLength(constant)} bytes from every target`);

  const targets = [bare, empty, full];
  const results = new Map<Service, LoadResult[]>(targets.map((t) => [t, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const target of targets) {
      const result = await measureGetRate(target.url + INFO, settings);
      results.get(target)!.push(result);
      console.log(
        `  round ${round} ${target.name}: ${fixed(result.requestsPerSecond)} req/s ` +
          `(${fixed(result.requests)} requests, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms)`,
      );
    }
  }

  const rate = (target: Service) => median(results.get(target)!.map((r) => r.requestsPerSecond));
  console.log('');
  printTable(
    ['target', 'req/s (median of rounds)', 'ratio to bare'],
    targets.map((target) => [target.name, fixed(rate(target)), ratio(rate(target), rate(bare))]),
  );
  console.log('');
  const lines = [
    [`ratio imagestore/bare at 0 files:`, ratio(rate(empty), rate(bare))],
    [`ratio imagestore/bare at ${fixed(FILES)} files:`, ratio(rate(full), rate(bare))],
    [`ratio imagestore at ${fixed(FILES)} files / at 0 files:`, ratio(rate(full), rate(empty))],
  ];
  const width = Math.max(...lines.map(([label]) => label.length));
  for (const [label, value] of lines) console.log(`${label.padEnd(width)} ${value}`);
});
