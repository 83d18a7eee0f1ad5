/**
 * Catalog schema. Keys are lower-cased store paths with `\` separators; the root folder has
 * the key ''. `folders` holds one row per folder that has at least one file below it, with the
 * recursive file count and byte total, so listings and FolderSize never scan the tree.
 */
export const SCHEMA_VERSION = 1;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS files (
  key      TEXT PRIMARY KEY,
  parent   TEXT NOT NULL,
  path     TEXT NOT NULL,
  size     INTEGER NOT NULL,
  version  INTEGER NOT NULL,
  modified INTEGER NOT NULL,
  blob     TEXT NOT NULL,
  category TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS files_by_parent ON files (parent, key);

CREATE TABLE IF NOT EXISTS folders (
  key        TEXT PRIMARY KEY,
  parent     TEXT,
  path       TEXT NOT NULL,
  file_count INTEGER NOT NULL,
  size       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS folders_by_parent ON folders (parent, key);

CREATE TABLE IF NOT EXISTS usage (
  category   TEXT PRIMARY KEY,
  used_space INTEGER NOT NULL,
  file_count INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO usage VALUES ('copy', 0, 0), ('register', 0, 0), ('staging', 0, 0);

CREATE TABLE IF NOT EXISTS garbage (blob TEXT PRIMARY KEY) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta VALUES ('next_version', 1);
`;
