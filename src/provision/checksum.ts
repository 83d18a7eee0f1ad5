import { createHash } from 'node:crypto';
import type { BlobStore } from '../backends/blob-store.ts';
import { fileName, MARKER_FILE, toKey } from '../store/store-path.ts';

/**
 * Content checksums (SHA-256, lower-case hex) of registered units. A folder's checksum covers the
 * relative path and content of every file in it except `_.dir` markers, so the same package
 * uploaded by sfctl (with markers) or unpacked from an `.sfpkg` (without) has one checksum.
 */

export async function blobChecksum(blobs: BlobStore, blob: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of blobs.readBlob(blob)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function isMarker(relativePath: string): boolean {
  return toKey(fileName(relativePath)) === MARKER_FILE;
}

/** Checksum of a folder from the checksums of its files, keyed by path inside the folder. */
export function folderChecksum(files: { inside: string; checksum: string }[]): string {
  const hash = createHash('sha256');
  const keyed = files.map((file) => ({ key: toKey(file.inside), checksum: file.checksum }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const file of keyed) hash.update(`${file.key}\0${file.checksum}\n`);
  return hash.digest('hex');
}
