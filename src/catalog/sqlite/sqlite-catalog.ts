import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type {
  Catalog,
  ChildrenPage,
  FileMutation,
  FileRecord,
  MutationResult,
  NewFile,
  Usage,
  UsageCategory,
  UsageRecount,
} from '../catalog.ts';
import {
  ancestorKeys,
  categoryOf,
  joinPath,
  parentKey,
  SEPARATOR,
  toKey,
} from '../../store/store-path.ts';
import { SCHEMA } from './schema.ts';
import { prepareFileStatements, toFile, toFolder, treeRange } from './file-statements.ts';
import { recountUsage } from './recount.ts';
import { SqliteUploadSessions } from './upload-sessions.ts';

export const CATALOG_FILE = 'imagestore.db';

export class SqliteCatalog implements Catalog {
  readonly db: Database.Database;
  readonly uploadSessions: SqliteUploadSessions;
  private readonly dir: string;
  private readonly sql;
  /** The body of applyFileMutation; nested in a caller's transaction it joins that one. */
  private readonly mutateFiles;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.dir = dir;
    this.db = new Database(join(dir, CATALOG_FILE));
    // WAL with FULL sync: a transaction is on disk when commit returns.
    // One process owns a store root (see root-lock.ts), so the catalog is opened exclusively:
    // the WAL index then lives in memory and a read needs no file-lock system calls.
    this.db.pragma('locking_mode = EXCLUSIVE');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    const db = this.db;
    this.sql = prepareFileStatements(db);
    this.mutateFiles = this.db.transaction((m: FileMutation) => {
      const result: MutationResult = { freedBlobs: [], written: [] };
      for (const key of m.removeFiles ?? []) this.removeFile(key, result);
      for (const key of m.removeTrees ?? []) this.removeTree(key, result);
      for (const file of m.puts ?? []) result.written.push(this.putFile(file, result));
      for (const blob of result.freedBlobs) this.sql.addGarbage.run(blob);
      return result;
    });
    this.uploadSessions = new SqliteUploadSessions(this.db, (m) => this.mutateFiles(m));
  }

  async getFile(key: string) {
    const row = this.sql.file.get(key);
    return row && toFile(row);
  }

  async getFolder(key: string) {
    const row = this.sql.folder.get(key);
    return row && toFolder(row);
  }

  async listChildren(folderKey: string, fromKey = '', limit: number): Promise<ChildrenPage> {
    const files = this.sql.childFiles.all(folderKey, fromKey, limit + 1).map(toFile);
    const folders = this.sql.childFolders.all(folderKey, fromKey, limit + 1).map(toFolder);
    // Merge both sorted runs and stop at the page size.
    const page: ChildrenPage = { files: [], folders: [] };
    let f = 0;
    let d = 0;
    while (f < files.length || d < folders.length) {
      const takeFile = d >= folders.length || (f < files.length && files[f].key <= folders[d].key);
      const key = takeFile ? files[f].key : folders[d].key;
      if (page.files.length + page.folders.length === limit) {
        page.nextKey = key;
        break;
      }
      if (takeFile) page.files.push(files[f++]);
      else page.folders.push(folders[d++]);
    }
    return page;
  }

  async listTree(folderKey: string) {
    return this.sql.tree.all(...treeRange(folderKey)).map(toFile);
  }

  async applyFileMutation(mutation: FileMutation): Promise<MutationResult> {
    return this.applyFileMutationNow(mutation);
  }

  /**
   * The mutation as a synchronous transaction, so rows of other tables on this database can join
   * it: called inside another transaction it runs as a savepoint of that one.
   */
  applyFileMutationNow(mutation: FileMutation): MutationResult {
    return this.mutateFiles.immediate(mutation);
  }

  /** Adds a file count and byte delta to every folder containing `childKey`. */
  private adjustFolders(childKey: string, childPath: string, count: number, size: number) {
    const keys = ['', ...ancestorKeys(childKey)];
    const paths = ['', ...ancestorKeys(childPath)];
    keys.forEach((key, i) => {
      this.sql.addToFolder.run(key, i === 0 ? null : parentKey(key), paths[i], count, size);
      if (count < 0) this.sql.pruneFolder.run(key);
    });
  }

  private removeFile(key: string, result: MutationResult) {
    const row = this.sql.file.get(key);
    if (!row) return;
    this.sql.deleteFile.run(key);
    this.adjustFolders(row.key, row.path, -1, -row.size);
    this.sql.addUsage.run(-row.size, -1, row.category);
    result.freedBlobs.push(row.blob);
  }

  private removeTree(key: string, result: MutationResult) {
    const folder = this.sql.folder.get(key);
    if (!folder) return;
    const [low, high] = treeRange(key);
    for (const { blob } of this.sql.treeBlobs.iterate(low, high)) result.freedBlobs.push(blob);
    for (const u of this.sql.treeUsage.all(low, high))
      this.sql.addUsage.run(-u.size, -u.n, u.category);
    this.sql.deleteTreeFiles.run(low, high);
    this.sql.deleteTreeFolders.run(key, low, high);
    // Ancestors of the removed folder lose what it held.
    if (key !== '') this.adjustFolders(key, folder.path, -folder.file_count, -folder.size);
  }

  private putFile(file: NewFile, result: MutationResult): FileRecord {
    const key = toKey(file.path);
    const version = this.sql.nextVersion.get()!.value;
    const modified = file.modified ?? Date.now();
    const existing = this.sql.file.get(key);
    if (existing) {
      this.sql.updateFile.run({ key, size: file.size, version, modified, blob: file.blob });
      const delta = file.size - existing.size;
      this.adjustFolders(key, existing.path, 0, delta);
      this.sql.addUsage.run(delta, 0, existing.category);
      result.freedBlobs.push(existing.blob);
      return { key, path: existing.path, size: file.size, version, modified, blob: file.blob };
    }
    const path = this.resolveCasing(file.path);
    const category = categoryOf(key);
    const row = {
      key,
      parent: parentKey(key),
      path,
      size: file.size,
      version,
      modified,
      blob: file.blob,
      category,
    };
    this.sql.insertFile.run(row);
    this.adjustFolders(key, path, 1, file.size);
    this.sql.addUsage.run(file.size, 1, category);
    return toFile(row);
  }

  /** Folders that already exist keep the casing of whoever created them first. */
  private resolveCasing(path: string): string {
    const segments = path.split(SEPARATOR);
    let resolved = '';
    for (let i = 0; i < segments.length - 1; i++) {
      const candidate = joinPath(resolved, segments[i]);
      resolved = this.sql.folder.get(toKey(candidate))?.path ?? candidate;
    }
    return joinPath(resolved, segments[segments.length - 1]);
  }

  async usage() {
    const usage = {} as Record<UsageCategory, Usage>;
    for (const row of this.sql.usage.all()) {
      usage[row.category] = { usedSpace: row.used_space, fileCount: row.file_count };
    }
    return usage;
  }

  async recount(repair: boolean): Promise<UsageRecount> {
    return this.db.transaction(() => {
      const result = recountUsage(this.db, repair);
      result.recounted.staging = this.uploadSessions.recountStaging(repair);
      return result;
    })();
  }

  async pendingGarbage(limit: number) {
    return this.sql.garbage.all(limit).map((row) => row.blob);
  }

  async releaseGarbage(blobs: string[]) {
    this.db.transaction(() => blobs.forEach((blob) => this.sql.releaseGarbage.run(blob)))();
  }

  async *referencedBlobs() {
    yield* this.sql.allBlobs.iterate();
  }

  metadataFiles() {
    return ['', '-wal', '-shm'].map((suffix) => join(this.dir, CATALOG_FILE + suffix));
  }

  async close() {
    this.db.close();
  }
}
