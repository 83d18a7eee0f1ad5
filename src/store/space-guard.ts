import type { BlobStore } from '../backends/blob-store.ts';
import { errors } from '../errors.ts';

/**
 * Keeps a reserve of free space on the store's volume. Writes that would eat into it are refused
 * up front with a clear error, so the catalog always has room for the deletes that free space.
 */
export class SpaceGuard {
  constructor(
    private readonly blobs: BlobStore,
    readonly reserveBytes: number,
  ) {}

  async ensureRoom(bytes: number, what: string): Promise<void> {
    if (this.reserveBytes <= 0 && bytes <= 0) return;
    const { available } = await this.blobs.diskInfo();
    if (available - bytes < this.reserveBytes) {
      throw errors.insufficientStorage(
        `${what} needs ${bytes} bytes, but the store's volume has ${available} bytes free ` +
          `and keeps ${this.reserveBytes} in reserve; delete content or unprovision types first`,
      );
    }
  }
}
