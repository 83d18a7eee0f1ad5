import type { Logger } from 'pino';
import type { ApplicationTypeCatalog } from '../catalog/application-types.ts';
import type { FileMutation } from '../catalog/catalog.ts';
import { errors } from '../errors.ts';
import type { ImageStore } from '../store/image-store.ts';
import type { StorePath } from '../store/store-path.ts';
import { checkBuildPathUnchanged } from './build-path.ts';
import type { PackageSource } from './package-source.ts';
import {
  APPLICATION_MANIFEST,
  planRegistration,
  readApplicationManifest,
} from './plan-registration.ts';
import { writeUnitFiles } from './store-layout.ts';

/** What phase one of a provision found, for phase two to register. */
export interface Claimed {
  name: string;
  version: string;
  /** The uploaded package; undefined until an ExternalStore package is downloaded. */
  source?: PackageSource;
  buildPath?: StorePath;
  cleanup: boolean;
}

export interface RegistrationDeps {
  store: ImageStore;
  types: ApplicationTypeCatalog;
  log: Logger;
}

/** Reads the application manifest, which must declare the type and version requested. */
export async function checkDeclaredType(
  store: ImageStore,
  source: PackageSource,
  claimed: { name: string; version: string },
) {
  const application = await readApplicationManifest(store.blobs, source);
  const { name, version } = application.manifest;
  if (name !== claimed.name || version !== claimed.version) {
    throw errors.imageBuilderValidation(
      `'${source.describe(APPLICATION_MANIFEST)}' declares application type '${name}' ` +
        `version '${version}', ` +
        `but '${claimed.name}' version '${claimed.version}' was requested`,
    );
  }
  return application;
}

/**
 * Phase two of a provision: validate every package against the manifests and what is already
 * registered, write the blobs, and register in one transaction. On failure every blob this
 * provision made is deleted; nothing is registered.
 */
export async function registerPackage(
  { store, types, log }: RegistrationDeps,
  claimed: Claimed,
  source: PackageSource,
  signal: AbortSignal,
): Promise<void> {
  const created: string[] = [];
  try {
    const application = await checkDeclaredType(store, source, claimed);
    const { name, version } = application.manifest;
    const plan = await planRegistration(store, types, source, application, signal);
    const written = await writeUnitFiles(store.blobs, plan.units, source, signal);
    created.push(...written.created);
    const mutation: Required<FileMutation> = { removeFiles: [], removeTrees: [], puts: [] };
    // Registered files that were deleted or changed are written again from this package.
    for (const planned of plan.units.filter((p) => p.replace)) {
      mutation.removeFiles.push(...planned.unit.paths);
      mutation.removeTrees.push(...planned.unit.paths);
      log.warn({ type: name, unit: planned.storePath }, 'damaged registered files replaced');
    }
    mutation.puts = written.puts;
    if (claimed.buildPath) {
      await checkBuildPathUnchanged(store.catalog, claimed.buildPath, source);
      if (claimed.cleanup) {
        mutation.removeFiles.push(claimed.buildPath.key);
        mutation.removeTrees.push(claimed.buildPath.key);
      }
    }
    signal.throwIfAborted();
    const result = await types.register(plan.registration, mutation);
    store.garbage.release(result.freedBlobs);
    if (source.ownsBlobs) {
      const kept = new Set(written.puts.map((put) => put.blob));
      await store.blobs.deleteBlobs(source.blobs().filter((blob) => !kept.has(blob)));
    }
    log.info({ type: name, version, files: written.puts.length }, 'application type provisioned');
  } catch (error) {
    await store.blobs.deleteBlobs(created);
    if (source.ownsBlobs) await store.blobs.deleteBlobs(source.blobs());
    throw error;
  }
}
