import pino from 'pino';
import { openLocalStore } from '../../src/app.ts';
import type { NewFile } from '../../src/catalog/catalog.ts';
import { parseStorePath } from '../../src/store/store-path.ts';

export interface FillResult {
  files: number;
  bytes: number;
  seconds: number;
}

const FILES_PER_APP = 100;
const BATCH = 50_000;

/**
 * Catalogues `count` files straight into the store's catalog, in large transactions, without
 * sending them over HTTP or writing their bytes: `apps\app<i>\Code\file<j>.dll`, 100 files of a
 * few KB per application. The rows, folder aggregates and usage counters are the real ones;
 * only the blobs they name do not exist, which no read-only figure (Info) looks at.
 */
export async function fillCatalog(root: string, count: number): Promise<FillResult> {
  const started = process.hrtime.bigint();
  let bytes = 0;
  const store = await openLocalStore(root, pino({ level: 'silent' }));
  try {
    for (let first = 0; first < count; first += BATCH) {
      const puts: NewFile[] = [];
      for (let i = first; i < Math.min(first + BATCH, count); i++) {
        const app = Math.floor(i / FILES_PER_APP);
        const path = parseStorePath(`apps/app${app}/Code/file${i % FILES_PER_APP}.dll`).path;
        const size = 1024 + (i % 7) * 512;
        bytes += size;
        puts.push({ path, size, blob: i.toString(16).padStart(32, '0') });
      }
      await store.catalog.applyFileMutation({ puts });
    }
  } finally {
    await store.close();
  }
  return { files: count, bytes, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}
