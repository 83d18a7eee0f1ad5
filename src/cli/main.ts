import { stat } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';
import { openLocalStore, startServer } from '../app.ts';
import { DEFAULT_CONFIG } from '../config.ts';
import { checkStore, isClean } from '../store/fsck.ts';
import { formatReport } from './fsck-report.ts';
import { acquireRootLock } from '../store/root-lock.ts';
import { CliError, describeFailure, type FailureContext } from './failure.ts';

const program = new Command('imagestore')
  .description('A standalone, Service Fabric-compatible Image Store server')
  // Usage mistakes read like every other failure: one `imagestore: <message>` line.
  .configureOutput({
    outputError: (text, write) => write(text.replace(/^error: /, 'imagestore: ')),
  });

/** Filled in by the running command, so a low-level failure can name the root or address. */
const context: FailureContext = {};

function integer(min: number, max: number) {
  return (value: string) => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < min || number > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return number;
  };
}

/** Below 6.5 the $/Info and $/FolderSize operations could never be called. */
const MIN_MAX_API_VERSION = 6.5;
const MAX_MAX_API_VERSION = 99;

function version(value: string) {
  const number = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(number >= MIN_MAX_API_VERSION && number <= MAX_MAX_API_VERSION)) {
    throw new InvalidArgumentError(
      `expected a version from ${MIN_MAX_API_VERSION} to ${MAX_MAX_API_VERSION}, like 11.3`,
    );
  }
  return number;
}

const LOG_LEVELS = [...Object.keys(pino.levels.values), 'silent'];

function logLevel(value: string) {
  if (!LOG_LEVELS.includes(value)) {
    throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(', ')}`);
  }
  return value;
}

/** A dotted quad that is not an IPv4 address would otherwise be looked up as a host name. */
function host(value: string) {
  if (/^[\d.]+$/.test(value) && !isIPv4(value)) {
    throw new InvalidArgumentError('expected an IP address or a host name');
  }
  return value;
}

/** The store root exists as a folder or can be made one. */
async function checkRoot(root: string) {
  const info = await stat(root).catch(() => undefined);
  if (info && !info.isDirectory()) {
    throw new CliError(`the store root ${resolve(root)} is a file, not a folder`);
  }
}

function fail(error: unknown): never {
  process.stderr.write(`imagestore: ${describeFailure(error, context)}\n`);
  process.exit(1);
}

const env = process.env;

program
  .command('serve')
  .description('serve the ImageStore REST API')
  .addOption(
    new Option('--port <n>', 'port to listen on; 0 picks a free one')
      .env('IMAGESTORE_PORT')
      .argParser(integer(0, 65535))
      .default(DEFAULT_CONFIG.port),
  )
  .addOption(
    new Option('--host <addr>', 'address to bind')
      .env('IMAGESTORE_HOST')
      .argParser(host)
      .default(DEFAULT_CONFIG.host),
  )
  .option('--root <dir>', 'store root folder', env.IMAGESTORE_ROOT ?? DEFAULT_CONFIG.root)
  .option(
    '--max-api-version <v>',
    'highest api-version accepted',
    version,
    DEFAULT_CONFIG.maxApiVersion,
  )
  .option(
    '--reserve-space <bytes>',
    "free bytes on the store's volume that uploads may not use, so deletes always have room",
    integer(0, Number.MAX_SAFE_INTEGER),
    DEFAULT_CONFIG.reserveBytes,
  )
  .option(
    '--list-page-size <n>',
    'entries per listing page',
    integer(1, 1_000_000),
    DEFAULT_CONFIG.listPageSize,
  )
  .addOption(
    new Option('--log-level <level>', `pino log level: ${LOG_LEVELS.join(', ')}`)
      .env('IMAGESTORE_LOG_LEVEL')
      .argParser(logLevel)
      .default(DEFAULT_CONFIG.logLevel),
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
  .action(async ({ sessionTimeout, reserveSpace, ...options }) => {
    Object.assign(context, { root: options.root, host: options.host, port: options.port });
    await checkRoot(options.root);
    const server = await startServer({
      ...options,
      sessionTimeoutSeconds: sessionTimeout,
      reserveBytes: reserveSpace,
    });
    // Above info the 'imagestore listening' log line is hidden; the address must still show.
    const level = options.logLevel as string;
    if (level === 'silent' || pino.levels.values[level] > pino.levels.values.info) {
      process.stderr.write(`imagestore listening on ${server.url}\n`);
    }
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        server.close().then(() => process.exit(0), fail);
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
    context.root = options.root;
    await checkRoot(options.root);
    const release = await acquireRootLock(options.root);
    const store = await openLocalStore(options.root, pino({ level: 'warn' }), {
      cleanUp: false,
    }).catch(async (error) => {
      await release();
      throw error;
    });
    try {
      const report = await checkStore(store, Boolean(options.repair), (message) =>
        process.stderr.write(`fsck: ${message}\n`),
      );
      if (options.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else process.stdout.write(formatReport(report));
      process.exitCode = isClean(report) || options.repair ? 0 : 1;
    } finally {
      await store.close();
      await release();
    }
  });

await program.parseAsync(process.argv).catch(fail);
