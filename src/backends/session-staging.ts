import type { Readable } from 'node:stream';
import type { BodyOptions } from './body-reader.ts';

/**
 * Where the bytes of chunked uploads wait for their commit: one staging file per upload
 * session, written chunk by chunk at each chunk's offset, then promoted to a blob without
 * copying. Part of the BlobStore seam, so every backend decides how to stage its own bytes.
 */
export interface StagedFile {
  sessionId: string;
  size: number;
}

export interface SessionStaging {
  /** Creates the staging area if needed. */
  open(): Promise<void>;
  /**
   * Writes a chunk at `offset` of the session's staging file of `fileSize` bytes, creating the
   * file on the first chunk. Durable when the promise resolves; returns the bytes written.
   */
  writeChunk(
    sessionId: string,
    fileSize: number,
    offset: number,
    body: Readable,
    options: BodyOptions,
  ): Promise<number>;
  /**
   * Turns the staging file into the blob `blob`, durably and without copying bytes. Repeating
   * it after the file has already become that blob succeeds.
   */
  promote(sessionId: string, blob: string): Promise<void>;
  /** Deletes staging files; missing ones are ignored. */
  remove(sessionIds: string[]): Promise<void>;
  list(): AsyncIterable<StagedFile>;
  /** Where a session's bytes are: still staged, already promoted to `blob`, or nowhere. */
  locate(sessionId: string, blob: string): Promise<{ promoted: boolean; size: number } | undefined>;
}
