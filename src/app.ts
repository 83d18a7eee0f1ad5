import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { LocalBlobStore } from './backends/local/local-blob-store.ts';
import { SqliteCatalog } from './catalog/sqlite/sqlite-catalog.ts';
import { DEFAULT_CONFIG, type ServerConfig } from './config.ts';
import { SqliteApplicationTypes } from './catalog/sqlite/sqlite-application-types.ts';
import { applicationTypeRoutes } from './http/application-types-routes.ts';
import { clusterRoutes } from './http/cluster-routes.ts';
import { buildHttpServer } from './http/server.ts';
import { Provisioner } from './provision/provisioner.ts';
import { ImageStore, type StoreOptions } from './store/image-store.ts';
import { acquireRootLock } from './store/root-lock.ts';

export interface RunningServer {
  app: FastifyInstance;
  store: ImageStore;
  provisioner: Provisioner;
  /** The address actually bound, e.g. `http://127.0.0.1:19080`. */
  url: string;
  close(): Promise<void>;
}

/** Opens the store at `root` with the embedded backends: local disk and SQLite. */
export async function openLocalStore(
  root: string,
  log: Logger,
  { cleanUp = true, ...options }: StoreOptions & { cleanUp?: boolean } = {},
) {
  const catalog = new SqliteCatalog(join(root, 'catalog'));
  const blobs = new LocalBlobStore(root);
  const store = new ImageStore(catalog, blobs, log, options);
  // fsck opens without the start-up clean-up, so a report-only run changes nothing.
  if (cleanUp) await store.open();
  return store;
}

/** Application types live in the catalog's own database, next to the files they register. */
async function openProvisioner(store: ImageStore, root: string, config: ServerConfig, log: Logger) {
  if (!(store.catalog instanceof SqliteCatalog)) {
    throw new Error('application types need the SQLite catalog');
  }
  const types = new SqliteApplicationTypes(store.catalog);
  const provisioner = new Provisioner(
    store,
    types,
    {
      cleanupOnProvisionSuccess: config.cleanupOnProvisionSuccess,
      keepVersions: config.keepVersions,
      maxDownloadBytes: config.maxPackageDownloadBytes,
      workDir: join(root, 'provisioning'),
    },
    log,
  );
  await provisioner.open();
  return provisioner;
}

/** The composition root: builds and starts a server from a typed configuration. */
export async function startServer(
  overrides: Partial<ServerConfig> = {},
  logger?: Logger,
): Promise<RunningServer> {
  const config = { ...DEFAULT_CONFIG, ...overrides };
  const log = logger ?? pino({ level: config.logLevel });
  const root = resolve(config.root);
  const releaseLock = await acquireRootLock(root);
  try {
    const store = await openLocalStore(root, log, {
      listPageSize: config.listPageSize,
      reserveBytes: config.reserveBytes,
      sessions: {
        maxChunkSize: config.maxChunkSize,
        timeoutMs: config.sessionTimeoutSeconds * 1000,
      },
    });
    store.sessions.startExpiry();
    const provisioner = await openProvisioner(store, root, config, log);
    const app = buildHttpServer({
      store,
      logger: log,
      maxApiVersion: config.maxApiVersion,
      plugins: [
        applicationTypeRoutes(provisioner, config.maxApiVersion),
        clusterRoutes(config.maxApiVersion),
      ],
    });
    await app.listen({ host: config.host, port: config.port }).catch(async (error) => {
      await store.close();
      throw error;
    });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${host}:${port}`;
    log.info({ url, root }, 'imagestore listening');
    return {
      app,
      store,
      provisioner,
      url,
      async close() {
        provisioner.stop();
        await app.close();
        await provisioner.idle();
        await store.close();
        await releaseLock();
      },
    };
  } catch (error) {
    await releaseLock();
    throw error;
  }
}
