import type { UploadSessionCatalog } from './upload-sessions.ts';

/**
 * Where the image store's catalog lives: file rows, folder aggregates and the usage counters.
 * Every mutation is one transaction, and the counters change in the same transaction as the rows
 * they account for. The embedded implementation is SQLite; a shared PostgreSQL catalog implements
 * the same interface for several servers in front of one store.
 */

export type UsageCategory = 'copy' | 'register' | 'staging';

export interface Usage {
  usedSpace: number;
  fileCount: number;
}

export interface FileRecord {
  key: string;
  path: string;
  size: number;
  version: number;
  modified: number;
  blob: string;
}

export interface FolderRecord {
  key: string;
  path: string;
  fileCount: number;
  size: number;
}

/** A file to place at `path`; its casing yields to folders that already exist. */
export interface NewFile {
  path: string;
  size: number;
  blob: string;
  modified?: number;
}

export interface FileMutation {
  /** Keys of single files to remove. */
  removeFiles?: string[];
  /** Keys of folders to remove with everything below them. */
  removeTrees?: string[];
  /** Files to insert or overwrite, applied after the removals. */
  puts?: NewFile[];
}

export interface MutationResult {
  /** Blobs no longer referenced; they sit in the catalog's garbage list until released. */
  freedBlobs: string[];
  written: FileRecord[];
}

export interface ChildrenPage {
  files: FileRecord[];
  folders: FolderRecord[];
  /** Key of the first child not in this page, or undefined on the last page. */
  nextKey?: string;
}

export interface UsageRecount {
  counters: Record<UsageCategory, Usage>;
  recounted: Record<UsageCategory, Usage>;
  foldersOutOfStep: number;
}

export interface Catalog {
  getFile(key: string): Promise<FileRecord | undefined>;
  getFolder(key: string): Promise<FolderRecord | undefined>;
  /** Direct files and sub-folders of a folder in key order, starting at `fromKey`. */
  listChildren(
    folderKey: string,
    fromKey: string | undefined,
    limit: number,
  ): Promise<ChildrenPage>;
  /** Every file at or below a folder, in key order. */
  listTree(folderKey: string): Promise<FileRecord[]>;
  applyFileMutation(mutation: FileMutation): Promise<MutationResult>;

  usage(): Promise<Record<UsageCategory, Usage>>;
  /** Recounts usage and folder aggregates from the rows; repairs the counters when asked. */
  recount(repair: boolean): Promise<UsageRecount>;

  /** Blobs freed by earlier mutations that may still be on disk. */
  pendingGarbage(limit: number): Promise<string[]>;
  releaseGarbage(blobs: string[]): Promise<void>;
  /** Every blob the catalog references, for a full check against the bytes on disk. */
  referencedBlobs(): AsyncIterable<{ blob: string; size: number; key: string }>;

  /** Chunked-upload sessions and their received ranges (staging usage). */
  readonly uploadSessions: UploadSessionCatalog;

  /** Files that hold the catalog itself, for `UsedByMetadata`. */
  metadataFiles(): string[];
  close(): Promise<void>;
}
