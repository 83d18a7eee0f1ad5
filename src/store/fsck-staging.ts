import type { ImageStore } from './image-store.ts';

export interface StagingCheck {
  /** Staging files that belong to no open upload session. */
  orphanStagingFiles: number;
  /** Open sessions whose bytes are neither in a staging file nor in their promoted blob. */
  lostSessions: string[];
  /** Open sessions whose staging file does not have the length of the file being uploaded. */
  wrongSizeSessions: string[];
}

export const stagingClean = (check: StagingCheck) =>
  check.orphanStagingFiles === 0 &&
  check.lostSessions.length === 0 &&
  check.wrongSizeSessions.length === 0;

/**
 * Compares open upload sessions with the staging files on disk. A session interrupted between
 * promoting its file and committing owns a blob that no file references yet; such blobs are
 * taken out of `blobsOnDisk` so they do not count as orphans. With `repair`, orphan staging
 * files are deleted and broken sessions removed (their counters with them).
 */
export async function checkStaging(
  store: ImageStore,
  blobsOnDisk: Map<string, number>,
  repair: boolean,
): Promise<StagingCheck> {
  const staged = new Map<string, number>();
  for await (const file of store.blobs.staging.list()) staged.set(file.sessionId, file.size);

  const lostSessions: string[] = [];
  const wrongSizeSessions: string[] = [];
  for (const session of await store.catalog.uploadSessions.openUploadSessions()) {
    const size = staged.get(session.id) ?? blobsOnDisk.get(session.blob);
    staged.delete(session.id);
    blobsOnDisk.delete(session.blob);
    if (size === undefined) lostSessions.push(session.id);
    else if (size !== session.fileSize) wrongSizeSessions.push(session.id);
  }
  const orphans = [...staged.keys()];

  if (repair) {
    await store.blobs.staging.remove(orphans);
    for (const id of [...lostSessions, ...wrongSizeSessions]) await store.sessions.delete(id);
    await store.garbage.idle();
  }
  return { orphanStagingFiles: orphans.length, lostSessions, wrongSizeSessions };
}
