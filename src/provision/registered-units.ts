import type { BlobStore } from '../backends/blob-store.ts';
import type { ApplicationTypeCatalog, UnitUse } from '../catalog/application-types.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { MARKER_FILE, SEPARATOR, toKey } from '../store/store-path.ts';
import { blobChecksum, folderChecksum, isMarker } from './checksum.ts';
import { mapConcurrent } from '../store/map-concurrent.ts';
import { parseServiceManifest } from './manifest.ts';
import {
  applicationManifestPath,
  packageLabel,
  packagePath,
  serviceLabel,
  serviceManifestPath,
} from './store-layout.ts';

/**
 * What registered units are, and whether their files are still intact. Files under `Store\` can
 * be deleted or overwritten through the image store API; a version that shares a unit must not
 * take such a unit for granted.
 */

/** How messages name the versions that registered a unit. */
export const registeredBy = (use: UnitUse) =>
  `registered by version ${use.versions.map((v) => `'${v}'`).join(', ')}`;

/** How messages name a registered unit: the manifest or package it holds. */
export async function registeredLabel(
  types: ApplicationTypeCatalog,
  typeName: string,
  key: string,
  use: UnitUse,
): Promise<string> {
  const version = use.versions[0];
  if (key === toKey(applicationManifestPath(typeName, version))) {
    return `ApplicationManifest version '${version}'`;
  }
  const holder = await types.get(typeName, version);
  for (const manifest of holder?.serviceManifests ?? []) {
    const service = serviceLabel(manifest.name, manifest.version);
    if (key === toKey(serviceManifestPath(typeName, manifest.name, manifest.version))) {
      return service;
    }
    for (const pkg of parseServiceManifest(manifest.manifest, service).packages) {
      if (key === toKey(packagePath(typeName, manifest.name, pkg.name, pkg.version))) {
        return packageLabel(pkg, service);
      }
    }
  }
  return `the files '${key}'`;
}

/**
 * The first file of a registered unit that is missing or no longer has the registered content,
 * or undefined when the unit is intact. `storePath` is the unit's store name, for the message.
 */
export async function damagedFile(
  catalog: Catalog,
  blobs: BlobStore,
  key: string,
  use: UnitUse,
  storePath: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const checksumFile = use.paths.find((path) => path === `${key}.checksum`);
  if (checksumFile) {
    const file = await catalog.getFile(checksumFile);
    const text = file && (await readSmall(blobs, file.blob));
    if (text !== use.checksum) return `${storePath}.checksum`;
  }
  if (!use.paths.includes(`${key}.zip`)) {
    const file = await catalog.getFile(key);
    return file && (await safeChecksum(blobs, file.blob)) === use.checksum ? undefined : storePath;
  }
  // A package: a folder (with its `_.dir` marker) or a `.zip`.
  if (await catalog.getFolder(key)) {
    const files = await catalog.listTree(key);
    if (!files.some((file) => file.key === key + SEPARATOR + MARKER_FILE)) {
      return storePath + SEPARATOR + MARKER_FILE;
    }
    const depth = key.split(SEPARATOR).length;
    const content = files
      .map((file) => ({ inside: file.path.split(SEPARATOR).slice(depth).join(SEPARATOR), file }))
      .filter((f) => !isMarker(f.inside));
    const sums = await mapConcurrent(content, 8, (f) => safeChecksum(blobs, f.file.blob), signal);
    const lost = sums.indexOf(undefined);
    if (lost >= 0) return content[lost].file.path;
    const checksum = folderChecksum(
      content.map((f, i) => ({ inside: f.inside, checksum: sums[i]! })),
    );
    return checksum === use.checksum ? undefined : storePath;
  }
  const zip = await catalog.getFile(`${key}.zip`);
  if (zip && (await safeChecksum(blobs, zip.blob)) === use.checksum) return undefined;
  return `${storePath}.zip`;
}

/** The checksum of a blob, or undefined when its bytes are gone. */
async function safeChecksum(blobs: BlobStore, blob: string): Promise<string | undefined> {
  try {
    return await blobChecksum(blobs, blob);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** A checksum file's text; anything longer than a checksum is not one. */
async function readSmall(blobs: BlobStore, blob: string): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of blobs.readBlob(blob) as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > 256) return undefined;
      chunks.push(chunk);
    }
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
  return Buffer.concat(chunks).toString('utf8');
}
