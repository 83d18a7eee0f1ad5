import type Database from 'better-sqlite3';
import { errors } from '../../errors.ts';
import {
  addRange,
  formatRange,
  formatRanges,
  missingRanges,
  overlaps,
  rangeLength,
  totalLength,
} from '../../store/byte-ranges.ts';
import type { FileMutation, MutationResult, Usage } from '../catalog.ts';
import type {
  ByteRange,
  NewUploadSession,
  RemovedUploadSession,
  UploadSessionCatalog,
  UploadSessionRecord,
} from '../upload-sessions.ts';

/**
 * Upload sessions in the SQLite catalog. `upload_session_ranges` holds the received ranges of
 * open sessions, merged; a committed session keeps its row (state 'committed') without ranges.
 */
export const UPLOAD_SESSION_SCHEMA = `
CREATE TABLE IF NOT EXISTS upload_sessions (
  id        TEXT PRIMARY KEY,
  key       TEXT NOT NULL,
  path      TEXT NOT NULL,
  file_size INTEGER NOT NULL,
  modified  INTEGER NOT NULL,
  blob      TEXT NOT NULL,
  state     TEXT NOT NULL CHECK (state IN ('open', 'committed'))
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS upload_sessions_by_key ON upload_sessions (key);
CREATE INDEX IF NOT EXISTS upload_sessions_by_modified ON upload_sessions (modified);

CREATE TABLE IF NOT EXISTS upload_session_ranges (
  session_id TEXT NOT NULL,
  first      INTEGER NOT NULL,
  last       INTEGER NOT NULL,
  PRIMARY KEY (session_id, first)
) WITHOUT ROWID;
`;

interface SessionRow {
  id: string;
  key: string;
  path: string;
  file_size: number;
  modified: number;
  blob: string;
  state: 'open' | 'committed';
}

/** Runs a file mutation inside the caller's transaction. */
export type FileMutator = (mutation: FileMutation) => MutationResult;

export class SqliteUploadSessions implements UploadSessionCatalog {
  private readonly sql;

  constructor(
    private readonly db: Database.Database,
    private readonly mutateFiles: FileMutator,
  ) {
    db.exec(UPLOAD_SESSION_SCHEMA);
    this.sql = {
      session: db.prepare<[string], SessionRow>('SELECT * FROM upload_sessions WHERE id = ?'),
      sessionsAt: db.prepare<[string], SessionRow>(
        'SELECT * FROM upload_sessions WHERE key = ? ORDER BY modified, id',
      ),
      openSessions: db.prepare<[], SessionRow>(
        "SELECT * FROM upload_sessions WHERE state = 'open' ORDER BY id",
      ),
      idle: db.prepare<[number], { id: string }>(
        'SELECT id FROM upload_sessions WHERE modified < ? ORDER BY modified',
      ),
      ranges: db.prepare<[string], { first: number; last: number }>(
        'SELECT first, last FROM upload_session_ranges WHERE session_id = ? ORDER BY first',
      ),
      insertSession: db.prepare(
        `INSERT INTO upload_sessions (id, key, path, file_size, modified, blob, state)
         VALUES (@id, @key, @path, @fileSize, @modified, @blob, 'open')`,
      ),
      touchSession: db.prepare('UPDATE upload_sessions SET modified = ? WHERE id = ?'),
      markCommitted: db.prepare(
        "UPDATE upload_sessions SET state = 'committed', modified = ? WHERE id = ?",
      ),
      deleteSession: db.prepare('DELETE FROM upload_sessions WHERE id = ?'),
      insertRange: db.prepare('INSERT INTO upload_session_ranges VALUES (?, ?, ?)'),
      deleteRanges: db.prepare('DELETE FROM upload_session_ranges WHERE session_id = ?'),
      stagingUsage: db.prepare<[], { bytes: number; files: number }>(
        `SELECT (SELECT COALESCE(SUM(r.last - r.first + 1), 0)
                   FROM upload_session_ranges r JOIN upload_sessions s ON s.id = r.session_id
                  WHERE s.state = 'open') AS bytes,
                (SELECT COUNT(*) FROM upload_sessions WHERE state = 'open') AS files`,
      ),
      addStaging: db.prepare(
        `UPDATE usage SET used_space = used_space + ?, file_count = file_count + ?
         WHERE category = 'staging'`,
      ),
      setStaging: db.prepare(
        "UPDATE usage SET used_space = ?, file_count = ? WHERE category = 'staging'",
      ),
      addGarbage: db.prepare('INSERT OR IGNORE INTO garbage (blob) VALUES (?)'),
    };
  }

  private receivedRanges(id: string): ByteRange[] {
    return this.sql.ranges.all(id).map((r) => ({ start: r.first, end: r.last }));
  }

  private toRecord(row: SessionRow): UploadSessionRecord {
    return {
      id: row.id,
      path: row.path,
      key: row.key,
      fileSize: row.file_size,
      modified: row.modified,
      blob: row.blob,
      committed: row.state === 'committed',
      received: row.state === 'open' ? this.receivedRanges(row.id) : [],
    };
  }

  async getUploadSession(id: string) {
    const row = this.sql.session.get(id);
    return row && this.toRecord(row);
  }

  async uploadSessionsAt(key: string) {
    return this.sql.sessionsAt.all(key).map((row) => this.toRecord(row));
  }

  async recordChunk(session: NewUploadSession, range: ByteRange, now: number) {
    const run = this.db.transaction(() => {
      const row = this.sql.session.get(session.id);
      if (!row) {
        const { id, key, path, fileSize, blob } = session;
        this.sql.insertSession.run({ id, key, path, fileSize, blob, modified: now });
        this.sql.addStaging.run(0, 1);
      } else if (row.state !== 'open' || row.key !== session.key) {
        throw errors.uploadSessionIdConflict(
          `Upload session ${session.id} is not open for '${session.path}'`,
        );
      }
      // The store decides overlaps before writing; this guards the counters against a bug there.
      const received = this.receivedRanges(session.id);
      const clash = received.find((r) => overlaps(r, range));
      if (clash) {
        throw errors.rangeNotSatisfiable(
          `Range ${formatRange(range)} overlaps the received range ${formatRange(clash)}`,
        );
      }
      this.sql.deleteRanges.run(session.id);
      for (const r of addRange(received, range)) {
        this.sql.insertRange.run(session.id, r.start, r.end);
      }
      this.sql.addStaging.run(rangeLength(range), 0);
      this.sql.touchSession.run(now, session.id);
      return this.toRecord(this.sql.session.get(session.id)!);
    });
    return run.immediate();
  }

  async commitUploadSession(id: string, now: number): Promise<MutationResult> {
    const run = this.db.transaction(() => {
      const row = this.sql.session.get(id);
      if (!row || row.state !== 'open') {
        throw errors.uploadSessionNotFound(`There is no open upload session ${id} to commit`);
      }
      const received = this.receivedRanges(id);
      const missing = missingRanges(received, row.file_size);
      if (missing.length > 0) {
        throw errors.invalidArgument(
          `Upload session ${id} is missing the ranges ${formatRanges(missing)}`,
        );
      }
      const result = this.mutateFiles({
        puts: [{ path: row.path, size: row.file_size, blob: row.blob, modified: now }],
      });
      this.sql.addStaging.run(-totalLength(received), -1);
      this.sql.deleteRanges.run(id);
      this.sql.markCommitted.run(now, id);
      return result;
    });
    return run.immediate();
  }

  async deleteUploadSession(
    id: string,
    idleBefore?: number,
  ): Promise<RemovedUploadSession | undefined> {
    const run = this.db.transaction(() => {
      const row = this.sql.session.get(id);
      if (!row || (idleBefore !== undefined && row.modified >= idleBefore)) return undefined;
      const session = this.toRecord(row);
      const freedBlobs: string[] = [];
      if (!session.committed) {
        this.sql.addStaging.run(-totalLength(session.received), -1);
        this.sql.addGarbage.run(session.blob);
        freedBlobs.push(session.blob);
      }
      this.sql.deleteRanges.run(id);
      this.sql.deleteSession.run(id);
      return { session, freedBlobs };
    });
    return run.immediate();
  }

  async idleUploadSessions(time: number) {
    return this.sql.idle.all(time).map((row) => row.id);
  }

  async openUploadSessions() {
    return this.sql.openSessions.all().map((row) => this.toRecord(row));
  }

  /** Staging usage recounted from the session rows; with `repair` the counter is replaced. */
  recountStaging(repair: boolean): Usage {
    const { bytes, files } = this.sql.stagingUsage.get()!;
    if (repair) this.sql.setStaging.run(bytes, files);
    return { usedSpace: bytes, fileCount: files };
  }
}
