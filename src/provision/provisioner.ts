import { mkdir, rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type {
  ApplicationTypeCatalog,
  ApplicationTypeRecord,
} from '../catalog/application-types.ts';
import type { FileMutation } from '../catalog/catalog.ts';
import { errors, FabricError } from '../errors.ts';
import { deadline } from '../http/request-options.ts';
import type { ImageStore } from '../store/image-store.ts';
import { toKey } from '../store/store-path.ts';
import { openBuildPath } from './build-path.ts';
import { KeyedQueue } from './concurrency.ts';
import { downloadPackage, parseDownloadUri } from './external-package.ts';
import { checkPathName } from './manifest.ts';
import type { PackageSource } from './package-source.ts';
import {
  APPLICATION_MANIFEST,
  planRegistration,
  readApplicationManifest,
} from './plan-registration.ts';
import { typeFolder, writeUnitFiles } from './store-layout.ts';

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

/** What phase one found, for phase two to register. */
interface Claimed {
  name: string;
  version: string;
  source?: PackageSource;
  buildKey?: string;
  cleanup: boolean;
  request: ProvisionRequest;
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
    const claimed = await this.claim(request);
    const run = () =>
      this.queue.run(toKey(claimed.name), () => this.register(claimed, timeoutSeconds));
    if (!request.async) {
      try {
        await run();
      } catch (error) {
        await this.types.abandonProvision(claimed.name, claimed.version);
        throw error;
      }
      return;
    }
    this.detach(
      run().catch(async (error) => {
        const details = this.describeFailure(error, claimed);
        await this.types.failProvision(claimed.name, claimed.version, details);
      }),
    );
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
  private async claim(request: ProvisionRequest): Promise<Claimed> {
    let claimed: Claimed;
    if (request.kind === 'ImageStorePath') {
      const { buildPath, source } = await openBuildPath(this.store.catalog, request.buildPath);
      const { manifest } = await readApplicationManifest(this.store.blobs, source);
      const policy = request.cleanupPolicy;
      const cleanup =
        policy === 'Automatic' ||
        ((policy === 'Default' || policy === 'Invalid') && this.settings.cleanupOnProvisionSuccess);
      claimed = { ...manifest, source, buildKey: buildPath.key, cleanup, request };
    } else {
      parseDownloadUri(request.downloadUri);
      const what = 'the ExternalStore request';
      checkPathName(request.name, what, 'ApplicationTypeName');
      checkPathName(request.version, what, 'ApplicationTypeVersion');
      claimed = { name: request.name, version: request.version, cleanup: false, request };
    }
    const conflict = await this.types.claimProvision(claimed.name, claimed.version);
    if (conflict) throw conflictError(conflict, claimed);
    return claimed;
  }

  /** Phase two: validate everything, write the blobs, register in one transaction. */
  private async register(claimed: Claimed, timeoutSeconds: number) {
    const timer = claimed.request.async ? undefined : deadline(timeoutSeconds, 'Provision');
    const signals = [this.stopping.signal, ...(timer ? [timer.signal] : [])];
    const signal = AbortSignal.any(signals);
    let source = claimed.source;
    const created: string[] = [];
    try {
      if (claimed.request.kind === 'ExternalStore') {
        source = await this.download(claimed.request.downloadUri, timeoutSeconds, signal);
      }
      const application = await readApplicationManifest(this.store.blobs, source!);
      const { name, version } = application.manifest;
      if (name !== claimed.name || version !== claimed.version) {
        throw errors.imageBuilderValidation(
          `'${source!.describe(APPLICATION_MANIFEST)}' declares application type '${name}' ` +
            `version '${version}', ` +
            `but '${claimed.name}' version '${claimed.version}' was requested`,
        );
      }
      const plan = await planRegistration(
        this.store.blobs,
        this.types,
        source!,
        application,
        signal,
      );
      const written = await writeUnitFiles(this.store.blobs, plan.units, source!.ownsBlobs, signal);
      created.push(...written.created);
      const mutation: FileMutation = { puts: written.puts };
      if (claimed.cleanup && claimed.buildKey) {
        mutation.removeFiles = [claimed.buildKey];
        mutation.removeTrees = [claimed.buildKey];
      }
      signal.throwIfAborted();
      const result = await this.types.register(plan.registration, mutation);
      this.store.garbage.release(result.freedBlobs);
      if (source!.ownsBlobs) {
        const kept = new Set(written.puts.map((put) => put.blob));
        await this.store.blobs.deleteBlobs(source!.blobs().filter((blob) => !kept.has(blob)));
      }
      this.log.info(
        { type: name, version, files: written.puts.length },
        'application type provisioned',
      );
    } catch (error) {
      await this.store.blobs.deleteBlobs(created);
      if (source?.ownsBlobs) await this.store.blobs.deleteBlobs(source.blobs());
      throw error;
    } finally {
      timer?.clear();
    }
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
