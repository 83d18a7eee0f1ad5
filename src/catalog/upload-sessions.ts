import type { MutationResult } from './catalog.ts';

/**
 * The catalog's part of chunked uploads: sessions and the byte ranges each has received. They
 * live in the catalog (not in memory, as in the native store) so a client can resume after a
 * restart. Every change moves the `staging` usage counter in the same transaction: UsedSpace is
 * the bytes received by open sessions, FileCount the open sessions (one staging file each).
 */

/** An inclusive byte range, as in `Content-Range: bytes start-end/total`. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface UploadSessionRecord {
  /** Lower-case GUID chosen by the client. */
  id: string;
  /** Normalised store path of the file being uploaded, in the caller's casing. */
  path: string;
  key: string;
  fileSize: number;
  /** Creation, then every newly received range and the commit. */
  modified: number;
  /** The blob id the staging file becomes at commit, chosen when the session is created. */
  blob: string;
  /** A committed session stays as a marker so a repeated commit answers 200. */
  committed: boolean;
  /** Received ranges, merged and in order; empty once committed. */
  received: ByteRange[];
}

export interface NewUploadSession {
  id: string;
  path: string;
  key: string;
  fileSize: number;
  blob: string;
}

export interface RemovedUploadSession {
  session: UploadSessionRecord;
  /** The session's blob when it was still open: its bytes may already have been promoted. */
  freedBlobs: string[];
}

export interface UploadSessionCatalog {
  getUploadSession(id: string): Promise<UploadSessionRecord | undefined>;
  /** Sessions (open or committed) whose file key is `key`, oldest first. */
  uploadSessionsAt(key: string): Promise<UploadSessionRecord[]>;
  /**
   * Records a durably written range; the first range creates the session. The range must not
   * overlap one already received.
   */
  recordChunk(
    session: NewUploadSession,
    range: ByteRange,
    now: number,
  ): Promise<UploadSessionRecord>;
  /**
   * Puts the session's blob at its path (overwriting any file there), drops its staging
   * accounting and marks it committed, all in one transaction. Every byte must be received.
   */
  commitUploadSession(id: string, now: number): Promise<MutationResult>;
  /**
   * Removes a session; with `idleBefore`, only when it has been idle since before that time.
   * An open session's blob goes on the garbage list in the same transaction.
   */
  deleteUploadSession(id: string, idleBefore?: number): Promise<RemovedUploadSession | undefined>;
  /** Ids of sessions whose last activity is before `time`. */
  idleUploadSessions(time: number): Promise<string[]>;
  /** Every open session, for the start-up reconciliation and fsck. */
  openUploadSessions(): Promise<UploadSessionRecord[]>;
}
