import type { Logger } from 'pino';
import type { BlobStore } from '../backends/blob-store.ts';
import type { Catalog } from '../catalog/catalog.ts';

/**
 * Deletes blobs the catalog no longer references. The catalog lists them in the same transaction
 * that dropped their rows, so a crash before deletion is finished on the next start.
 */
export class GarbageCollector {
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly catalog: Catalog,
    private readonly blobs: BlobStore,
    private readonly log: Logger,
  ) {}

  /** Queues the release of freed blobs behind any release already running. */
  release(blobs: string[]): void {
    if (blobs.length === 0) return;
    this.running = this.running
      .then(() => this.delete(blobs))
      .catch((error) => {
        this.log.error({ err: error }, 'releasing freed blobs failed; the next start retries');
      });
  }

  /** Deletes everything the catalog still lists as garbage (at start-up). */
  async drain(): Promise<number> {
    let released = 0;
    for (;;) {
      const blobs = await this.catalog.pendingGarbage(1000);
      if (blobs.length === 0) return released;
      await this.delete(blobs);
      released += blobs.length;
    }
  }

  async idle(): Promise<void> {
    await this.running;
  }

  private async delete(blobs: string[]) {
    await this.blobs.deleteBlobs(blobs);
    await this.catalog.releaseGarbage(blobs);
  }
}
