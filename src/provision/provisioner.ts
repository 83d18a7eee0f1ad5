import { mkdir, rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type {
  ApplicationTypeCatalog,
  ApplicationTypeRecord,
} from '../catalog/application-types.ts';
import { errors, FabricError } from '../errors.ts';
import { deadline } from '../http/request-options.ts';
import type { ImageStore } from '../store/image-store.ts';
import { toKey } from '../store/store-path.ts';
import { openBuildPath } from './build-path.ts';
import { KeyedQueue } from './concurrency.ts';
import { downloadPackage, parseDownloadUri } from './external-package.ts';
import { checkPathName } from './manifest.ts';
import { readApplicationManifest } from './plan-registration.ts';
import { checkDeclaredType, registerPackage, type Claimed } from './registration.ts';
import { typeFolder } from './store-layout.ts';

export type CleanupPolicy = 'Invalid' | 'Default' | 'Automatic' | 'Manual';

export type ProvisionRequest =
  | { kind: 'ImageStorePath'; buildPath: string; cleanupPolicy: CleanupPolicy; async: boolean }
  | { kind: 'ExternalStore'; downloadUri: string; name: string; version: string; async: boolean };

export interface ProvisioningSettings {
  /** What `Default` (and `Invalid`) cleanup means: delete the build path after success. */
  cleanupOnProvisionSuccess: boolean;
  /** After each successful provision keep only this many most recently registered versions. */
  keepVersions: number;
  /** Largest `.sfpkg` download, and largest unpacked package, accepted. */
  maxDownloadBytes: number;
  /** Private folder for downloads being unpacked; emptied at every start. */
  workDir: string;
}

const INTERRUPTED =
  'The server stopped before provisioning finished; nothing was registered. ' +
  'Unprovision this version or provision it again.';

/**
 * Registers application types from the image store or an external `.sfpkg`, and unregisters
 * them. Phase one (checks that answer at once: paths, manifest, conflicts) runs in the request;
 * phase two (validation of every package, copies, the one registering transaction) runs in the
 * request too, or in the background for `Async`. Work on one type is serialised.
 */
export class Provisioner {
  private readonly queue = new KeyedQueue();
  private readonly background = new Set<Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly store: ImageStore,
    readonly types: ApplicationTypeCatalog,
    private readonly settings: ProvisioningSettings,
    private readonly log: Logger,
  ) {}

  /** Settles what a previous run left half done. */
  async open(): Promise<void> {
    await rm(this.settings.workDir, { recursive: true, force: true });
    await mkdir(this.settings.workDir, { recursive: true });
    for (const row of await this.types.interrupted()) {
      if (row.status === 'Provisioning') {
        await this.types.failProvision(row.name, row.version, INTERRUPTED);
        this.log.warn({ type: row.name, version: row.version }, 'interrupted provision failed');
      } else {
        await this.unregister(row.name, row.version);
        this.log.warn({ type: row.name, version: row.version }, 'interrupted unprovision done');
      }
    }
  }

  /** Aborts background work; `idle` then waits for it to wind down. */
  stop(): void {
    this.stopping.abort(errors.notReady('The server is stopping'));
  }

  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  async provision(request: ProvisionRequest, timeoutSeconds: number): Promise<void> {
    // A synchronous provision's time counts from the request, waiting for earlier work included.
    const timer = request.async ? undefined : deadline(timeoutSeconds, 'Provision');
    try {
      const claimed = await this.claim(request, timeoutSeconds, timer?.signal);
      const signal = AbortSignal.any([this.stopping.signal, ...(timer ? [timer.signal] : [])]);
      let started = false;
      const work = this.queue.run(toKey(claimed.name), () => {
        started = true;
        return this.register(claimed, request, timeoutSeconds, signal);
      });
      if (!timer) {
        this.detach(
          work.catch(async (error) => {
            const details = this.describeFailure(error, claimed);
            await this.types.failProvision(claimed.name, claimed.version, details);
          }),
        );
        return;
      }
      const settled = work.catch(async (error) => {
        await this.types.abandonProvision(claimed.name, claimed.version);
        throw error;
      });
      this.detach(settled.catch(() => undefined));
      try {
        await untilAborted(settled, timer.signal);
      } catch (error) {
        // Running work stops at once on the timeout: answer when its claim is gone. Work still
        // waiting behind another provision of the type drops its claim when its turn comes.
        if (started) await settled.catch(() => undefined);
        throw error;
      }
    } finally {
      timer?.clear();
    }
  }

  async unprovision(name: string, version: string, async: boolean): Promise<void> {
    const before = await this.types.beginUnprovision(name, version);
    if (!before) {
      throw errors.applicationTypeNotFound(
        `Application type '${name}' version '${version}' is not provisioned`,
      );
    }
    if (before.status === 'Provisioning' || before.status === 'Unprovisioning') {
      throw errors.applicationTypeProvisionInProgress(
        `Application type '${name}' version '${version}' is ${before.status.toLowerCase()}; ` +
          'try again when it has finished',
      );
    }
    const run = this.queue.run(toKey(name), () => this.unregister(name, version));
    if (!async) return run;
    this.detach(
      run.catch((error) => {
        this.log.error({ err: error, type: name, version }, 'unprovision failed; retried at start');
      }),
    );
  }

  private detach(work: Promise<void>) {
    const tracked = work.finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  /** Phase one: everything that can be answered before the reply, ending with the claim. */
  private async claim(
    request: ProvisionRequest,
    timeoutSeconds: number,
    timeout?: AbortSignal,
  ): Promise<Claimed> {
    let claimed: Claimed;
    if (request.kind === 'ImageStorePath') {
      const { buildPath, source } = await openBuildPath(this.store.catalog, request.buildPath);
      const { manifest } = await readApplicationManifest(this.store.blobs, source);
      const policy = request.cleanupPolicy;
      const cleanup =
        policy === 'Automatic' ||
        ((policy === 'Default' || policy === 'Invalid') && this.settings.cleanupOnProvisionSuccess);
      claimed = { ...manifest, source, buildPath, cleanup };
    } else {
      parseDownloadUri(request.downloadUri);
      const what = 'the ExternalStore request';
      checkPathName(request.name, what, 'ApplicationTypeName');
      checkPathName(request.version, what, 'ApplicationTypeVersion');
      claimed = { name: request.name, version: request.version, cleanup: false };
    }
    const conflict = await this.types.claimProvision(claimed.name, claimed.version);
    if (!conflict) return claimed;
    if (request.kind === 'ExternalStore' && conflict.name !== claimed.name) {
      // The package itself may name the type otherwise: that mismatch is the real mistake.
      const signal = AbortSignal.any([this.stopping.signal, ...(timeout ? [timeout] : [])]);
      const source = await this.download(request.downloadUri, timeoutSeconds, signal);
      try {
        await checkDeclaredType(this.store, source, claimed);
      } finally {
        await this.store.blobs.deleteBlobs(source.blobs());
      }
    }
    throw conflictError(conflict, claimed);
  }

  /** Phase two, in the type's queue: download if needed, then register. */
  private async register(
    claimed: Claimed,
    request: ProvisionRequest,
    timeoutSeconds: number,
    signal: AbortSignal,
  ) {
    signal.throwIfAborted();
    const source =
      request.kind === 'ExternalStore'
        ? await this.download(request.downloadUri, timeoutSeconds, signal)
        : claimed.source!;
    await registerPackage(
      { store: this.store, types: this.types, log: this.log },
      claimed,
      source,
      signal,
    );
    // The version is registered whatever happens to the retention that follows.
    await this.retain(claimed.name).catch((error) => {
      this.log.error({ err: error, type: claimed.name }, 'unprovisioning old versions failed');
    });
  }

  private async download(uri: string, timeoutSeconds: number, signal: AbortSignal) {
    const timer = deadline(timeoutSeconds, 'the package download');
    try {
      return await downloadPackage(parseDownloadUri(uri), {
        blobs: this.store.blobs,
        workDir: this.settings.workDir,
        maxBytes: this.settings.maxDownloadBytes,
        signal: AbortSignal.any([signal, timer.signal]),
      });
    } finally {
      timer.clear();
    }
  }

  /**
   * `--keep-versions N`: the N versions that most recently finished registering stay; older
   * ones are unprovisioned. Order is by registration, not by version string.
   */
  private async retain(name: string) {
    const keep = this.settings.keepVersions;
    if (keep <= 0) return;
    const versions = (await this.types.list({ name, limit: Number.MAX_SAFE_INTEGER }))
      .filter((row) => row.status === 'Available')
      .sort((a, b) => b.sequence - a.sequence);
    for (const old of versions.slice(keep)) {
      const before = await this.types.beginUnprovision(name, old.version);
      if (before?.status !== 'Available') continue;
      await this.unregister(name, old.version);
      this.log.info({ type: name, version: old.version, keep }, 'old version unprovisioned');
    }
  }

  private async unregister(name: string, version: string) {
    const result = await this.types.unregister(name, version, toKey(typeFolder(name)));
    this.store.garbage.release(result.freedBlobs);
  }

  private describeFailure(error: unknown, claimed: Claimed): string {
    if (error instanceof FabricError) return `${error.code}: ${error.message}`;
    this.log.error(
      { err: error, type: claimed.name, version: claimed.version },
      'asynchronous provision failed',
    );
    return 'E_FAIL: provisioning failed unexpectedly; see the server log';
  }
}

function conflictError(existing: ApplicationTypeRecord, claimed: Claimed): FabricError {
  const what = `Application type '${claimed.name}' version '${claimed.version}'`;
  if (existing.name !== claimed.name) {
    return errors.imageBuilderValidation(
      `${what} differs only in letter case from the registered type '${existing.name}'; ` +
        'both would share one store folder',
    );
  }
  if (existing.status === 'Available')
    return errors.applicationTypeAlreadyExists(`${what} is already provisioned`);
  return errors.applicationTypeProvisionInProgress(`${what} is ${existing.status.toLowerCase()}`);
}

/** Waits for `work`, or rejects with the signal's reason as soon as it fires. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
