import type { BlobStore } from '../backends/blob-store.ts';
import type {
  ApplicationTypeCatalog,
  Registration,
  ServiceManifestRecord,
  UnitUse,
} from '../catalog/application-types.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { errors } from '../errors.ts';
import { joinPath, toKey } from '../store/store-path.ts';
import { blobChecksum } from './checksum.ts';
import {
  decodeManifest,
  MAX_MANIFEST_BYTES,
  parseApplicationManifest,
  parseServiceManifest,
  type ApplicationManifest,
  type ServiceManifestImport,
} from './manifest.ts';
import { planPackage, shareOrKeep, sharedUnit, type PlanContext } from './plan-packages.ts';
import { readPackageFile, type PackageFile, type PackageSource } from './package-source.ts';
import { registeredBy, registeredLabel } from './registered-units.ts';
import {
  applicationManifestPath,
  fileUnit,
  serviceLabel,
  serviceManifestPath,
  serviceManifestPaths,
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

/**
 * Validates the package against its manifests and what the type already has registered, and
 * decides what to write: every unit the version uses, with no files for units another version
 * already holds intact with the same checksum.
 */
export async function planRegistration(
  store: { blobs: BlobStore; catalog: Catalog },
  types: ApplicationTypeCatalog,
  source: PackageSource,
  application: ReadApplicationManifest,
  signal?: AbortSignal,
): Promise<RegistrationPlan> {
  const { name, version } = application.manifest;
  const registered = await types.registeredUnits(name);
  const context: PlanContext = { ...store, types, source, typeName: name, registered, signal };

  const file = application.file;
  const units: PlannedUnit[] = [
    fileUnit(
      `ApplicationManifest version '${version}'`,
      applicationManifestPath(name, version),
      file,
      await source.read(file, (blob) => blobChecksum(store.blobs, blob)),
    ),
  ];
  const serviceManifests: ServiceManifestRecord[] = [];
  for (const entry of application.manifest.imports) {
    signal?.throwIfAborted();
    serviceManifests.push(await planService(context, entry, units));
  }
  await checkStoreNames(context, units);
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
  context: PlanContext,
  entry: ServiceManifestImport,
  units: PlannedUnit[],
): Promise<ServiceManifestRecord> {
  const { source, typeName, blobs } = context;
  const { serviceManifestName: name, serviceManifestVersion: version } = entry;
  const relative = joinPath(name, SERVICE_MANIFEST);
  const label = serviceLabel(name, version);
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
    const checksum = await source.read(file, (blob) => blobChecksum(blobs, blob));
    const planned = fileUnit(label, path, file, checksum, `${path}.checksum`);
    units.push(await shareOrKeep(context, planned));
    record = { name, version, manifest: text, serviceTypes: manifest.serviceTypes };
  } else {
    // A version that only changes other services may leave this one out of the package.
    const stored = await registeredServiceManifest(context, name, version, toKey(path));
    if (!stored) {
      throw errors.imageBuilderValidation(
        `'${source.describe(relative)}' is missing; ${APPLICATION_MANIFEST} imports ${label}`,
      );
    }
    units.push(await sharedUnit(context, label, path, serviceManifestPaths(path)));
    record = stored;
  }

  const manifest = parseServiceManifest(record.manifest, source.describe(relative));
  for (const pkg of manifest.packages) {
    context.signal?.throwIfAborted();
    units.push(await planPackage(context, name, label, pkg));
  }
  return record;
}

/**
 * `<Svc>.<Pkg>.<ver>` names can coincide for different packages (`Svc.A` + `Code` and `Svc` +
 * `A.Code`), and with manifest names. Two units of this version, or one of this version and one
 * another version registered, may not claim the same store file.
 */
async function checkStoreNames(context: PlanContext, units: PlannedUnit[]) {
  const owners = new Map<string, PlannedUnit>();
  for (const planned of units) {
    for (const path of planned.unit.paths) {
      const other = owners.get(path);
      if (other && other !== planned) throw collision(planned, other.label, path);
      owners.set(path, planned);
    }
  }
  const keys = new Set(units.map((planned) => planned.unit.key));
  for (const [key, use] of context.registered) {
    if (keys.has(key)) continue;
    const path = use.paths.find((p) => owners.has(p));
    if (path) {
      const label = await registeredLabel(context.types, context.typeName, key, use);
      throw collision(owners.get(path)!, `${label} (${registeredBy(use)})`, path);
    }
  }
}

/** `path` is one of the unit's store keys: its name, or that name with `.zip`/`.checksum`. */
function collision(planned: PlannedUnit, otherLabel: string, path: string) {
  const shown = planned.storePath + path.slice(planned.unit.key.length);
  return errors.imageBuilderValidation(
    `${planned.label} and ${otherLabel} both map to the store name '${shown}'; ` +
      'rename one of them or change its version',
  );
}

async function registeredServiceManifest(
  context: PlanContext,
  name: string,
  version: string,
  key: string,
): Promise<ServiceManifestRecord | undefined> {
  const use: UnitUse | undefined = context.registered.get(key);
  if (!use) return undefined;
  const holder = await context.types.get(context.typeName, use.versions[0]);
  return holder?.serviceManifests.find((m) => m.name === name && m.version === version);
}
