import type { Logger } from 'pino';
import { type BodyOptions, readBody } from '../backends/body-reader.ts';
import type { SessionStaging } from '../backends/session-staging.ts';
import type { Catalog } from '../catalog/catalog.ts';
import type { ByteRange, UploadSessionRecord } from '../catalog/upload-sessions.ts';
import { errors } from '../errors.ts';
import { formatRange, formatRanges, missingRanges, rangeLength } from './byte-ranges.ts';
import type { GarbageCollector } from './garbage-collector.ts';
import { type Chunk, LiveSession } from './live-session.ts';
import type { InFlightBytes } from './in-flight.ts';
import type { SpaceGuard } from './space-guard.ts';
import { refuseReservedName, type StorePath } from './store-path.ts';

export type { Chunk } from './live-session.ts';

export interface UploadSessionOptions {
  /** Largest chunk accepted, in bytes; larger ones get 413. */
  maxChunkSize: number;
  /** A session with no new chunk for this many milliseconds is removed with its bytes. */
  timeoutMs: number;
}

export const DEFAULT_UPLOAD_SESSION_OPTIONS: UploadSessionOptions = {
  maxChunkSize: 100 * 1024 * 1024,
  timeoutMs: 30 * 60 * 1000,
};

export const expectedRanges = (session: UploadSessionRecord): ByteRange[] =>
  session.committed ? [] : missingRanges(session.received, session.fileSize);

/**
 * Chunked uploads: sessions created by their first chunk, chunks written in any order and
 * concurrently at their offsets into one staging file, commit by promoting that file to a blob.
 * The catalog is the record (so sessions survive restarts); the in-memory state only decides,
 * atomically, which chunk may write which bytes.
 */
export class UploadSessions {
  private readonly live = new Map<string, LiveSession>();
  private sweeper?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    private readonly catalog: Catalog,
    private readonly staging: SessionStaging,
    private readonly garbage: GarbageCollector,
    private readonly log: Logger,
    readonly options: UploadSessionOptions = DEFAULT_UPLOAD_SESSION_OPTIONS,
    private readonly accounting: { space?: SpaceGuard; inFlight?: InFlightBytes } = {},
  ) {}

  /** Removes staging files that belong to no open session (a crash before the first ack). */
  async open(): Promise<{ openSessions: number; removedStagingFiles: number }> {
    await this.staging.open();
    const open = new Set((await this.catalog.uploadSessions.openUploadSessions()).map((s) => s.id));
    const orphans: string[] = [];
    for await (const file of this.staging.list()) {
      if (!open.has(file.sessionId)) orphans.push(file.sessionId);
    }
    await this.staging.remove(orphans);
    return { openSessions: open.size, removedStagingFiles: orphans.length };
  }

  /** Starts the background sweep that expires idle sessions. */
  startExpiry(): void {
    const interval = Math.min(60_000, Math.max(100, this.options.timeoutMs / 4));
    this.sweeper = setInterval(() => {
      this.sweeping ??= this.expireIdle()
        .then(() => undefined)
        .catch((error) => this.log.error({ err: error }, 'expiring upload sessions failed'))
        .finally(() => (this.sweeping = undefined));
    }, interval);
    this.sweeper.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.sweeping;
  }

  get(sessionId: string): Promise<UploadSessionRecord | undefined> {
    return this.catalog.uploadSessions.getUploadSession(sessionId);
  }

  at(path: StorePath): Promise<UploadSessionRecord[]> {
    return this.catalog.uploadSessions.uploadSessionsAt(path.key);
  }

  /** Refuses a chunk larger than the configured maximum before any of it is read. */
  checkChunkSize(range: ByteRange): void {
    const length = rangeLength(range);
    if (length > this.options.maxChunkSize) {
      throw errors.valueTooLarge(
        `The chunk ${formatRange(range)} has ${length} bytes; ` +
          `the maximum chunk size is ${this.options.maxChunkSize} bytes`,
      );
    }
  }

  /** Stores one chunk; 'duplicate' when every byte of its range was already received. */
  async uploadChunk(chunk: Chunk): Promise<'written' | 'duplicate'> {
    const { sessionId, range } = chunk;
    this.checkChunkSize(range);
    refuseReservedName(chunk.path);
    await this.accounting.space?.ensureRoom(rangeLength(range), `The chunk ${formatRange(range)}`);
    return this.withSession(sessionId, async (live) => {
      const release = await live.lock.acquire(false, chunk.signal);
      try {
        let decision = live.decide(chunk);
        while (decision.kind === 'wait') {
          await decision.until;
          decision = live.decide(chunk);
        }
        const body = chunk.body;
        const options = bodyOptions(chunk);
        if (decision.kind === 'duplicate') {
          await readBody(body, async () => undefined, options);
          return 'duplicate';
        }
        // Until the chunk is recorded its bytes are counted in flight; a new session's staging
        // file counts as a file from its first byte, once however many chunks are arriving.
        const countsFile = !live.record && !live.fileInFlight;
        if (countsFile) live.fileInFlight = true;
        const flight = this.accounting.inFlight?.takeOff(countsFile);
        try {
          await live.discarding;
          await this.staging.writeChunk(sessionId, chunk.fileSize, range.start, body, {
            ...options,
            onBytes: flight?.add,
          });
          live.record = await this.catalog.uploadSessions.recordChunk(
            live.record ?? live.claim!,
            range,
            Date.now(),
          );
          live.claim = undefined;
          return 'written';
        } catch (error) {
          if (!live.record && live.writers.length === 1) {
            live.claim = undefined;
            live.discarding = this.staging.remove([sessionId]).catch((err) => {
              this.log.warn({ err, sessionId }, 'removing an unused staging file failed');
            });
            await live.discarding;
          }
          throw error;
        } finally {
          flight?.land();
          if (countsFile) live.fileInFlight = false;
          decision.finish();
        }
      } finally {
        release();
      }
    });
  }

  /** Places the uploaded file at its path; every byte must have been received. */
  async commit(sessionId: string, signal?: AbortSignal): Promise<void> {
    await this.withSession(sessionId, async (live) => {
      const release = await live.lock.acquire(true, signal);
      try {
        const session = (live.record =
          await this.catalog.uploadSessions.getUploadSession(sessionId));
        if (!session) throw errors.uploadSessionNotFound(`There is no upload session ${sessionId}`);
        if (session.committed) return;
        const missing = missingRanges(session.received, session.fileSize);
        if (missing.length > 0) {
          throw errors.invalidArgument(
            `Upload session ${sessionId} for '${session.path}' cannot be committed: ` +
              `the ranges ${formatRanges(missing)} have not been received`,
          );
        }
        signal?.throwIfAborted();
        // Past this point the commit completes: the rename and one transaction remain.
        await this.staging.promote(sessionId, session.blob);
        const result = await this.catalog.uploadSessions.commitUploadSession(sessionId, Date.now());
        this.garbage.release(result.freedBlobs);
        live.record = await this.catalog.uploadSessions.getUploadSession(sessionId);
      } finally {
        release();
      }
    });
  }

  /** Removes a session and its staged bytes. */
  async delete(sessionId: string, signal?: AbortSignal): Promise<void> {
    const removed = await this.remove(sessionId, false, signal);
    if (!removed) throw errors.uploadSessionNotFound(`There is no upload session ${sessionId}`);
  }

  /** Removes every session idle for longer than the timeout; returns how many. */
  async expireIdle(now = Date.now()): Promise<number> {
    const before = now - this.options.timeoutMs;
    let expired = 0;
    for (const id of await this.catalog.uploadSessions.idleUploadSessions(before)) {
      if (await this.remove(id, true, undefined, before)) expired++;
    }
    if (expired > 0) this.log.info({ expired }, 'expired idle upload sessions');
    return expired;
  }

  private remove(
    sessionId: string,
    onlyIfFree: boolean,
    signal?: AbortSignal,
    idleBefore?: number,
  ): Promise<boolean> {
    return this.withSession(sessionId, async (live) => {
      const release = onlyIfFree ? live.lock.tryExclusive() : await live.lock.acquire(true, signal);
      if (!release) return false;
      try {
        const removed = await this.catalog.uploadSessions.deleteUploadSession(
          sessionId,
          idleBefore,
        );
        if (!removed) return false;
        live.record = undefined;
        live.claim = undefined;
        if (!removed.session.committed) await this.staging.remove([sessionId]);
        this.garbage.release(removed.freedBlobs);
        return true;
      } finally {
        release();
      }
    });
  }

  /** Runs `action` with the session's live state, loaded once for all concurrent requests. */
  private async withSession<T>(id: string, action: (live: LiveSession) => Promise<T>) {
    let live = this.live.get(id);
    if (!live) {
      const created = new LiveSession();
      created.loaded = this.catalog.uploadSessions.getUploadSession(id).then((record) => {
        created.record = record;
      });
      this.live.set(id, (live = created));
    }
    live.refs++;
    try {
      await live.loaded;
      return await action(live);
    } finally {
      if (--live.refs === 0) this.live.delete(id);
    }
  }
}

/** The chunk's body must be exactly as long as its Content-Range says. */
function bodyOptions({ range, signal }: Chunk): BodyOptions {
  const expected = rangeLength(range);
  const mismatch = (received: number) =>
    errors.rangeNotSatisfiable(
      `The body of chunk ${formatRange(range)} has ${received > expected ? 'more than ' : ''}` +
        `${received} bytes, but its Content-Range names ${expected}`,
    );
  return { signal, length: { expected, mismatch } };
}
