import type Database from 'better-sqlite3';
import type { FileRecord, FolderRecord, UsageCategory } from '../catalog.ts';
import { SEPARATOR } from '../../store/store-path.ts';

/** A file row is the record plus the usage category its counters go to. */
export type FileRow = FileRecord & { category: UsageCategory };

export interface FolderRow {
  key: string;
  path: string;
  file_count: number;
  size: number;
}

/** Bounds of the keys strictly below a folder: `\` sorts just before `]`. */
export function treeRange(folderKey: string): [string, string] {
  return folderKey === '' ? ['', '\u{10ffff}'] : [folderKey + SEPARATOR, folderKey + ']'];
}

export const toFile = (row: FileRow): FileRecord => ({
  key: row.key,
  path: row.path,
  size: row.size,
  version: row.version,
  modified: row.modified,
  blob: row.blob,
});

export const toFolder = (row: FolderRow): FolderRecord => ({
  key: row.key,
  path: row.path,
  fileCount: row.file_count,
  size: row.size,
});

/** The prepared statements of the file rows, folder totals, usage counters and garbage list. */
export function prepareFileStatements(db: Database.Database) {
  return {
    file: db.prepare<[string], FileRow>('SELECT * FROM files WHERE key = ?'),
    folder: db.prepare<[string], FolderRow>('SELECT * FROM folders WHERE key = ?'),
    childFiles: db.prepare<[string, string, number], FileRow>(
      'SELECT * FROM files WHERE parent = ? AND key >= ? ORDER BY key LIMIT ?',
    ),
    childFolders: db.prepare<[string, string, number], FolderRow>(
      'SELECT * FROM folders WHERE parent = ? AND key >= ? ORDER BY key LIMIT ?',
    ),
    tree: db.prepare<[string, string], FileRow>(
      'SELECT * FROM files WHERE key > ? AND key < ? ORDER BY key',
    ),
    treeUsage: db.prepare<[string, string], { category: UsageCategory; size: number; n: number }>(
      `SELECT category, SUM(size) AS size, COUNT(*) AS n FROM files
       WHERE key > ? AND key < ? GROUP BY category`,
    ),
    treeBlobs: db.prepare<[string, string], { blob: string }>(
      'SELECT blob FROM files WHERE key > ? AND key < ?',
    ),
    deleteTreeFiles: db.prepare('DELETE FROM files WHERE key > ? AND key < ?'),
    // The folder itself and those strictly below it; `app2` sorts inside ['app', 'app]').
    deleteTreeFolders: db.prepare('DELETE FROM folders WHERE key = ? OR (key > ? AND key < ?)'),
    deleteFile: db.prepare('DELETE FROM files WHERE key = ?'),
    insertFile: db.prepare(
      `INSERT INTO files (key, parent, path, size, version, modified, blob, category)
       VALUES (@key, @parent, @path, @size, @version, @modified, @blob, @category)`,
    ),
    updateFile: db.prepare(
      `UPDATE files SET size = @size, version = @version, modified = @modified, blob = @blob
       WHERE key = @key`,
    ),
    addToFolder: db.prepare(
      `INSERT INTO folders (key, parent, path, file_count, size) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET file_count = file_count + excluded.file_count,
                                      size = size + excluded.size`,
    ),
    pruneFolder: db.prepare('DELETE FROM folders WHERE key = ? AND file_count <= 0'),
    addUsage: db.prepare(
      `UPDATE usage SET used_space = used_space + ?, file_count = file_count + ?
       WHERE category = ?`,
    ),
    usage: db.prepare<[], { category: UsageCategory; used_space: number; file_count: number }>(
      'SELECT * FROM usage',
    ),
    nextVersion: db.prepare<[], { value: number }>(
      `UPDATE meta SET value = value + 1 WHERE name = 'next_version'
       RETURNING value - 1 AS value`,
    ),
    addGarbage: db.prepare('INSERT OR IGNORE INTO garbage (blob) VALUES (?)'),
    garbage: db.prepare<[number], { blob: string }>('SELECT blob FROM garbage LIMIT ?'),
    releaseGarbage: db.prepare('DELETE FROM garbage WHERE blob = ?'),
    allBlobs: db.prepare<[], { blob: string; size: number; key: string }>(
      'SELECT blob, size, key FROM files',
    ),
  };
}
