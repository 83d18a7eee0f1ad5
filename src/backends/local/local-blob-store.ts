import { randomUUID } from 'node:crypto';
import { createReadStream, constants as fsConstants, statfsSync } from 'node:fs';
import { copyFile, mkdir, open, readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { BlobStore, DiskInfo, WrittenBlob } from '../blob-store.ts';
import { type BodyOptions, holdErrors, readBody } from '../body-reader.ts';
import { durableRename, syncFile } from './durable-fs.ts';
import { fileSink } from './positional-write.ts';
import { LocalSessionStaging } from './local-session-staging.ts';

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
    await mkdir(this.tmpDir, { recursive: true });
  }

  async listTemporary() {
    return readdir(this.tmpDir);
  }

  async clearTemporary() {
    const files = await this.listTemporary();
    await Promise.all(files.map((file) => rm(join(this.tmpDir, file), { recursive: true })));
    return files.length;
  }

  blobPath(blob: string): string {
    return join(this.blobsDir, blob.slice(0, 2), blob);
  }

  async writeBlob(body: Readable, options: BodyOptions = {}): Promise<WrittenBlob> {
    holdErrors(body);
    const blob = newBlobId();
    const tmp = join(this.tmpDir, blob);
    const handle = await open(tmp, 'wx');
    let size: number;
    try {
      size = await readBody(body, fileSink(handle, 0), options);
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
    for (const shard of await readdir(this.blobsDir, { withFileTypes: true })) {
      if (!shard.isDirectory() || !SHARD.test(shard.name)) continue;
      for (const entry of await readdir(join(this.blobsDir, shard.name), { withFileTypes: true })) {
        if (!entry.isFile() || !isBlobName(entry.name, shard.name)) continue;
        const info = await stat(join(this.blobsDir, shard.name, entry.name));
        yield { blob: entry.name, size: info.size };
      }
    }
  }

  async listStrays() {
    const strays: string[] = [];
    for (const shard of await readdir(this.blobsDir, { withFileTypes: true })) {
      if (!shard.isDirectory() || !SHARD.test(shard.name)) {
        strays.push(shard.name);
        continue;
      }
      for (const entry of await readdir(join(this.blobsDir, shard.name), { withFileTypes: true })) {
        if (!entry.isFile() || !isBlobName(entry.name, shard.name)) {
          strays.push(join(shard.name, entry.name));
        }
      }
    }
    return strays;
  }

  async removeStrays(strays: string[]) {
    for (const stray of strays) {
      // Only ever below blobs/: names come from listStrays, never from a request.
      await rm(join(this.blobsDir, stray), { recursive: true, force: true });
    }
  }

  async diskInfo(): Promise<DiskInfo> {
    // A local statfs takes microseconds; the thread pool round trip would cost more.
    const info = statfsSync(this.root);
    return { capacity: info.blocks * info.bsize, available: info.bavail * info.bsize };
  }
}

const SHARD = /^[0-9a-f]{2}$/;
const isBlobName = (name: string, shard: string) =>
  /^[0-9a-f]{32}$/.test(name) && name.startsWith(shard);

export function newBlobId(): string {
  return randomUUID().replaceAll('-', '');
}

function ignoreMissing(error: NodeJS.ErrnoException) {
  if (error.code !== 'ENOENT') throw error;
}
