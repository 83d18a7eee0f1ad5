import type { Catalog } from '../catalog/catalog.ts';
import { errors } from '../errors.ts';
import {
  isReservedFolder,
  joinPath,
  MARKER_FILE,
  parseStorePath,
  SEPARATOR,
  type StorePath,
} from '../store/store-path.ts';
import { imageStoreSource, packageChanged, type PackageSource } from './package-source.ts';

/**
 * Resolves `ApplicationTypeBuildPath` the way ImageBuilder does: a relative path inside the
 * store, outside the reserved folders, naming a folder whose upload finished (its `_.dir`).
 */
export async function openBuildPath(catalog: Catalog, value: string) {
  // A leading separator is trimmed like in every image store path; a drive is refused.
  const spelled = value.replaceAll('/', SEPARATOR);
  if (/^[\s\\]*[A-Za-z]:/.test(spelled)) {
    throw errors.imageBuilderValidation(
      `ApplicationTypeBuildPath '${value}' is rooted; it must be relative to the image store root`,
    );
  }
  if (spelled.split(SEPARATOR).some((segment) => segment.trim() === '..')) {
    throw errors.imageBuilderValidation(
      `ApplicationTypeBuildPath '${value}' contains '..'; it must stay inside the image store`,
    );
  }
  const buildPath = parseStorePath(value, 'ApplicationTypeBuildPath');
  if (buildPath.segments.length === 0) {
    throw errors.invalidArgument(`ApplicationTypeBuildPath '${value}' is empty`);
  }
  const top = parseStorePath(buildPath.segments[0]);
  if (isReservedFolder(top)) {
    throw errors.imageBuilderReservedDirectory(
      `ApplicationTypeBuildPath '${value}' is inside the reserved folder '${top.path}', ` +
        'which holds registered content; upload the package somewhere else',
    );
  }

  if (!(await catalog.getFolder(buildPath.key))) {
    if (await catalog.getFile(buildPath.key)) {
      throw errors.imageBuilderValidation(
        `ApplicationTypeBuildPath '${buildPath.path}' is a file; it must be the package folder`,
      );
    }
    throw errors.directoryNotFound(
      `ApplicationTypeBuildPath '${buildPath.path}' does not exist in the image store`,
    );
  }
  const marker = joinPath(buildPath.path, MARKER_FILE);
  if (!(await catalog.getFile(buildPath.key + SEPARATOR + MARKER_FILE))) {
    throw errors.imageBuilderValidation(
      `'${marker}' is missing: the upload of '${buildPath.path}' is not complete (every ` +
        `uploaded folder ends with an empty ${MARKER_FILE} file)`,
    );
  }
  return { buildPath, source: await imageStoreSource(catalog, buildPath) };
}

/** Fails unless the build path still holds exactly the files, and bytes, the provision read. */
export async function checkBuildPathUnchanged(
  catalog: Catalog,
  buildPath: StorePath,
  source: PackageSource,
) {
  const now = await imageStoreSource(catalog, buildPath);
  for (const file of source.all()) {
    if (now.file(file.relativePath)?.blob !== file.blob) {
      throw packageChanged(source.describe(file.relativePath));
    }
  }
  for (const file of now.all()) {
    if (!source.file(file.relativePath)) throw packageChanged(now.describe(file.relativePath));
  }
}
