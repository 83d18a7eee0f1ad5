import type { BlobStore } from '../backends/blob-store.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { errors } from '../errors.ts';
import { joinPath, SEPARATOR, toKey, type StorePath } from '../store/store-path.ts';

/** A file of an application package being provisioned. */
export interface PackageFile {
  /** Path below the package root, `\` separators, the uploader's casing. */
  relativePath: string;
  size: number;
  blob: string;
}

/**
 * The files of an application package, wherever they came from: a build path in the image
 * store, or an `.sfpkg` downloaded into blobs of this provision.
 */
export class PackageSource {
  private readonly files = new Map<string, PackageFile>();
  private readonly sortedKeys: string[];

  constructor(
    files: PackageFile[],
    /** How messages name a file of the package. */
    readonly describe: (relativePath: string) => string,
    /** True when the blobs belong to this provision and are registered without a copy. */
    readonly ownsBlobs: boolean,
  ) {
    for (const file of files) this.files.set(toKey(file.relativePath), file);
    this.sortedKeys = [...this.files.keys()].sort();
  }

  file(relativePath: string): PackageFile | undefined {
    return this.files.get(toKey(relativePath));
  }

  /** Files strictly below a folder, in key order; none when the folder does not exist. */
  filesUnder(relativeFolder: string): PackageFile[] {
    const prefix = toKey(relativeFolder) + SEPARATOR;
    let low = 0;
    let high = this.sortedKeys.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.sortedKeys[mid] < prefix) low = mid + 1;
      else high = mid;
    }
    const found: PackageFile[] = [];
    for (let i = low; i < this.sortedKeys.length && this.sortedKeys[i].startsWith(prefix); i++) {
      found.push(this.files.get(this.sortedKeys[i])!);
    }
    return found;
  }

  /**
   * Runs `work` on a file's blob. An upload's blobs are the store's: a blob that vanished means
   * the file was deleted or overwritten while the package was being provisioned.
   */
  async read<T>(file: PackageFile, work: (blob: string) => Promise<T>): Promise<T> {
    try {
      return await work(file.blob);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
      throw packageChanged(this.describe(file.relativePath));
    }
  }

  all(): PackageFile[] {
    return [...this.files.values()];
  }

  blobs(): string[] {
    return this.all().map((file) => file.blob);
  }
}

/** The files of an uploaded build path, read from the catalog; their blobs stay the store's. */
export async function imageStoreSource(catalog: Catalog, buildPath: StorePath) {
  const depth = buildPath.segments.length;
  const files = (await catalog.listTree(buildPath.key)).map((file) => ({
    relativePath: file.path.split(SEPARATOR).slice(depth).join(SEPARATOR),
    size: file.size,
    blob: file.blob,
  }));
  return new PackageSource(files, (relative) => joinPath(buildPath.path, relative), false);
}

/** Reads a whole package file, refusing anything larger than `limit` bytes. */
export async function readPackageFile(
  blobs: BlobStore,
  source: PackageSource,
  file: PackageFile,
  limit: number,
): Promise<Buffer> {
  if (file.size > limit) {
    throw errors.imageBuilderValidation(
      `'${source.describe(file.relativePath)}' is ${file.size} bytes; ` +
        `a manifest may have at most ${limit}`,
    );
  }
  return source.read(file, async (blob) => {
    const chunks: Buffer[] = [];
    for await (const chunk of blobs.readBlob(blob)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  });
}

export function packageChanged(path: string) {
  return errors.imageBuilderValidation(
    `'${path}' was deleted or overwritten while the package was being provisioned; ` +
      'nothing was registered. Upload the package again and leave it unchanged until the ' +
      'provision has finished',
  );
}
