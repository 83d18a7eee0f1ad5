import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import yauzl from 'yauzl';
import type { BlobStore } from '../backends/blob-store.ts';

/** The end of an archive kept from the checksum pass: the central directory is usually in it. */
const TAIL_BYTES = 1 << 20;
/** How much of the blob one further read keeps when the directory lies outside the tail. */
const WINDOW_BYTES = 4 << 20;

/**
 * Serves yauzl's reads of a blob. The blob store only streams whole blobs, so reads come from a
 * window of bytes kept in memory, refilled by one more pass when a read falls outside it.
 */
class BlobWindowReader extends yauzl.RandomAccessReader {
  constructor(
    private readonly blobs: BlobStore,
    private readonly blob: string,
    private readonly size: number,
    private window: { start: number; bytes: Buffer },
  ) {
    super();
  }

  _readStreamForRange(start: number, end: number): Readable {
    const out = new PassThrough();
    this.range(start, end).then(
      (bytes) => out.end(bytes),
      (error) => out.destroy(error),
    );
    return out;
  }

  private async range(start: number, end: number): Promise<Buffer> {
    const { start: from, bytes } = this.window;
    if (start < from || end > from + bytes.length) {
      const to = Math.min(this.size, Math.max(end, start + WINDOW_BYTES));
      this.window = { start, bytes: await readRange(this.blobs, this.blob, start, to) };
    }
    const offset = start - this.window.start;
    return this.window.bytes.subarray(offset, offset + end - start);
  }
}

async function readRange(blobs: BlobStore, blob: string, start: number, end: number) {
  const chunks: Buffer[] = [];
  let position = 0;
  for await (const chunk of blobs.readBlob(blob) as AsyncIterable<Buffer>) {
    const from = Math.max(start - position, 0);
    const to = Math.min(end - position, chunk.length);
    if (to > from) chunks.push(chunk.subarray(from, to));
    position += chunk.length;
    if (position >= end) break;
  }
  return Buffer.concat(chunks);
}

/**
 * The SHA-256 of a `.zip` package, after checking that it is a zip archive: its end record and
 * every central directory entry must read cleanly. Throws yauzl's error when they do not.
 */
export async function zipChecksum(blobs: BlobStore, blob: string): Promise<string> {
  const hash = createHash('sha256');
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let size = 0;
  for await (const chunk of blobs.readBlob(blob) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    kept.push(chunk);
    keptBytes += chunk.length;
    while (keptBytes - kept[0].length >= TAIL_BYTES) keptBytes -= kept.shift()!.length;
  }
  const tail = Buffer.concat(kept);
  const reader = new BlobWindowReader(blobs, blob, size, {
    start: size - tail.length,
    bytes: tail,
  });
  const zip = await yauzl.fromRandomAccessReaderPromise(reader, size, { autoClose: false });
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', () => zip.readEntry());
      zip.once('end', resolve).once('error', reject);
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  return hash.digest('hex');
}
