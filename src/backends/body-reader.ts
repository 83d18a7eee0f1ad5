import { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { errors } from '../errors.ts';

export interface BodyOptions {
  /** Stops reading with the signal's reason, even while the client sends nothing. */
  signal?: AbortSignal;
  /** The exact length the body must have, and the error to give when it has another. */
  length?: { expected: number; mismatch: (received: number) => Error };
  onBytes?: (count: number) => void;
}

const BATCH_BYTES = 1 << 20;

/**
 * Reads a request body into `sink` in batches of about 1 MiB, keeping one sink write in flight
 * while the next batch arrives. Event-driven rather than async iteration: this is the byte path,
 * and every per-chunk promise shows in the throughput.
 */
export function readBody(
  body: Readable,
  sink: (buffers: Buffer[]) => Promise<void>,
  options: BodyOptions = {},
): Promise<number> {
  const { signal, length, onBytes } = options;
  return new Promise<number>((resolve, reject) => {
    let received = 0;
    let batch: Buffer[] = [];
    let batchBytes = 0;
    let inFlight: Promise<void> | undefined;
    let settled = false;

    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      body.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      // A late failure of the stream (a connection reset, a zip entry's final check) must not
      // become an unhandled 'error' event once we stopped listening; the outcome is decided.
      body.on('error', () => undefined);
      if (error !== undefined) body.pause();
      // Never report before the last write has landed (or failed).
      const last = inFlight ?? Promise.resolve();
      last.then(
        () => (error === undefined ? resolve(received) : reject(error)),
        (writeError) => reject(error ?? writeError),
      );
    };
    let writing = 0;
    let paused = false;
    const flush = () => {
      const buffers = batch;
      batch = [];
      batchBytes = 0;
      writing++;
      inFlight = (inFlight ?? Promise.resolve())
        .then(() => sink(buffers))
        .then(() => {
          writing--;
          if (paused && writing <= 1 && !settled) {
            paused = false;
            body.resume();
          }
        });
      inFlight.catch(finish);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (length && received > length.expected) return finish(length.mismatch(received));
      onBytes?.(chunk.length);
      batch.push(chunk);
      batchBytes += chunk.length;
      if (batchBytes < BATCH_BYTES) return;
      flush();
      // Backpressure: with one write running and the next queued, stop reading the socket.
      if (writing > 1) {
        paused = true;
        body.pause();
      }
    };
    const onEnd = () => {
      if (length && received !== length.expected) return finish(length.mismatch(received));
      if (batchBytes > 0) flush();
      finish();
    };
    // A request stream only fails when its connection does; other streams say what went wrong.
    const onError = (error: Error) => (body instanceof IncomingMessage ? onClose() : finish(error));
    const onClose = () =>
      finish(
        errors.invalidArgument(
          `The connection closed after ${received} bytes, before the body was complete`,
        ),
      );
    const onAbort = () => finish(signal!.reason);

    if (signal?.aborted) return finish(signal.reason);
    // The client may have gone before the handler got here; its events are then long past.
    if (body.errored) return onError(body.errored);
    if (body.destroyed && !body.readableEnded) return onClose();
    signal?.addEventListener('abort', onAbort, { once: true });
    body.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
  });
}

/**
 * Keeps a stream's early failure for readBody: a stream that starts on its own (a zip entry)
 * may fail while the caller is still opening its file, and an 'error' event with no listener
 * would end the process. The error stays in `body.errored`, where readBody looks first.
 */
export function holdErrors(body: Readable): void {
  // Unconditionally: pipe() adds a listener of its own that rethrows when it is the only one.
  body.on('error', () => undefined);
}
