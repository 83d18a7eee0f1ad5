import { Readable } from 'node:stream';
import type { BlobStore } from '../backends/blob-store.ts';
import type { RegisteredUnit } from '../catalog/application-types.ts';
import type { NewFile } from '../catalog/catalog.ts';
import { joinPath, MARKER_FILE, toKey } from '../store/store-path.ts';
import { mapConcurrent } from '../store/map-concurrent.ts';
import type { PackageReference } from './manifest.ts';
import type { PackageFile, PackageSource } from './package-source.ts';

/**
 * The store layout the native provisioning writes under `Store\<AppTypeName>\`:
 * `ApplicationManifest.<ver>.xml`, `<Svc>.Manifest.<ver>.xml` (+ `.checksum`), and
 * `<Svc>.<Pkg>.<ver>` as a folder or `.zip` (+ `<Svc>.<Pkg>.<ver>.checksum`).
 */
export const STORE_FOLDER = 'Store';

export const typeFolder = (typeName: string) => joinPath(STORE_FOLDER, typeName);

export const applicationManifestPath = (typeName: string, version: string) =>
  joinPath(typeFolder(typeName), `ApplicationManifest.${version}.xml`);

export const serviceManifestPath = (typeName: string, service: string, version: string) =>
  joinPath(typeFolder(typeName), `${service}.Manifest.${version}.xml`);

/** The package's name in the store, without `.zip`; also its checksum file's stem. */
export const packagePath = (typeName: string, service: string, pkg: string, version: string) =>
  joinPath(typeFolder(typeName), `${service}.${pkg}.${version}`);

/** A file the registration writes: copied from the package, or generated (checksum, marker). */
export interface PlannedFile {
  path: string;
  source?: PackageFile;
  content?: Buffer;
}

export interface PlannedUnit {
  unit: RegisteredUnit;
  /** What the messages call it, e.g. `CodePackage 'Code' version '1.0' of 'Web'`. */
  label: string;
  /** The store name of its manifest or package (for a package without `.zip`). */
  storePath: string;
  /** Empty when another registered version already holds the unit. */
  files: PlannedFile[];
  /** The registered files are damaged: remove the unit's paths before writing `files`. */
  replace?: boolean;
}

export const serviceLabel = (name: string, version: string) =>
  `ServiceManifest '${name}' version '${version}'`;

export const packageLabel = (pkg: PackageReference, service: string) =>
  `${pkg.kind}Package '${pkg.name}' version '${pkg.version}' of ${service}`;

/** A unit made of one package file (manifest or `.zip`) and, optionally, its checksum file. */
export function fileUnit(
  label: string,
  path: string,
  source: PackageFile,
  checksum: string,
  checksumPath?: string,
): PlannedUnit {
  const files: PlannedFile[] = [{ path, source }];
  const paths = [toKey(path)];
  if (checksumPath) {
    files.push({ path: checksumPath, content: Buffer.from(checksum) });
    paths.push(toKey(checksumPath));
  }
  return { label, storePath: path, unit: { key: toKey(path), checksum, paths }, files };
}

/**
 * A package folder: every file below it, a `_.dir` marker in every folder that lacks one (the
 * store downloads only folders marked complete), and the checksum file next to it.
 */
export function folderUnit(
  label: string,
  path: string,
  files: { inside: string; source: PackageFile }[],
  checksum: string,
): PlannedUnit {
  const planned: PlannedFile[] = files.map((f) => ({
    path: joinPath(path, f.inside),
    source: f.source,
  }));
  const present = new Set(planned.map((f) => toKey(f.path)));
  const folders = new Set<string>(['']);
  for (const { inside } of files) {
    const parts = inside.split('\\');
    for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('\\'));
  }
  for (const folder of folders) {
    const marker = joinPath(folder === '' ? path : joinPath(path, folder), MARKER_FILE);
    if (!present.has(toKey(marker))) planned.push({ path: marker, content: Buffer.alloc(0) });
  }
  planned.push({ path: `${path}.checksum`, content: Buffer.from(checksum) });
  const unit = { key: toKey(path), checksum, paths: packagePaths(path) };
  return { label, storePath: path, unit, files: planned };
}

/** Everything a package may occupy in the store: folder, archive and checksum file. */
export function packagePaths(path: string): string[] {
  const key = toKey(path);
  return [key, `${key}.zip`, `${key}.checksum`];
}

export function serviceManifestPaths(path: string): string[] {
  return [toKey(path), toKey(`${path}.checksum`)];
}

/** The package's `.zip` form shares the identity and checksum file of the folder form. */
export function zipUnit(label: string, path: string, source: PackageFile, checksum: string) {
  const planned = fileUnit(label, `${path}.zip`, source, checksum, `${path}.checksum`);
  const unit = { key: toKey(path), checksum, paths: packagePaths(path) };
  return { ...planned, storePath: path, unit };
}

export interface WrittenFiles {
  puts: NewFile[];
  /** Blobs created here; they must be deleted if the registration does not commit. */
  created: string[];
}

/**
 * Gives every planned file a blob of its own: a copy of the package's blob, the package's blob
 * itself when the provision owns it (a downloaded `.sfpkg`), or a new blob for generated content.
 */
export async function writeUnitFiles(
  blobs: BlobStore,
  units: PlannedUnit[],
  source: PackageSource,
  signal?: AbortSignal,
): Promise<WrittenFiles> {
  const planned = units.flatMap((unit) => unit.files);
  const created: string[] = [];
  const write = async (file: PlannedFile): Promise<NewFile> => {
    if (file.source) {
      if (source.ownsBlobs)
        return { path: file.path, size: file.source.size, blob: file.source.blob };
      const blob = await source.read(file.source, (blob) => blobs.copyBlob(blob));
      created.push(blob);
      return { path: file.path, size: file.source.size, blob };
    }
    const content = file.content ?? Buffer.alloc(0);
    const written = await blobs.writeBlob(Readable.from([content]), { signal });
    created.push(written.blob);
    return { path: file.path, size: written.size, blob: written.blob };
  };
  try {
    return { puts: await mapConcurrent(planned, 8, write, signal), created };
  } catch (error) {
    await blobs.deleteBlobs(created);
    throw error;
  }
}
