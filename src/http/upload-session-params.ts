import { errors } from '../errors.ts';

/** Parsing of the two upload-session request values: `session-id` and `Content-Range`. */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';

/** A GUID, with or without braces; answered in lower case like the gateway writes GUIDs. */
export function parseSessionId(value: string | undefined): string {
  if (value === undefined || value === '') {
    throw errors.invalidUploadSessionId('The session-id query parameter (a GUID) is required');
  }
  const bare = /^\{.*\}$/.test(value) ? value.slice(1, -1) : value;
  if (!GUID.test(bare)) {
    throw errors.invalidUploadSessionId(`The session-id '${value}' is not a GUID`);
  }
  const id = bare.toLowerCase();
  if (id === EMPTY_GUID) {
    throw errors.invalidUploadSessionId(`The session-id '${value}' is the empty GUID`);
  }
  return id;
}

export interface ContentRange {
  start: number;
  end: number;
  total: number;
}

const CONTENT_RANGE = /^(?:bytes\s+)?(\d+)\s*-\s*(\d+)\s*\/\s*(\d+)$/i;

/** `bytes first-last/length` with an inclusive last byte that lies inside the file. */
export function parseContentRange(header: string | undefined): ContentRange {
  if (header === undefined) {
    throw errors.rangeNotSatisfiable(
      "The Content-Range header is required, e.g. 'bytes 0-26214399/1073741824'",
    );
  }
  const match = CONTENT_RANGE.exec(header.trim());
  const [start, end, total] = match ? match.slice(1).map(Number) : [];
  if (!match) {
    throw errors.rangeNotSatisfiable(
      `Content-Range '${header}' is not of the form 'bytes <first>-<last>/<length>'`,
    );
  }
  if (![start, end, total].every(Number.isSafeInteger)) {
    throw errors.rangeNotSatisfiable(`Content-Range '${header}' has a number that is too large`);
  }
  if (start > end) {
    throw errors.rangeNotSatisfiable(`Content-Range '${header}' starts after its last byte`);
  }
  if (end >= total) {
    throw errors.rangeNotSatisfiable(
      total === 0
        ? `Content-Range '${header}' names bytes of an empty file; upload empty files whole`
        : `Content-Range '${header}' ends at byte ${end}, past the last byte (${total - 1}) ` +
            `of a ${total}-byte file`,
    );
  }
  return { start, end, total };
}
