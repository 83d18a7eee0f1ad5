import { errors } from '../errors.ts';

/**
 * A normalised image store path. `path` keeps the caller's casing with `\` separators (the way a
 * Windows cluster lists it); `key` is the case-insensitive identity used by the catalog.
 */
export interface StorePath {
  readonly path: string;
  readonly key: string;
  readonly segments: readonly string[];
}

export const ROOT: StorePath = { path: '', key: '', segments: [] };

export const SEPARATOR = '\\';
export const MARKER_FILE = '_.dir';
export const MAX_PATH_LENGTH = 1024;
const MAX_SEGMENT_BYTES = 255;
const RESERVED_FOLDERS = ['store', 'windowsfabricstore'];
/** C0 controls, DEL and the C1 controls (U+0080 to U+009F, e.g. NEL from `%C2%85`). */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

export function toKey(path: string): string {
  return path.toLowerCase();
}

/** Percent-decodes one captured URL path; a malformed escape is a client error. */
export function decodeUrlPath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw errors.invalidArgument(`The path '${raw}' contains an invalid percent-encoding`);
  }
}

/**
 * Normalises a caller's path: `/` and `\` are the same separator, outer spaces and separators are
 * trimmed, repeated separators collapse. `.`/`..` segments and control characters are refused so
 * no request can name anything outside the store.
 */
export function parseStorePath(input: string, what = 'path'): StorePath {
  if (CONTROL_CHARACTER.test(input)) {
    throw errors.invalidArgument(`The ${what} '${printable(input)}' contains a control character`);
  }
  const segments = trimOuter(input.replaceAll('/', SEPARATOR))
    .split(SEPARATOR)
    .filter((segment) => segment !== '');
  if (segments.length === 0) return ROOT;
  for (const segment of segments) {
    if (segment.trim() === '.' || segment.trim() === '..') {
      throw errors.invalidArgument(`The ${what} '${input}' contains a '${segment.trim()}' segment`);
    }
    if (segment.trim() === '') {
      throw errors.invalidArgument(`The ${what} '${input}' contains a name made only of spaces`);
    }
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) {
      throw errors.pathTooLong(
        `The ${what} '${input}' has a segment longer than ${MAX_SEGMENT_BYTES} bytes`,
      );
    }
  }
  const path = segments.join(SEPARATOR);
  if (path.length > MAX_PATH_LENGTH) {
    throw errors.pathTooLong(
      `The ${what} '${input.slice(0, 64)}...' is longer than ${MAX_PATH_LENGTH} characters`,
    );
  }
  return { path, key: toKey(path), segments };
}

/** Like parseStorePath, but the root (an empty path) is refused. */
export function parseRequiredStorePath(input: string, what = 'path'): StorePath {
  const parsed = parseStorePath(input, what);
  if (parsed.segments.length === 0) {
    throw errors.invalidArgument(`The ${what} '${input}' is empty`);
  }
  return parsed;
}

export function joinPath(parent: string, child: string): string {
  return parent === '' ? child : parent + SEPARATOR + child;
}

export function parentKey(key: string): string {
  const cut = key.lastIndexOf(SEPARATOR);
  return cut < 0 ? '' : key.slice(0, cut);
}

export function fileName(path: string): string {
  return path.slice(path.lastIndexOf(SEPARATOR) + 1);
}

/** The keys of every folder that contains `key`, outermost first, without the root. */
export function ancestorKeys(key: string): string[] {
  const keys: string[] = [];
  for (let cut = key.indexOf(SEPARATOR); cut >= 0; cut = key.indexOf(SEPARATOR, cut + 1)) {
    keys.push(key.slice(0, cut));
  }
  return keys;
}

/** True for exactly the top-level `Store` and `WindowsFabricStore` folders. */
export function isReservedFolder(path: StorePath): boolean {
  return path.segments.length === 1 && RESERVED_FOLDERS.includes(path.key);
}

/** Files under `Store\` and `WindowsFabricStore\` are registered content; the rest is copy. */
export function categoryOf(key: string): 'register' | 'copy' {
  const top = key.split(SEPARATOR, 1)[0];
  return RESERVED_FOLDERS.includes(top) && key.includes(SEPARATOR) ? 'register' : 'copy';
}

/** Strips any mix of spaces and separators from both ends: ` \ app\ ` names `app`. */
function trimOuter(path: string): string {
  const outer = (c: string) => c === ' ' || c === SEPARATOR;
  let start = 0;
  let end = path.length;
  while (start < end && outer(path[start])) start++;
  while (end > start && outer(path[end - 1])) end--;
  return path.slice(start, end);
}

function printable(value: string): string {
  return value.replace(
    new RegExp(CONTROL_CHARACTER, 'g'),
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/** `Store` and `WindowsFabricStore` are folders of registered content, never files. */
export function refuseReservedName(path: StorePath) {
  if (isReservedFolder(path)) {
    throw errors.reservedDirectory(path.path, 'is reserved for registered application types');
  }
}
