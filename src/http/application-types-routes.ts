import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../errors.ts';
import type { Provisioner } from '../provision/provisioner.ts';
import { decodeUrlPath } from '../store/store-path.ts';
import { applicationTypeOperations } from './handlers/application-types.ts';
import { parseApiVersion, parseQuery, parseTimeout } from './request-options.ts';

const PREFIX = '/ApplicationTypes';

/**
 * Splits `/ApplicationTypes[/{applicationTypeName}][/$/{Function}]` the way the gateway does:
 * a trailing `/` is ignored (SFX sends `ApplicationTypes/`), the first `$` segment starts the
 * function, and the type name is percent-decoded after splitting.
 */
export function splitApplicationTypesUrl(rawUrl: string) {
  const pathname = rawUrl.split('?', 1)[0].slice(PREFIX.length).replace(/\/+$/, '');
  const segments = pathname === '' ? [] : pathname.slice(1).split('/');
  const dollar = segments.indexOf('$');
  const nameSegments = dollar < 0 ? segments : segments.slice(0, dollar);
  const fn = dollar < 0 ? '' : segments.slice(dollar + 1).join('/');
  const typeName = nameSegments.length === 0 ? undefined : decodeUrlPath(nameSegments.join('/'));
  return { typeName, fn };
}

/** A query value exactly as sent, percent-decoded but with `+` kept (ContinuationToken). */
export function rawQueryValue(rawUrl: string, name: string): string | undefined {
  const cut = rawUrl.indexOf('?');
  if (cut < 0) return undefined;
  for (const pair of rawUrl.slice(cut + 1).split('&')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq) !== name) continue;
    return decodeUrlPath(pair.slice(eq + 1));
  }
  return undefined;
}

/** The `/ApplicationTypes` routes, as a plugin for `buildHttpServer`. */
export function applicationTypeRoutes(provisioner: Provisioner, maxApiVersion: number) {
  return (app: FastifyInstance) => {
    async function dispatch(request: FastifyRequest, reply: FastifyReply) {
      const rawUrl = request.raw.url ?? '';
      const { typeName, fn } = splitApplicationTypesUrl(rawUrl);
      const operation = applicationTypeOperations.find(
        (op) =>
          op.method === request.method &&
          op.named === (typeName !== undefined) &&
          op.fn.toLowerCase() === fn.toLowerCase(),
      );
      if (!operation) {
        const target = fn === '' ? 'ApplicationTypes' : `ApplicationTypes '$/${fn}'`;
        throw errors.invalidArgument(`${request.method} is not an operation on ${target}`);
      }
      const query = parseQuery(rawUrl);
      const apiVersion = parseApiVersion(
        query.get('api-version'),
        { min: operation.minApiVersion, max: maxApiVersion },
        operation.name,
      );
      await operation.handle({
        request,
        reply,
        provisioner,
        log: request.log,
        typeName,
        query,
        continuationToken: rawQueryValue(rawUrl, 'ContinuationToken'),
        apiVersion,
        timeoutSeconds: parseTimeout(query.get('timeout')),
      });
      return reply;
    }

    for (const url of [PREFIX, `${PREFIX}/*`]) {
      app.route({ method: ['GET', 'POST'], url, handler: dispatch });
    }
  };
}
