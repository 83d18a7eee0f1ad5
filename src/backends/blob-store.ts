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
  /** Creates what the store needs and removes temporary files left by a previous run. */
  open(): Promise<{ removedTemporaryFiles: number }>;
  /** Streams a body into a new blob; durable when the promise resolves, nothing left if it fails. */
  writeBlob(body: Readable, options?: BodyOptions): Promise<WrittenBlob>;
  /** A new, independent blob holding the same bytes. */
  copyBlob(blob: string): Promise<string>;
  readBlob(blob: string): Readable;
  deleteBlobs(blobs: string[]): Promise<void>;
  listBlobs(): AsyncIterable<WrittenBlob>;
  diskInfo(): Promise<DiskInfo>;
  /** Staging files of chunked upload sessions. */
  readonly staging: SessionStaging;
}
