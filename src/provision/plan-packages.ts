import type { BlobStore } from '../backends/blob-store.ts';
import type { ApplicationTypeCatalog, UnitUse } from '../catalog/application-types.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { errors } from '../errors.ts';
import { joinPath, toKey } from '../store/store-path.ts';
import { blobChecksum, folderChecksum, isMarker } from './checksum.ts';
import { mapConcurrent } from '../store/map-concurrent.ts';
import type { PackageReference } from './manifest.ts';
import type { PackageFile, PackageSource } from './package-source.ts';
import { damagedFile, registeredBy, registeredLabel } from './registered-units.ts';
import {
  folderUnit,
  packageLabel,
  packagePath,
  packagePaths,
  zipUnit,
  type PlannedUnit,
} from './store-layout.ts';
import { zipChecksum } from './zip-check.ts';

export interface PlanContext {
  blobs: BlobStore;
  catalog: Catalog;
  types: ApplicationTypeCatalog;
  source: PackageSource;
  typeName: string;
  registered: Map<string, UnitUse>;
  signal?: AbortSignal;
}

/** A Code/Config/Data package: a folder or a `.zip` in the package, or registered already. */
export async function planPackage(
  context: PlanContext,
  service: string,
  serviceLabel: string,
  pkg: PackageReference,
): Promise<PlannedUnit> {
  const { source, blobs } = context;
  const label = packageLabel(pkg, serviceLabel);
  const storePath = packagePath(context.typeName, service, pkg.name, pkg.version);
  const folder = joinPath(service, pkg.name);
  const inFolder = source.filesUnder(folder);
  const zip = source.file(`${folder}.zip`);
  if (inFolder.length > 0 && zip) {
    throw errors.imageBuilderValidation(
      `${label} is ambiguous: both the folder '${source.describe(folder)}' and the archive ` +
        `'${source.describe(zip.relativePath)}' exist; keep only one of them`,
    );
  }
  if (inFolder.length > 0) {
    const depth = folder.split('\\').length;
    const files = inFolder.map((f) => ({
      inside: f.relativePath.split('\\').slice(depth).join('\\'),
      source: f,
    }));
    const content = files.filter((f) => !isMarker(f.inside));
    const sums = await mapConcurrent(
      content,
      8,
      (f) => source.read(f.source, (blob) => blobChecksum(blobs, blob)),
      context.signal,
    );
    const checksum = folderChecksum(
      content.map((f, i) => ({ inside: f.inside, checksum: sums[i] })),
    );
    return shareOrKeep(context, folderUnit(label, storePath, files, checksum));
  }
  if (zip) {
    const checksum = await checkedZip(source, zip, blobs, label);
    return shareOrKeep(context, zipUnit(label, storePath, zip, checksum));
  }
  if (context.registered.has(toKey(storePath))) {
    return sharedUnit(context, label, storePath, packagePaths(storePath));
  }
  throw errors.imageBuilderValidation(
    `${label} is missing: neither the folder '${source.describe(folder)}' nor the ` +
      `archive '${source.describe(`${folder}.zip`)}' exists`,
  );
}

/** A `.zip` package must be a zip archive whose central directory reads cleanly. */
async function checkedZip(
  source: PackageSource,
  zip: PackageFile,
  blobs: BlobStore,
  label: string,
) {
  return source.read(zip, async (blob) => {
    try {
      return await zipChecksum(blobs, blob);
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') throw error;
      throw errors.imageBuilderValidation(
        `'${source.describe(zip.relativePath)}' (${label}) is not a readable zip archive: ` +
          (error as Error).message,
      );
    }
  });
}

/**
 * A unit already registered with the same checksum is shared when its files are intact, and
 * written again from this package when they were deleted or changed. A different checksum is
 * refused: a changed package needs a new version, and another package may not take its name.
 */
export async function shareOrKeep(context: PlanContext, planned: PlannedUnit) {
  const use = context.registered.get(planned.unit.key);
  if (!use) return planned;
  if (use.checksum !== planned.unit.checksum) {
    const holder = await registeredLabel(context.types, context.typeName, planned.unit.key, use);
    const versions = use.versions.map((v) => `'${v}'`).join(', ');
    if (holder.toLowerCase() !== planned.label.toLowerCase()) {
      throw errors.imageBuilderValidation(
        `${planned.label} maps to the store name '${planned.storePath}', which ${holder} ` +
          `(${registeredBy(use)}) already holds with other content; rename the package or ` +
          'change its version',
      );
    }
    throw errors.imageBuilderValidation(
      `${planned.label} is already registered for application type '${context.typeName}' ` +
        `(version ${versions}) with different content; ` +
        `a changed package or manifest needs a new version`,
    );
  }
  const damaged = await findDamage(context, planned.unit.key, use, planned.storePath);
  return damaged ? { ...planned, replace: true } : { ...planned, files: [] };
}

/** A registered unit this package leaves out; its files must still be intact. */
export async function sharedUnit(
  context: PlanContext,
  label: string,
  storePath: string,
  paths: string[],
): Promise<PlannedUnit> {
  const key = toKey(storePath);
  const use = context.registered.get(key)!;
  const damaged = await findDamage(context, key, use, storePath);
  if (damaged) {
    throw errors.imageBuilderValidation(
      `${label} is not in the package, and the registered '${damaged}' that this version would ` +
        'share was deleted or changed in the image store; provision a package that contains ' +
        'it to register it again',
    );
  }
  return { label, storePath, unit: { key, checksum: use.checksum, paths }, files: [] };
}

function findDamage(context: PlanContext, key: string, use: UnitUse, storePath: string) {
  return damagedFile(context.catalog, context.blobs, key, use, storePath, context.signal);
}
