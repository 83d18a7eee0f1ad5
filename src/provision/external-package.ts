import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import type { BlobStore } from '../backends/blob-store.ts';
import { errors, FabricError } from '../errors.ts';
import { SEPARATOR, toKey } from '../store/store-path.ts';
import { PackageSource, type PackageFile } from './package-source.ts';

const openZip = promisify<string, yauzl.Options, yauzl.ZipFile>(yauzl.open);

export interface DownloadOptions {
  blobs: BlobStore;
  /** Private folder for the downloaded archive while it is unpacked. */
  workDir: string;
  /** Largest archive, and largest total unpacked size, accepted. */
  maxBytes: number;
  signal: AbortSignal;
}

/** `ApplicationPackageDownloadUri` must be an http(s) URL of an `.sfpkg` file. */
export function parseDownloadUri(value: string): URL {
  let uri: URL;
  try {
    uri = new URL(value);
  } catch {
    throw errors.invalidArgument(`ApplicationPackageDownloadUri '${value}' is not a URL`);
  }
  if (uri.protocol !== 'http:' && uri.protocol !== 'https:') {
    throw errors.invalidArgument(
      `ApplicationPackageDownloadUri '${value}' must use http or https, not ${uri.protocol}`,
    );
  }
  if (!uri.pathname.toLowerCase().endsWith('.sfpkg')) {
    throw errors.imageBuilderValidation(
      `ApplicationPackageDownloadUri '${value}' does not name an .sfpkg file`,
    );
  }
  return uri;
}

/**
 * Downloads an `.sfpkg` (a zip of the application package) and unpacks every file into a blob of
 * its own. The blobs belong to the provision: registered as they are, deleted otherwise.
 */
export async function downloadPackage(uri: URL, options: DownloadOptions): Promise<PackageSource> {
  await mkdir(options.workDir, { recursive: true });
  const archive = join(options.workDir, `${randomUUID()}.sfpkg`);
  try {
    await download(uri, archive, options);
    const files = await unpack(uri, archive, options);
    const describe = (relative: string) => `${relative} (in ${uri.href})`;
    return new PackageSource(files, describe, true);
  } finally {
    await rm(archive, { force: true });
  }
}

async function download(uri: URL, archive: string, { maxBytes, signal }: DownloadOptions) {
  let response: Response;
  try {
    response = await fetch(uri, { signal, redirect: 'follow' });
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw errors.imageBuilderValidation(
      `ApplicationPackageDownloadUri '${uri.href}' could not be downloaded: ${causeOf(error)}`,
    );
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw errors.imageBuilderValidation(
      `ApplicationPackageDownloadUri '${uri.href}' could not be downloaded: ` +
        `HTTP ${response.status}`,
    );
  }
  const tooLarge = () =>
    errors.valueTooLarge(
      `The package at '${uri.href}' is larger than the ${maxBytes} bytes a download may have`,
    );
  if (Number(response.headers.get('content-length') ?? 0) > maxBytes) {
    await response.body.cancel();
    throw tooLarge();
  }
  let received = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      done(received > maxBytes ? tooLarge() : null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
      limit,
      createWriteStream(archive),
      { signal },
    );
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (error instanceof FabricError) throw error;
    throw errors.imageBuilderValidation(
      `ApplicationPackageDownloadUri '${uri.href}' could not be downloaded: ${causeOf(error)}`,
    );
  }
}

async function unpack(uri: URL, archive: string, options: DownloadOptions): Promise<PackageFile[]> {
  const bad = (what: string) =>
    errors.imageBuilderValidation(`The package at '${uri.href}' ${what}`);
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(archive, { lazyEntries: true, autoClose: false });
  } catch (error) {
    throw bad(`is not a readable zip archive: ${causeOf(error)}`);
  }
  const files: PackageFile[] = [];
  const seen = new Set<string>();
  let total = 0;
  try {
    for await (const entry of entries(zip)) {
      options.signal.throwIfAborted();
      if (entry.fileName.endsWith('/')) continue;
      const relativePath = entry.fileName.split('/').join(SEPARATOR);
      if (seen.has(toKey(relativePath))) throw bad(`holds '${relativePath}' more than once`);
      seen.add(toKey(relativePath));
      total += entry.uncompressedSize;
      if (total > options.maxBytes) {
        throw errors.valueTooLarge(
          `The package at '${uri.href}' unpacks to more than ${options.maxBytes} bytes`,
        );
      }
      files.push(await unpackEntry(zip, entry, relativePath, options, bad));
    }
    return files;
  } catch (error) {
    await options.blobs.deleteBlobs(files.map((file) => file.blob));
    if (error instanceof FabricError || options.signal.aborted) throw error;
    throw bad(`could not be unpacked: ${causeOf(error)}`);
  } finally {
    zip.close();
  }
}

/**
 * Inflates one entry into a blob. Broken deflate data, or an entry whose real size differs from
 * its declared one, is bad package content, named with the entry.
 */
async function unpackEntry(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  relativePath: string,
  options: DownloadOptions,
  bad: (what: string) => FabricError,
): Promise<PackageFile> {
  try {
    const stream = await promisify(zip.openReadStream.bind(zip))(entry);
    const checked = stream.pipe(crcCheck(entry.crc32));
    stream.on('error', (error) => checked.destroy(error));
    const written = await options.blobs.writeBlob(checked, { signal: options.signal });
    return { relativePath, size: written.size, blob: written.blob };
  } catch (error) {
    if (error instanceof FabricError || options.signal.aborted) throw error;
    throw bad(`has a corrupt entry '${entry.fileName}': ${causeOf(error)}`);
  }
}

/** Passes the bytes through and fails at the end when their CRC-32 is not `expected`. */
function crcCheck(expected: number): Transform {
  let crc = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      crc = crc32(chunk, crc);
      done(null, chunk);
    },
    flush(done) {
      const hex = (n: number) => n.toString(16).padStart(8, '0');
      done(crc === expected ? null : new Error(`CRC-32 ${hex(crc)}, declared ${hex(expected)}`));
    },
  });
}

/** The entries of a lazily read zip file, one at a time. */
async function* entries(zip: yauzl.ZipFile): AsyncGenerator<yauzl.Entry> {
  for (;;) {
    const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
      const cleanup = () => {
        zip.off('entry', onEntry);
        zip.off('end', onEnd);
        zip.off('error', onError);
      };
      const onEntry = (e: yauzl.Entry) => (cleanup(), resolve(e));
      const onEnd = () => (cleanup(), resolve(undefined));
      const onError = (e: Error) => (cleanup(), reject(e));
      zip.on('entry', onEntry).on('end', onEnd).on('error', onError);
      zip.readEntry();
    });
    if (!entry) return;
    yield entry;
  }
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { message?: string } }).cause?.message;
  return cause ?? (error as Error).message ?? String(error);
}
