import type Database from 'better-sqlite3';
import type { Usage, UsageCategory, UsageRecount } from '../catalog.ts';
import { ancestorKeys, parentKey } from '../../store/store-path.ts';

interface Aggregate {
  path: string;
  fileCount: number;
  size: number;
}

const emptyUsage = (): Record<UsageCategory, Usage> => ({
  copy: { usedSpace: 0, fileCount: 0 },
  register: { usedSpace: 0, fileCount: 0 },
  staging: { usedSpace: 0, fileCount: 0 },
});

/**
 * Recounts the copy/register counters and every folder aggregate from the file rows. Staging is
 * owned by upload sessions and recounted with them. With `repair`, the stored values are replaced
 * by the recount in one transaction.
 */
export function recountUsage(db: Database.Database, repair: boolean): UsageRecount {
  return db.transaction(() => {
    const counters = emptyUsage();
    for (const row of db.prepare('SELECT * FROM usage').all() as {
      category: UsageCategory;
      used_space: number;
      file_count: number;
    }[]) {
      counters[row.category] = { usedSpace: row.used_space, fileCount: row.file_count };
    }

    const recounted = emptyUsage();
    recounted.staging = { ...counters.staging };
    const folders = new Map<string, Aggregate>();
    const files = db.prepare('SELECT key, path, size, category FROM files').iterate() as Iterable<{
      key: string;
      path: string;
      size: number;
      category: UsageCategory;
    }>;
    for (const file of files) {
      recounted[file.category].usedSpace += file.size;
      recounted[file.category].fileCount += 1;
      const keys = ['', ...ancestorKeys(file.key)];
      const paths = ['', ...ancestorKeys(file.path)];
      keys.forEach((key, i) => {
        const folder = folders.get(key) ?? { path: paths[i], fileCount: 0, size: 0 };
        folder.fileCount += 1;
        folder.size += file.size;
        folders.set(key, folder);
      });
    }

    let foldersOutOfStep = 0;
    const unseen = new Set(folders.keys());
    const stored = db.prepare('SELECT key, file_count, size FROM folders').iterate() as Iterable<{
      key: string;
      file_count: number;
      size: number;
    }>;
    for (const row of stored) {
      unseen.delete(row.key);
      const expected = folders.get(row.key);
      if (!expected || expected.fileCount !== row.file_count || expected.size !== row.size) {
        foldersOutOfStep++;
      }
    }
    foldersOutOfStep += unseen.size;

    if (repair) {
      db.prepare('DELETE FROM folders').run();
      const insert = db.prepare('INSERT INTO folders VALUES (?, ?, ?, ?, ?)');
      for (const [key, folder] of folders) {
        insert.run(
          key,
          key === '' ? null : parentKey(key),
          folder.path,
          folder.fileCount,
          folder.size,
        );
      }
      const update = db.prepare(
        'UPDATE usage SET used_space = ?, file_count = ? WHERE category = ?',
      );
      for (const category of ['copy', 'register'] as const) {
        update.run(recounted[category].usedSpace, recounted[category].fileCount, category);
      }
    }
    return { counters, recounted, foldersOutOfStep };
  })();
}
