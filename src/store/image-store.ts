import { statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { BlobStore, DiskInfo } from '../backends/blob-store.ts';
import type {
  Catalog,
  FileRecord,
  FolderRecord,
  Usage,
  UsageCategory,
} from '../catalog/catalog.ts';
import { errors } from '../errors.ts';
import { copyContent, type CopyRequest } from './copy.ts';
import { GarbageCollector } from './garbage-collector.ts';
import { InFlightBytes } from './in-flight.ts';
import { SpaceGuard } from './space-guard.ts';
import {
  isReservedFolder,
  parseStorePath,
  refuseReservedName,
  type StorePath,
} from './store-path.ts';
import {
  DEFAULT_UPLOAD_SESSION_OPTIONS,
  type UploadSessionOptions,
  UploadSessions,
} from './upload-sessions.ts';

export interface ContentPage {
  files: FileRecord[];
  folders: FolderRecord[];
  /** Path of the first entry of the next page, or '' when this is the last page. */
  continuationToken: string;
}

export interface StoreInfo {
  disk: DiskInfo;
  usage: Record<UsageCategory | 'metadata', Usage>;
}

export interface StoreOptions {
  /** Entries per listing page. */
  listPageSize?: number;
  sessions?: UploadSessionOptions;
  /** Free bytes on the store's volume that uploads may not use (room for deletes). */
  reserveBytes?: number;
}

export interface UploadOptions {
  signal?: AbortSignal;
  expectedLength?: number;
}

const wrongLength = (expected: number) => (received: number) =>
  errors.invalidArgument(
    `The body has ${received > expected ? 'more than ' : ''}${received} bytes, ` +
      `but its Content-Length is ${expected}`,
  );

/**
 * The image store's rules on top of a catalog (where the rows live) and a blob store (where the
 * bytes live): overwrite-always uploads, recursive idempotent delete, marker-aware copy,
 * listing, folder sizes and usage.
 */
export class ImageStore {
  readonly garbage: GarbageCollector;
  readonly sessions: UploadSessions;
  private readonly inFlight = new InFlightBytes();

  readonly space: SpaceGuard;
  readonly listPageSize: number;

  constructor(
    readonly catalog: Catalog,
    readonly blobs: BlobStore,
    readonly log: Logger,
    options: StoreOptions = {},
  ) {
    this.listPageSize = options.listPageSize ?? 5000;
    this.garbage = new GarbageCollector(catalog, blobs, log);
    this.space = new SpaceGuard(blobs, options.reserveBytes ?? 0);
    this.sessions = new UploadSessions(
      catalog,
      blobs.staging,
      this.garbage,
      log,
      options.sessions ?? DEFAULT_UPLOAD_SESSION_OPTIONS,
      { space: this.space, inFlight: this.inFlight },
    );
  }

  /** The cheap part of fsck, run at every start. */
  async open(): Promise<void> {
    await this.blobs.open();
    const removedTemporaryFiles = await this.blobs.clearTemporary();
    const releasedBlobs = await this.garbage.drain();
    const sessions = await this.sessions.open();
    this.log.info({ removedTemporaryFiles, releasedBlobs, ...sessions }, 'store opened');
  }

  async close(): Promise<void> {
    await this.sessions.close();
    await this.garbage.idle();
    await this.catalog.close();
  }

  async upload(path: StorePath, body: Readable, options: UploadOptions = {}) {
    refuseReservedName(path);
    await this.space.ensureRoom(options.expectedLength ?? 0, `The upload of '${path.path}'`);
    const flight = this.inFlight.takeOff(true);
    const { expectedLength: expected, signal } = options;
    try {
      const written = await this.blobs.writeBlob(body, {
        signal,
        length: expected === undefined ? undefined : { expected, mismatch: wrongLength(expected) },
        onBytes: flight.add,
      });
      try {
        options.signal?.throwIfAborted();
        const result = await this.catalog.applyFileMutation({
          puts: [{ path: path.path, size: written.size, blob: written.blob }],
        });
        this.garbage.release(result.freedBlobs);
        return result.written[0];
      } catch (error) {
        await this.blobs.deleteBlobs([written.blob]);
        throw error;
      }
    } finally {
      flight.land();
    }
  }

  async list(path: StorePath, continuationToken = ''): Promise<ContentPage> {
    const from =
      continuationToken === ''
        ? undefined
        : parseStorePath(continuationToken, 'ContinuationToken').key;
    const folder = await this.catalog.getFolder(path.key);
    if (folder || path.key === '') {
      const page = await this.catalog.listChildren(path.key, from, this.listPageSize);
      const next = page.nextKey === undefined ? '' : await this.pathOfChild(page.nextKey);
      return { files: page.files, folders: page.folders, continuationToken: next };
    }
    const file = await this.catalog.getFile(path.key);
    if (!file) throw errors.fileNotFound(`'${path.path}' does not exist in the image store`);
    return { files: [file], folders: [], continuationToken: '' };
  }

  private async pathOfChild(key: string): Promise<string> {
    const child = (await this.catalog.getFile(key)) ?? (await this.catalog.getFolder(key));
    return child?.path ?? key;
  }

  async delete(path: StorePath): Promise<void> {
    if (isReservedFolder(path)) throw errors.reservedDirectory(path.path);
    const result = await this.catalog.applyFileMutation({
      removeFiles: [path.key],
      removeTrees: [path.key],
    });
    this.garbage.release(result.freedBlobs);
  }

  async copy(request: CopyRequest, signal?: AbortSignal): Promise<void> {
    await copyContent(this, request, signal);
  }

  async info(): Promise<StoreInfo> {
    const [disk, usage, metadata] = await Promise.all([
      this.blobs.diskInfo(),
      this.catalog.usage(),
      this.metadataUsage(),
    ]);
    const staging = {
      usedSpace: usage.staging.usedSpace + this.inFlight.bytes,
      fileCount: usage.staging.fileCount + this.inFlight.files,
    };
    return { disk, usage: { ...usage, staging, metadata } };
  }

  private async metadataUsage(): Promise<Usage> {
    const usage = { usedSpace: 0, fileCount: 0 };
    for (const file of this.catalog.metadataFiles()) {
      // Synchronous on purpose: three local stats are cheaper than three thread-pool trips.
      const size = statSync(file, { throwIfNoEntry: false })?.size;
      if (size === undefined) continue;
      usage.usedSpace += size;
      usage.fileCount += 1;
    }
    return usage;
  }

  /** A folder's or file's size with the path as stored (its casing), '' for the root. */
  async folderSize(path: StorePath): Promise<{ path: string; size: number }> {
    const folder = await this.catalog.getFolder(path.key);
    if (folder) return { path: path.key === '' ? '' : folder.path, size: folder.size };
    if (path.key === '') return { path: '', size: 0 };
    const file = await this.catalog.getFile(path.key);
    if (!file) throw errors.fileNotFound(`'${path.path}' does not exist in the image store`);
    return { path: file.path, size: file.size };
  }
}
