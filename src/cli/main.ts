import { Command, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { openLocalStore, startServer } from '../app.ts';
import { DEFAULT_CONFIG } from '../config.ts';
import { checkStore, isClean } from '../store/fsck.ts';
import { acquireRootLock } from '../store/root-lock.ts';

const program = new Command('imagestore').description(
  'A standalone, Service Fabric-compatible Image Store server',
);

function integer(min: number, max: number) {
  return (value: string) => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < min || number > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return number;
  };
}

function version(value: string) {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError('expected a version like 11.3');
  return Number(value);
}

const env = process.env;

program
  .command('serve')
  .description('serve the ImageStore REST API')
  .option(
    '--port <n>',
    'port to listen on; 0 picks a free one',
    integer(0, 65535),
    env.IMAGESTORE_PORT ? integer(0, 65535)(env.IMAGESTORE_PORT) : DEFAULT_CONFIG.port,
  )
  .option('--host <addr>', 'address to bind', env.IMAGESTORE_HOST ?? DEFAULT_CONFIG.host)
  .option('--root <dir>', 'store root folder', env.IMAGESTORE_ROOT ?? DEFAULT_CONFIG.root)
  .option(
    '--max-api-version <v>',
    'highest api-version accepted',
    version,
    DEFAULT_CONFIG.maxApiVersion,
  )
  .option(
    '--list-page-size <n>',
    'entries per listing page',
    integer(1, 1_000_000),
    DEFAULT_CONFIG.listPageSize,
  )
  .option(
    '--log-level <level>',
    'pino log level',
    env.IMAGESTORE_LOG_LEVEL ?? DEFAULT_CONFIG.logLevel,
  )
  .option(
    '--max-chunk-size <bytes>',
    'largest upload chunk accepted, in bytes',
    integer(1, Number.MAX_SAFE_INTEGER),
    DEFAULT_CONFIG.maxChunkSize,
  )
  .option(
    '--session-timeout <seconds>',
    'seconds without a new chunk before an upload session expires',
    integer(1, 365 * 24 * 3600),
    DEFAULT_CONFIG.sessionTimeoutSeconds,
  )
  .option(
    '--keep-versions <n>',
    'after each successful provision keep only the N most recently registered versions of ' +
      'the type (by the order their provisions finished) and unprovision older ones; 0 keeps all',
    integer(0, 1_000_000),
    DEFAULT_CONFIG.keepVersions,
  )
  .option(
    '--no-cleanup-on-provision-success',
    'keep the uploaded package after a successful provision whose cleanup policy is Default',
  )
  .option(
    '--max-package-download-bytes <n>',
    'largest .sfpkg an ExternalStore provision downloads, and largest it unpacks to',
    integer(1, Number.MAX_SAFE_INTEGER),
    DEFAULT_CONFIG.maxPackageDownloadBytes,
  )
  .action(async ({ sessionTimeout, ...options }) => {
    const server = await startServer({ ...options, sessionTimeoutSeconds: sessionTimeout });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        server.close().then(() => process.exit(0));
      });
    }
  });

program
  .command('fsck')
  .description('recount the store from disk and catalog; report and optionally repair differences')
  .option('--root <dir>', 'store root folder', env.IMAGESTORE_ROOT ?? DEFAULT_CONFIG.root)
  .option('--repair', 'rewrite counters, delete orphan blobs, drop files whose bytes are lost')
  .option('--json', 'print the report as JSON')
  .action(async (options) => {
    const release = await acquireRootLock(options.root);
    const store = await openLocalStore(
      options.root,
      pino({ level: 'warn' }),
      undefined,
      undefined,
      {
        cleanUp: false,
      },
    );
    try {
      const report = await checkStore(store, Boolean(options.repair), (message) =>
        process.stderr.write(`fsck: ${message}\n`),
      );
      if (options.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else printReport(report);
      process.exitCode = isClean(report) || options.repair ? 0 : 1;
    } finally {
      await store.close();
      await release();
    }
  });

function printReport(report: Awaited<ReturnType<typeof checkStore>>) {
  const lines = [
    `temporary files of unfinished uploads: ${report.temporaryFiles}`,
    `released blobs still on disk: ${report.unreleasedGarbage}`,
    `stray files in blobs/: ${report.strayFiles.length} ${report.strayFiles.slice(0, 10).join(', ')}`,
  ];
  for (const category of ['copy', 'register', 'staging'] as const) {
    const stored = report.counters[category];
    const counted = report.recounted[category];
    const same = stored.usedSpace === counted.usedSpace && stored.fileCount === counted.fileCount;
    lines.push(
      `${category}: counters ${stored.fileCount} files / ${stored.usedSpace} bytes, ` +
        `recount ${counted.fileCount} files / ${counted.usedSpace} bytes${same ? '' : '  MISMATCH'}`,
    );
  }
  lines.push(`folders out of step: ${report.foldersOutOfStep}`);
  lines.push(
    `files with missing bytes: ${report.missingBlobs.length} ${report.missingBlobs.slice(0, 10).join(', ')}`,
  );
  lines.push(
    `files with wrong size: ${report.wrongSizeBlobs.length} ${report.wrongSizeBlobs.slice(0, 10).join(', ')}`,
  );
  lines.push(`orphan blobs: ${report.orphanBlobs}`);
  const { orphanStagingFiles, lostSessions, wrongSizeSessions } = report.staging;
  lines.push(`orphan staging files: ${orphanStagingFiles}`);
  lines.push(`upload sessions with lost bytes: ${lostSessions.length} ${lostSessions.join(', ')}`);
  lines.push(
    `upload sessions with a wrong-size staging file: ${wrongSizeSessions.length} ` +
      wrongSizeSessions.join(', '),
  );
  lines.push(
    isClean(report)
      ? 'store is consistent'
      : report.repaired
        ? 'differences repaired'
        : 'differences found; run with --repair',
  );
  process.stdout.write(lines.join('\n') + '\n');
}

await program.parseAsync(process.argv);
