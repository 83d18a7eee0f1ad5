import { errors } from '../errors.ts';
import type { NewFile } from '../catalog/catalog.ts';
import type { ImageStore } from './image-store.ts';
import { mapConcurrent } from './map-concurrent.ts';
import {
  fileName,
  MARKER_FILE,
  SEPARATOR,
  type StorePath,
  refuseReservedName,
} from './store-path.ts';

export type CopyFlag = 'Overwrite' | 'Echo';

export interface CopyRequest {
  source: StorePath;
  destination: StorePath;
  skipFiles: string[];
  flag: CopyFlag;
}

const COPY_CONCURRENCY = 8;

/**
 * Copies a file, or a folder whose `_.dir` marker says its upload finished. Every copied file
 * gets its own blob; the destination appears in one catalog transaction, marker included, after
 * any old destination content is removed. `Echo` leaves a complete destination untouched.
 */
export async function copyContent(store: ImageStore, request: CopyRequest, signal?: AbortSignal) {
  const { source, destination } = request;
  refuseReservedName(destination);
  if (overlaps(source.key, destination.key)) {
    throw errors.invalidArgument(
      `RemoteSource '${source.path}' and RemoteDestination '${destination.path}' overlap`,
    );
  }
  const skip = new Set(request.skipFiles.map((name) => name.toLowerCase()));
  const catalog = store.catalog;

  const sourceFile = await catalog.getFile(source.key);
  const marker = await catalog.getFile(source.key + SEPARATOR + MARKER_FILE);
  if (!sourceFile && !marker) {
    throw errors.fileNotFound(
      `RemoteSource '${source.path}' is neither a file nor a folder with a '${MARKER_FILE}' marker`,
    );
  }

  let plan: CopyStep[];
  if (sourceFile) {
    if (request.flag === 'Echo' && (await catalog.getFile(destination.key))) return;
    plan = [{ from: sourceFile.blob, to: destination.path, size: sourceFile.size }];
  } else {
    const destinationMarker = destination.key + SEPARATOR + MARKER_FILE;
    if (request.flag === 'Echo' && (await catalog.getFile(destinationMarker))) return;
    const files = await catalog.listTree(source.key);
    // The top-level marker goes last: the destination is complete only once it is there.
    const ordered = [...files.filter((f) => f.key !== marker!.key), marker!];
    plan = ordered
      .filter((file) => !skip.has(fileName(file.key)) || file === marker)
      .map((file) => ({
        from: file.blob,
        to: destination.path + file.path.slice(source.path.length),
        size: file.size,
      }));
  }

  const puts = await copyBlobs(store, plan, signal);
  try {
    signal?.throwIfAborted();
    const result = await catalog.applyFileMutation({
      removeFiles: sourceFile ? [] : [destination.key],
      removeTrees: sourceFile ? [] : [destination.key],
      puts,
    });
    store.garbage.release(result.freedBlobs);
  } catch (error) {
    await store.blobs.deleteBlobs(puts.map((put) => put.blob));
    throw error;
  }
}

interface CopyStep {
  from: string;
  to: string;
  size: number;
}

/** Copies the blobs of a plan, a few at a time; on failure none of the copies is left behind. */
async function copyBlobs(store: ImageStore, plan: CopyStep[], signal?: AbortSignal) {
  const created: string[] = [];
  const copyOne = async (step: CopyStep): Promise<NewFile> => {
    const blob = await store.blobs.copyBlob(step.from);
    created.push(blob);
    return { path: step.to, size: step.size, blob };
  };
  try {
    return await mapConcurrent(plan, COPY_CONCURRENCY, copyOne, signal);
  } catch (error) {
    await store.blobs.deleteBlobs(created);
    throw error;
  }
}

function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(b + SEPARATOR) || b.startsWith(a + SEPARATOR);
}
