import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import { errors, FabricError } from '../errors.ts';
import type { ImageStore } from '../store/image-store.ts';
import { registerImageStoreRoutes } from './image-store-routes.ts';
import type { Operation } from './operation.ts';

export interface HttpServerOptions {
  store: ImageStore;
  logger: Logger;
  maxApiVersion: number;
  imageStoreOperations?: Operation[];
  /** Further route families (application types, ...) registered on the same server. */
  plugins?: ((app: FastifyInstance) => void)[];
}

export function buildHttpServer(options: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // One access line per request is written by the onResponse hook below instead.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: 8192 },
    requestIdHeader: 'x-servicefabricrequestid',
    genReqId: () => randomUUID(),
    // Uploads stream for as long as the operation's own timeout allows.
    requestTimeout: 0,
    // A URL Fastify cannot decode never reaches the error handler; answer it the same way.
    frameworkErrors: (error, _request, reply) => {
      const fabric = errors.invalidArgument(error.message);
      reply.raw.writeHead(fabric.status, { 'content-type': 'application/json; charset=utf-8' });
      reply.raw.end(JSON.stringify({ Error: { Code: fabric.code, Message: fabric.message } }));
    },
  });

  // Bodies are never parsed by Fastify: uploads are stored byte for byte, whatever their
  // Content-Type, and JSON bodies are read by the operations that take them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  app.addHook('onRequest', async (request) => {
    request.startedAt = process.hrtime.bigint();
  });
  app.addHook('onResponse', async (request, reply) => {
    const ms = Number(process.hrtime.bigint() - request.startedAt) / 1e6;
    request.log.info(
      {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        bytesIn: Number(request.headers['content-length'] ?? 0),
        bytesOut: Number(reply.getHeader('content-length') ?? 0),
        ms: Math.round(ms * 10) / 10,
      },
      'request',
    );
  });

  app.setErrorHandler(async (error, request, reply) => {
    let fabric: FabricError;
    if (error instanceof FabricError) {
      fabric = error;
    } else if (isClientError(error)) {
      fabric = errors.invalidArgument(error.message);
    } else {
      request.log.error({ err: error }, 'unexpected failure');
      fabric = errors.internal(String(request.id));
    }
    // A body the client is still sending is not read any further.
    if (!request.raw.complete) reply.header('connection', 'close');
    return reply
      .code(fabric.status)
      .header('content-type', 'application/json; charset=utf-8')
      .send(JSON.stringify({ Error: { Code: fabric.code, Message: fabric.message } }));
  });

  app.setNotFoundHandler(async (request) => {
    throw errors.invalidArgument(
      `${request.method} ${request.url.split('?')[0]} is not an operation of this server`,
    );
  });

  registerImageStoreRoutes(app, options.store, options.maxApiVersion, options.imageStoreOperations);
  for (const plugin of options.plugins ?? []) plugin(app);
  return app;
}

function isClientError(error: unknown): error is Error {
  const status = (error as { statusCode?: number }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

declare module 'fastify' {
  interface FastifyRequest {
    startedAt: bigint;
  }
}
