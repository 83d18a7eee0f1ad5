import type { Usage, UsageCategory } from '../catalog/catalog.ts';
import { checkStaging, type StagingCheck, stagingClean } from './fsck-staging.ts';
import type { ImageStore } from './image-store.ts';

export interface FsckReport {
  /** Files of uploads that never finished (a crash mid-upload). */
  temporaryFiles: number;
  /** Blobs that deletes and overwrites released but that are still on disk. */
  unreleasedGarbage: number;
  /** Files in the blob area that are not blobs. */
  strayFiles: string[];
  counters: Record<UsageCategory, Usage>;
  recounted: Record<UsageCategory, Usage>;
  foldersOutOfStep: number;
  /** Catalogued files whose bytes are gone or have the wrong length. */
  missingBlobs: string[];
  wrongSizeBlobs: string[];
  /** Blobs on disk that no catalogued file references. */
  orphanBlobs: number;
  /** Upload sessions against the staging files on disk. */
  staging: StagingCheck;
  repaired: boolean;
}

export function isClean(report: FsckReport): boolean {
  return (
    sameUsage(report.counters, report.recounted) &&
    report.foldersOutOfStep === 0 &&
    report.missingBlobs.length === 0 &&
    report.wrongSizeBlobs.length === 0 &&
    report.orphanBlobs === 0 &&
    report.temporaryFiles === 0 &&
    report.unreleasedGarbage === 0 &&
    report.strayFiles.length === 0 &&
    stagingClean(report.staging)
  );
}

function sameUsage(a: Record<UsageCategory, Usage>, b: Record<UsageCategory, Usage>) {
  return (Object.keys(a) as UsageCategory[]).every(
    (c) => a[c].usedSpace === b[c].usedSpace && a[c].fileCount === b[c].fileCount,
  );
}

/**
 * Full check of a store that no server is using: recounts usage and folder aggregates from the
 * catalog, then compares every catalogued file with the bytes on disk. Without `repair` nothing
 * changes. With it the counters are rewritten, temporary files, released and orphan blobs and
 * stray files deleted, and files whose bytes are lost removed from the catalog.
 */
export async function checkStore(
  store: ImageStore,
  repair: boolean,
  progress: (message: string) => void = () => undefined,
): Promise<FsckReport> {
  await store.blobs.open();
  const temporaryFiles = (await store.blobs.listTemporary()).length;
  const strayFiles = await store.blobs.listStrays();
  // Released blobs are not orphans: the catalog still lists them until they are deleted.
  const garbage = new Set(await store.catalog.pendingGarbage(Number.MAX_SAFE_INTEGER));

  progress('recounting the catalog');
  const recount = await store.catalog.recount(repair);

  progress('listing blobs on disk');
  const onDisk = new Map<string, number>();
  for await (const { blob, size } of store.blobs.listBlobs()) {
    onDisk.set(blob, size);
    if (onDisk.size % 100_000 === 0) progress(`${onDisk.size} blobs listed`);
  }
  for (const blob of garbage) onDisk.delete(blob);

  progress('comparing catalogued files with blobs');
  const missingBlobs: string[] = [];
  const wrongSizeBlobs: string[] = [];
  const brokenKeys: string[] = [];
  let checked = 0;
  for await (const { blob, size, key } of store.catalog.referencedBlobs()) {
    const actual = onDisk.get(blob);
    if (actual === undefined) missingBlobs.push(key);
    else if (actual !== size) wrongSizeBlobs.push(key);
    if (actual !== size) brokenKeys.push(key);
    onDisk.delete(blob);
    if (++checked % 100_000 === 0) progress(`${checked} files checked`);
  }
  progress('comparing upload sessions with staging files');
  const staging = await checkStaging(store, onDisk, repair);
  const orphans = [...onDisk.keys()];

  if (repair) {
    await store.blobs.clearTemporary();
    await store.blobs.removeStrays(strayFiles);
    await store.garbage.drain();
    if (orphans.length > 0) await store.blobs.deleteBlobs(orphans);
    if (brokenKeys.length > 0) {
      const result = await store.catalog.applyFileMutation({ removeFiles: brokenKeys });
      await store.blobs.deleteBlobs(result.freedBlobs);
      await store.catalog.releaseGarbage(result.freedBlobs);
    }
  }
  return {
    temporaryFiles,
    unreleasedGarbage: garbage.size,
    strayFiles,
    counters: recount.counters,
    recounted: recount.recounted,
    foldersOutOfStep: recount.foldersOutOfStep,
    missingBlobs,
    wrongSizeBlobs,
    orphanBlobs: orphans.length,
    staging,
    repaired: repair,
  };
}
