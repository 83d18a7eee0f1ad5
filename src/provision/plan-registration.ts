import type { BlobStore } from '../backends/blob-store.ts';
import type {
  ApplicationTypeCatalog,
  Registration,
  ServiceManifestRecord,
  UnitUse,
} from '../catalog/application-types.ts';
import { errors } from '../errors.ts';
import { joinPath, toKey } from '../store/store-path.ts';
import { blobChecksum, folderChecksum, isMarker } from './checksum.ts';
import { mapConcurrent } from './concurrency.ts';
import {
  decodeManifest,
  MAX_MANIFEST_BYTES,
  parseApplicationManifest,
  parseServiceManifest,
  type ApplicationManifest,
  type ServiceManifestImport,
} from './manifest.ts';
import { readPackageFile, type PackageFile, type PackageSource } from './package-source.ts';
import {
  applicationManifestPath,
  fileUnit,
  folderUnit,
  packagePath,
  packagePaths,
  serviceManifestPath,
  serviceManifestPaths,
  zipUnit,
  type PlannedUnit,
} from './store-layout.ts';

export const APPLICATION_MANIFEST = 'ApplicationManifest.xml';
const SERVICE_MANIFEST = 'ServiceManifest.xml';

export interface ReadApplicationManifest {
  manifest: ApplicationManifest;
  text: string;
  file: PackageFile;
}

export async function readApplicationManifest(
  blobs: BlobStore,
  source: PackageSource,
): Promise<ReadApplicationManifest> {
  const file = source.file(APPLICATION_MANIFEST);
  if (!file) {
    throw errors.imageBuilderValidation(
      `'${source.describe(APPLICATION_MANIFEST)}' is missing; an application package has its ` +
        `${APPLICATION_MANIFEST} at its root`,
    );
  }
  const text = decodeManifest(await readPackageFile(blobs, source, file, MAX_MANIFEST_BYTES));
  return {
    manifest: parseApplicationManifest(text, source.describe(file.relativePath)),
    text,
    file,
  };
}

export interface RegistrationPlan {
  registration: Registration;
  units: PlannedUnit[];
}

interface Context {
  blobs: BlobStore;
  types: ApplicationTypeCatalog;
  source: PackageSource;
  typeName: string;
  registered: Map<string, UnitUse>;
  signal?: AbortSignal;
}

/**
 * Validates the package against its manifests and what the type already has registered, and
 * decides what to write: every unit the version uses, with no files for units another version
 * already holds with the same checksum.
 */
export async function planRegistration(
  blobs: BlobStore,
  types: ApplicationTypeCatalog,
  source: PackageSource,
  application: ReadApplicationManifest,
  signal?: AbortSignal,
): Promise<RegistrationPlan> {
  const { name, version } = application.manifest;
  const registered = await types.registeredUnits(name);
  const context: Context = { blobs, types, source, typeName: name, registered, signal };

  const units: PlannedUnit[] = [
    fileUnit(
      `ApplicationManifest version '${version}'`,
      applicationManifestPath(name, version),
      application.file,
      await blobChecksum(blobs, application.file.blob),
    ),
  ];
  const serviceManifests: ServiceManifestRecord[] = [];
  for (const entry of application.manifest.imports) {
    signal?.throwIfAborted();
    const service = await planService(context, entry, units);
    serviceManifests.push(service);
  }
  return {
    registration: {
      name,
      version,
      defaultParameters: application.manifest.parameters,
      applicationManifest: application.text,
      serviceManifests,
      units: units.map((planned) => planned.unit),
    },
    units,
  };
}

async function planService(
  context: Context,
  entry: ServiceManifestImport,
  units: PlannedUnit[],
): Promise<ServiceManifestRecord> {
  const { source, typeName, blobs } = context;
  const { serviceManifestName: name, serviceManifestVersion: version } = entry;
  const relative = joinPath(name, SERVICE_MANIFEST);
  const label = `ServiceManifest '${name}' version '${version}'`;
  const path = serviceManifestPath(typeName, name, version);
  const file = source.file(relative);

  let record: ServiceManifestRecord;
  if (file) {
    const described = source.describe(file.relativePath);
    const text = decodeManifest(await readPackageFile(blobs, source, file, MAX_MANIFEST_BYTES));
    const manifest = parseServiceManifest(text, described);
    if (manifest.name !== name || manifest.version !== version) {
      throw errors.imageBuilderValidation(
        `'${described}' declares ServiceManifest '${manifest.name}' ` +
          `version '${manifest.version}', ` +
          `but ${APPLICATION_MANIFEST} imports '${name}' version '${version}'`,
      );
    }
    const checksum = await blobChecksum(blobs, file.blob);
    units.push(shareOrKeep(context, fileUnit(label, path, file, checksum, `${path}.checksum`)));
    record = { name, version, manifest: text, serviceTypes: manifest.serviceTypes };
  } else {
    // A version that only changes other services may leave this one out of the package.
    const stored = await registeredServiceManifest(context, name, version, toKey(path));
    if (!stored) {
      throw errors.imageBuilderValidation(
        `'${source.describe(relative)}' is missing; ${APPLICATION_MANIFEST} imports ${label}`,
      );
    }
    units.push(sharedUnit(context, label, toKey(path), serviceManifestPaths(path)));
    record = stored;
  }

  const manifest = parseServiceManifest(record.manifest, source.describe(relative));
  for (const pkg of manifest.packages) {
    context.signal?.throwIfAborted();
    const pkgLabel = `${pkg.kind}Package '${pkg.name}' version '${pkg.version}' of ${label}`;
    const storePath = packagePath(typeName, name, pkg.name, pkg.version);
    const folder = joinPath(name, pkg.name);
    const inFolder = source.filesUnder(folder);
    const zip = source.file(`${folder}.zip`);
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
        (f) => blobChecksum(blobs, f.source.blob),
        context.signal,
      );
      const checksum = folderChecksum(
        content.map((f, i) => ({ inside: f.inside, checksum: sums[i] })),
      );
      units.push(shareOrKeep(context, folderUnit(pkgLabel, storePath, files, checksum)));
    } else if (zip) {
      const checksum = await blobChecksum(blobs, zip.blob);
      units.push(shareOrKeep(context, zipUnit(pkgLabel, storePath, zip, checksum)));
    } else if (context.registered.has(toKey(storePath))) {
      units.push(sharedUnit(context, pkgLabel, toKey(storePath), packagePaths(storePath)));
    } else {
      throw errors.imageBuilderValidation(
        `${pkgLabel} is missing: neither the folder '${source.describe(folder)}' nor the ` +
          `archive '${source.describe(`${folder}.zip`)}' exists`,
      );
    }
  }
  return record;
}

/** A unit already registered with the same checksum is shared; a different checksum is refused. */
function shareOrKeep(context: Context, planned: PlannedUnit): PlannedUnit {
  const use = context.registered.get(planned.unit.key);
  if (!use) return planned;
  if (use.checksum !== planned.unit.checksum) {
    throw errors.imageBuilderValidation(
      `${planned.label} is already registered for application type '${context.typeName}' ` +
        `(version ${use.versions.map((v) => `'${v}'`).join(', ')}) with different content; ` +
        `a changed package or manifest needs a new version`,
    );
  }
  return { ...planned, files: [] };
}

function sharedUnit(context: Context, label: string, key: string, paths: string[]): PlannedUnit {
  const use = context.registered.get(key)!;
  return { label, unit: { key, checksum: use.checksum, paths }, files: [] };
}

async function registeredServiceManifest(
  context: Context,
  name: string,
  version: string,
  key: string,
): Promise<ServiceManifestRecord | undefined> {
  const use = context.registered.get(key);
  if (!use) return undefined;
  const holder = await context.types.get(context.typeName, use.versions[0]);
  return holder?.serviceManifests.find((m) => m.name === name && m.version === version);
}
