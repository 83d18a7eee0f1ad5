import type { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type {
  ByteRange,
  NewUploadSession,
  UploadSessionRecord,
} from '../catalog/upload-sessions.ts';
import { errors } from '../errors.ts';
import { contains, formatRange, overlaps } from './byte-ranges.ts';
import { SessionLock } from './session-lock.ts';
import type { StorePath } from './store-path.ts';

export interface Chunk {
  sessionId: string;
  path: StorePath;
  range: ByteRange;
  fileSize: number;
  body: Readable;
  signal?: AbortSignal;
}

interface Writer {
  range: ByteRange;
  done: Promise<void>;
}

export type Decision =
  | { kind: 'write'; finish: () => void }
  | { kind: 'duplicate' }
  | { kind: 'wait'; until: Promise<void> };

/** What the server knows about a session while requests for it are running. */
export class LiveSession {
  record?: UploadSessionRecord;
  /** Path and size claimed by the first chunks before the session's row exists. */
  claim?: NewUploadSession;
  readonly writers: Writer[] = [];
  readonly lock = new SessionLock();
  refs = 0;
  loaded: Promise<void> = Promise.resolve();
  /** Removal of a staging file whose first chunks all failed; later chunks write after it. */
  discarding: Promise<void> = Promise.resolve();
  /** A chunk in flight already counts the staging file of a session with no row yet. */
  fileInFlight = false;

  /**
   * Decides synchronously, so no other chunk can slip in between: a chunk inside a received
   * range is a duplicate, one inside a range still being written waits for that write, any
   * other overlap is refused, and the rest reserves its range.
   */
  decide(chunk: Chunk): Decision {
    const { sessionId, path, range, fileSize } = chunk;
    const known = this.record ?? this.claim;
    if (!known) {
      const blob = randomUUID().replaceAll('-', '');
      this.claim = { id: sessionId, path: path.path, key: path.key, fileSize, blob };
    } else if (known.key !== path.key) {
      throw errors.uploadSessionIdConflict(
        `Upload session ${sessionId} uploads '${known.path}', not '${path.path}'`,
      );
    } else if (known.fileSize !== fileSize) {
      throw errors.invalidArgument(
        `Upload session ${sessionId} uploads a file of ${known.fileSize} bytes, ` +
          `but the Content-Range gives a length of ${fileSize}`,
      );
    }

    if (this.record?.committed) return { kind: 'duplicate' };
    const received = this.record?.received ?? [];
    if (received.some((r) => contains(r, range))) return { kind: 'duplicate' };
    const clash = received.find((r) => overlaps(r, range));
    if (clash) {
      throw errors.rangeNotSatisfiable(
        `The chunk ${formatRange(range)} of upload session ${sessionId} partly overlaps ` +
          `the received range ${formatRange(clash)}`,
      );
    }
    const busy = this.writers.find((w) => overlaps(w.range, range));
    if (busy && contains(busy.range, range)) return { kind: 'wait', until: busy.done };
    if (busy) {
      throw errors.rangeNotSatisfiable(
        `The chunk ${formatRange(range)} of upload session ${sessionId} partly overlaps ` +
          `the range ${formatRange(busy.range)} still being received`,
      );
    }

    let finish = () => undefined as void;
    const writer: Writer = { range, done: new Promise<void>((resolve) => (finish = resolve)) };
    this.writers.push(writer);
    return {
      kind: 'write',
      finish: () => {
        this.writers.splice(this.writers.indexOf(writer), 1);
        finish();
      },
    };
  }
}
