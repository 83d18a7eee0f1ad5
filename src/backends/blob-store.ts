import type { Readable } from 'node:stream';
import type { BodyOptions } from './body-reader.ts';
import type { SessionStaging } from './session-staging.ts';

/**
 * Where the bytes live. A blob is an immutable file body under an opaque id; the catalog maps
 * store paths to blobs. The local-disk store is the embedded default; Azure Blob Storage
 * implements the same interface for a shared, scaled-out store.
 */
export interface WrittenBlob {
  blob: string;
  size: number;
}

export interface DiskInfo {
  capacity: number;
  available: number;
}

export interface BlobStore {
  /** Creates what the store needs. */
  open(): Promise<void>;
  /** Files of writes that never finished (a crash mid-upload); none while nothing is writing. */
  listTemporary(): Promise<string[]>;
  clearTemporary(): Promise<number>;
  /** Streams a body into a new blob: durable once the promise resolves, gone if it fails. */
  writeBlob(body: Readable, options?: BodyOptions): Promise<WrittenBlob>;
  /** A new, independent blob holding the same bytes. */
  copyBlob(blob: string): Promise<string>;
  readBlob(blob: string): Readable;
  deleteBlobs(blobs: string[]): Promise<void>;
  listBlobs(): AsyncIterable<WrittenBlob>;
  /** Anything in the blob area that is not a blob (for fsck), and its removal. */
  listStrays(): Promise<string[]>;
  removeStrays(strays: string[]): Promise<void>;
  diskInfo(): Promise<DiskInfo>;
  /** Staging files of chunked upload sessions. */
  readonly staging: SessionStaging;
}
