import { randomUUID } from 'node:crypto';
import { createReadStream, constants as fsConstants, statfsSync } from 'node:fs';
import {
  type FileHandle,
  copyFile,
  mkdir,
  open,
  readdir,
  rm,
  stat,
  unlink,
} from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { BlobStore, DiskInfo, WriteOptions, WrittenBlob } from '../blob-store.ts';
import { errors } from '../../errors.ts';
import { durableRename, syncFile } from './durable-fs.ts';
import { LocalSessionStaging } from './local-session-staging.ts';

const BATCH_BYTES = 1 << 20;

/**
 * Blobs on local disk: `blobs/<first two hex digits>/<id>`. Bodies are written to `tmp/`,
 * synced, then renamed into place, so a blob file exists only once it is complete.
 */
export class LocalBlobStore implements BlobStore {
  readonly blobsDir: string;
  readonly tmpDir: string;
  readonly staging: LocalSessionStaging;

  constructor(readonly root: string) {
    this.blobsDir = join(root, 'blobs');
    this.tmpDir = join(root, 'tmp');
    this.staging = new LocalSessionStaging(root, this);
  }

  async open() {
    await mkdir(this.blobsDir, { recursive: true });
    const removed = await readdir(this.tmpDir).catch(() => []);
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
    return { removedTemporaryFiles: removed.length };
  }

  blobPath(blob: string): string {
    return join(this.blobsDir, blob.slice(0, 2), blob);
  }

  async writeBlob(body: AsyncIterable<Buffer>, options: WriteOptions = {}): Promise<WrittenBlob> {
    const blob = newBlobId();
    const tmp = join(this.tmpDir, blob);
    const handle = await open(tmp, 'wx');
    let size = 0;
    try {
      let batch: Buffer[] = [];
      let batchBytes = 0;
      let inFlight: Promise<unknown> = Promise.resolve();
      // Keep one write in flight while the next batch arrives from the network.
      const flush = async () => {
        await inFlight;
        const buffers = batch;
        batch = [];
        batchBytes = 0;
        inFlight = writeAll(handle, buffers);
      };
      for await (const chunk of body) {
        if (options.signal?.aborted) throw options.signal.reason;
        size += chunk.length;
        if (options.expectedLength !== undefined && size > options.expectedLength) {
          throw errors.invalidArgument(
            `The body is longer than its length ${options.expectedLength}`,
          );
        }
        batch.push(chunk);
        batchBytes += chunk.length;
        options.onBytes?.(chunk.length);
        if (batchBytes >= BATCH_BYTES) await flush();
      }
      if (batchBytes > 0) await flush();
      await inFlight;
      if (options.expectedLength !== undefined && size !== options.expectedLength) {
        throw errors.invalidArgument(
          `The body has ${size} bytes but its length was given as ${options.expectedLength}`,
        );
      }
      await handle.sync();
    } catch (error) {
      await handle.close();
      await unlink(tmp).catch(() => undefined);
      throw error;
    }
    await handle.close();
    await this.moveIntoPlace(tmp, blob);
    return { blob, size };
  }

  /** Takes ownership of an already-synced file (e.g. a committed upload session's staging file). */
  async adoptFile(file: string): Promise<string> {
    const blob = newBlobId();
    await this.moveIntoPlace(file, blob);
    return blob;
  }

  private async moveIntoPlace(file: string, blob: string) {
    const target = this.blobPath(blob);
    await mkdir(join(this.blobsDir, blob.slice(0, 2)), { recursive: true });
    await durableRename(file, target);
  }

  async copyBlob(source: string): Promise<string> {
    const blob = newBlobId();
    const tmp = join(this.tmpDir, blob);
    try {
      // A reflink where the file system has them, a real copy otherwise.
      await copyFile(this.blobPath(source), tmp, fsConstants.COPYFILE_FICLONE);
      await syncFile(tmp);
    } catch (error) {
      await unlink(tmp).catch(() => undefined);
      throw error;
    }
    await this.moveIntoPlace(tmp, blob);
    return blob;
  }

  readBlob(blob: string): Readable {
    return createReadStream(this.blobPath(blob));
  }

  async deleteBlobs(blobs: string[]) {
    await Promise.all(blobs.map((blob) => unlink(this.blobPath(blob)).catch(ignoreMissing)));
  }

  async *listBlobs(): AsyncIterable<WrittenBlob> {
    for (const shard of await readdir(this.blobsDir)) {
      for (const blob of await readdir(join(this.blobsDir, shard))) {
        const info = await stat(join(this.blobsDir, shard, blob));
        yield { blob, size: info.size };
      }
    }
  }

  async diskInfo(): Promise<DiskInfo> {
    // A local statfs takes microseconds; the thread pool round trip would cost more.
    const info = statfsSync(this.root);
    return { capacity: info.blocks * info.bsize, available: info.bavail * info.bsize };
  }
}

async function writeAll(handle: FileHandle, buffers: Buffer[]) {
  const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
  const { bytesWritten } = await handle.writev(buffers);
  // writev may stop short; finish the rest with plain writes.
  let rest = bytesWritten < total ? Buffer.concat(buffers).subarray(bytesWritten) : undefined;
  while (rest && rest.length > 0) {
    const written = await handle.write(rest);
    rest = rest.subarray(written.bytesWritten);
  }
}

export function newBlobId(): string {
  return randomUUID().replaceAll('-', '');
}

function ignoreMissing(error: NodeJS.ErrnoException) {
  if (error.code !== 'ENOENT') throw error;
}
