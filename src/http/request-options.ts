import { errors } from '../errors.ts';

export const DEFAULT_TIMEOUT_SECONDS = 60;
const MAX_TIMEOUT_SECONDS = 4294967295;
/** Node timers cannot wait longer than this; longer timeouts simply never fire early. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The query string the way the gateway reads it: names are case-sensitive, first one wins. */
export function parseQuery(rawUrl: string): Map<string, string> {
  const query = new Map<string, string>();
  const cut = rawUrl.indexOf('?');
  if (cut < 0) return query;
  for (const [name, value] of new URLSearchParams(rawUrl.slice(cut + 1))) {
    if (!query.has(name)) query.set(name, value);
  }
  return query;
}

export interface VersionRange {
  min: number;
  max: number;
}

/**
 * `api-version` is required, may carry a `-preview` suffix, and must lie between the version
 * that introduced the operation and the server's maximum.
 */
export function parseApiVersion(value: string | undefined, range: VersionRange, operation: string) {
  const accepted =
    `accepted versions for ${operation} are ` +
    `${formatVersion(range.min)} to ${formatVersion(range.max)}`;
  if (value === undefined) {
    throw errors.invalidArgument(`The api-version query parameter is required; ${accepted}`);
  }
  const number = value.replace(/-preview$/i, '');
  const version = /^\d+(\.\d+)?$/.test(number) ? Number(number) : NaN;
  if (!(version >= range.min && version <= range.max)) {
    throw errors.invalidArgument(`api-version '${value}' is not supported; ${accepted}`);
  }
  return version;
}

export function formatVersion(version: number): string {
  return Number.isInteger(version) ? version.toFixed(1) : String(version);
}

/** `timeout` is whole seconds from 1 to 4294967295; 60 when absent. */
export function parseTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_SECONDS;
  const seconds = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (!(seconds >= 1 && seconds <= MAX_TIMEOUT_SECONDS)) {
    throw errors.invalidArgument(
      `timeout '${value}' is not valid; ` +
        `it must be a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}`,
    );
  }
  return seconds;
}

/** An abort signal that fires with FABRIC_E_TIMEOUT when the request's time is up. */
export function deadline(
  seconds: number,
  operation: string,
): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(errors.timeout(`${operation} did not finish within ${seconds} seconds`)),
    Math.min(seconds * 1000, MAX_TIMER_MS),
  );
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
