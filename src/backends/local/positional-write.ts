import type { FileHandle } from 'node:fs/promises';

/** Writes every buffer at `position`; returns the number of bytes written. */
export async function writeAt(handle: FileHandle, buffers: Buffer[], position: number) {
  const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
  const { bytesWritten } = await handle.writev(buffers, position);
  // writev may stop short; finish the rest with plain positional writes.
  let rest = bytesWritten < total ? Buffer.concat(buffers).subarray(bytesWritten) : undefined;
  let at = position + bytesWritten;
  while (rest && rest.length > 0) {
    const written = await handle.write(rest, 0, rest.length, at);
    rest = rest.subarray(written.bytesWritten);
    at += written.bytesWritten;
  }
  return total;
}

/** A sink for readBody that appends batches to a file from `start` on. */
export function fileSink(handle: FileHandle, start: number) {
  let position = start;
  return async (buffers: Buffer[]) => {
    const at = position;
    position += buffers.reduce((sum, buffer) => sum + buffer.length, 0);
    await writeAt(handle, buffers, at);
  };
}
