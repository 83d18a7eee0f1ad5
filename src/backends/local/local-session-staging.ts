import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { type BodyOptions, holdErrors, readBody } from '../body-reader.ts';
import type { SessionStaging, StagedFile } from '../session-staging.ts';
import { durableRename, syncDirectory } from './durable-fs.ts';
import { fileSink } from './positional-write.ts';

/**
 * Staging files on local disk: `staging/<session id>`, created at the file's full length
 * (sparse, so only received bytes take space) and written at each chunk's offset. Commit
 * renames the file into `blobs/`, so its cost does not grow with the file's size.
 */
export class LocalSessionStaging implements SessionStaging {
  readonly dir: string;
  /** Creation of each staging file, shared by the chunks that arrive while it runs. */
  private readonly created = new Map<string, Promise<void>>();

  constructor(
    root: string,
    private readonly blobs: { blobPath(blob: string): string },
  ) {
    this.dir = join(root, 'staging');
  }

  async open() {
    await mkdir(this.dir, { recursive: true });
  }

  private file(sessionId: string): string {
    // Ids come from the catalog or from readdir; refuse anything that could leave the folder.
    if (basename(sessionId) !== sessionId || sessionId === '.' || sessionId === '..') {
      throw new Error(`'${sessionId}' cannot name a staging file`);
    }
    return join(this.dir, sessionId);
  }

  private create(sessionId: string, fileSize: number): Promise<void> {
    let creation = this.created.get(sessionId);
    if (!creation) {
      creation = this.createFile(this.file(sessionId), fileSize);
      this.created.set(sessionId, creation);
      creation.catch(() => this.created.delete(sessionId));
    }
    return creation;
  }

  private async createFile(path: string, fileSize: number) {
    const handle = await open(path, fsConstants.O_RDWR | fsConstants.O_CREAT);
    try {
      if ((await handle.stat()).size < fileSize) await handle.truncate(fileSize);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // The file's name must survive a crash before any chunk in it is acknowledged.
    await syncDirectory(this.dir);
  }

  async writeChunk(
    sessionId: string,
    fileSize: number,
    offset: number,
    body: Readable,
    options: BodyOptions,
  ): Promise<number> {
    holdErrors(body);
    await this.create(sessionId, fileSize);
    const handle = await open(this.file(sessionId), 'r+');
    try {
      const written = await readBody(body, fileSink(handle, offset), options);
      await handle.sync();
      return written;
    } finally {
      await handle.close();
    }
  }

  async promote(sessionId: string, blob: string) {
    const target = this.blobs.blobPath(blob);
    try {
      await mkdir(dirname(target), { recursive: true });
      await durableRename(this.file(sessionId), target);
    } catch (error) {
      // A commit interrupted after the rename finds its bytes already in place.
      const done = await stat(target).then(
        () => true,
        () => false,
      );
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !done) throw error;
    } finally {
      this.created.delete(sessionId);
    }
  }

  async remove(sessionIds: string[]) {
    await Promise.all(
      sessionIds.map(async (sessionId) => {
        this.created.delete(sessionId);
        await unlink(this.file(sessionId)).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
      }),
    );
  }

  async *list(): AsyncIterable<StagedFile> {
    for (const name of await readdir(this.dir)) {
      const info = await stat(join(this.dir, name)).catch(() => undefined);
      if (info) yield { sessionId: name, size: info.size };
    }
  }

  async locate(sessionId: string, blob: string) {
    const staged = await stat(this.file(sessionId)).catch(() => undefined);
    if (staged) return { promoted: false, size: staged.size };
    const promoted = await stat(this.blobs.blobPath(blob)).catch(() => undefined);
    return promoted && { promoted: true, size: promoted.size };
  }
}
