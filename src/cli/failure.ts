import { join, resolve } from 'node:path';
import { CATALOG_FILE } from '../catalog/sqlite/sqlite-catalog.ts';

/** A failure whose message is already what the user should read. */
export class CliError extends Error {}

/** What the command was working on, so a low-level error can name it. */
export interface FailureContext {
  root?: string;
  host?: string;
  port?: number;
}

interface SystemError extends Error {
  code?: string;
  syscall?: string;
  path?: string;
  hostname?: string;
}

/** One line saying what went wrong, in the user's terms rather than a stack trace. */
export function describeFailure(error: unknown, context: FailureContext): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof CliError) return error.message;
  const { code, syscall, path } = error as SystemError;
  const where = `${context.host}:${context.port}`;
  const catalog = context.root && join(resolve(context.root), 'catalog', CATALOG_FILE);
  switch (code) {
    case 'SQLITE_CORRUPT':
    case 'SQLITE_NOTADB':
      return `the catalog file at ${catalog} is not a valid database (${error.message})`;
    case 'SQLITE_CANTOPEN':
      return `the catalog file at ${catalog} cannot be opened (${error.message})`;
    case 'SQLITE_READONLY':
      return `the catalog file at ${catalog} is read-only`;
    case 'EADDRINUSE':
      return `cannot listen on ${where}: the port ${context.port} is already in use`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: ${context.host} is not an address of this machine`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `cannot listen on ${where}: the host name ${context.host} does not resolve`;
  }
  if (code === 'EACCES' && (syscall === 'listen' || syscall === 'bind')) {
    return `cannot listen on ${where}: permission denied (ports below 1024 need privileges)`;
  }
  if (code === 'ENOTDIR' || code === 'EEXIST') {
    return `the store root ${context.root} is not a folder (${code} on ${path ?? 'it'})`;
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return `the store root ${context.root} cannot be written (${code} on ${path ?? 'it'})`;
  }
  return error.message.split('\n', 1)[0];
}
