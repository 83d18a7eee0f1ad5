import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

const PIECE = 4 << 20;

/** A file of `size` random bytes, synced, so no peer can profit from compressible data. */
export async function writeRandomFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    for (let written = 0; written < size; written += PIECE) {
      await handle.write(randomBytes(Math.min(PIECE, size - written)));
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync of a file and of its folder: what it costs to make a finished write durable. */
export async function fsyncFileAndFolder(path: string): Promise<void> {
  for (const target of [path, dirname(path)]) {
    const handle = await open(target, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

/** The disk's own pace with no HTTP: stream a file to a new one in 1 MiB writes, then fsync. */
export async function copyDurably(from: string, to: string): Promise<void> {
  const handle = await open(to, 'w');
  try {
    for await (const chunk of createReadStream(from, { highWaterMark: 1 << 20 })) {
      await handle.write(chunk as Buffer);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes every dirty page, so one run's write-back is not billed to the next. */
export async function syncAll(): Promise<void> {
  await promisify(execFile)('sync');
}
