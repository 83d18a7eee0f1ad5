import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../errors.ts';
import type { ImageStore } from '../store/image-store.ts';
import { decodeUrlPath, parseStorePath, ROOT } from '../store/store-path.ts';
import { contentOperations } from './handlers/content.ts';
import { uploadSessionOperations } from './handlers/upload-sessions.ts';
import { usageOperations } from './handlers/usage.ts';
import type { HttpMethod, Operation } from './operation.ts';
import { deadline, parseApiVersion, parseQuery, parseTimeout } from './request-options.ts';

const PREFIX = '/ImageStore';

/**
 * Splits an ImageStore URL the way the gateway does: the segments before the first `$` segment
 * are `{contentPath}` (percent-decoded afterwards, so `%2F` and `%5C` are separators too), the
 * segments after it name the function.
 */
export function splitImageStoreUrl(rawUrl: string): { rawPath: string; fn: string } {
  const pathname = rawUrl.split('?', 1)[0].slice(PREFIX.length);
  const segments = pathname.split('/');
  const dollar = segments.indexOf('$');
  const content = dollar < 0 ? segments : segments.slice(0, dollar);
  const fn = dollar < 0 ? '' : segments.slice(dollar + 1).join('/');
  if (dollar >= 0 && fn === '') {
    throw errors.invalidArgument(`'${pathname}' names no operation after its '$' segment`);
  }
  return { rawPath: decodeUrlPath(content.join('/')), fn };
}

export function registerImageStoreRoutes(
  app: FastifyInstance,
  store: ImageStore,
  maxApiVersion: number,
  extraOperations: Operation[] = [],
) {
  const operations = [
    ...contentOperations,
    ...usageOperations,
    ...uploadSessionOperations,
    ...extraOperations,
  ];
  const find = (method: string, fn: string) =>
    operations.find((op) => op.method === method && op.fn.toLowerCase() === fn.toLowerCase());

  async function dispatch(request: FastifyRequest, reply: FastifyReply) {
    const { rawPath, fn } = splitImageStoreUrl(request.raw.url ?? '');
    const operation = find(request.method, fn);
    if (!operation) {
      const what = fn === '' ? 'content' : `'$/${fn}'`;
      throw errors.invalidArgument(`${request.method} is not an ImageStore operation on ${what}`);
    }
    const query = parseQuery(request.raw.url ?? '');
    const apiVersion = parseApiVersion(
      query.get('api-version'),
      { min: operation.minApiVersion, max: maxApiVersion },
      operation.name,
    );
    const timeoutSeconds = parseTimeout(query.get('timeout'));

    const path = parseStorePath(rawPath);
    if (operation.path === 'none' && path !== ROOT) {
      throw errors.invalidArgument(`${operation.name} takes no path, but '${rawPath}' was given`);
    }
    if (operation.path === 'required' && path === ROOT) {
      throw errors.invalidArgument(
        `${operation.name} needs a path, but '${rawPath}' names the root`,
      );
    }

    const { signal, clear } = deadline(timeoutSeconds, operation.name);
    try {
      await operation.handle({
        request,
        reply,
        store,
        log: request.log,
        path,
        rawPath,
        query,
        apiVersion,
        timeoutSeconds,
        signal,
      });
    } finally {
      clear();
    }
    return reply;
  }

  for (const url of [PREFIX, `${PREFIX}/*`]) {
    for (const method of ['GET', 'PUT', 'POST', 'DELETE'] satisfies HttpMethod[]) {
      app.route({ method, url, handler: dispatch });
    }
  }
}
