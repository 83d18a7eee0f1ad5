import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { errors, FabricError, fromSystemError } from '../errors.ts';
import type { ImageStore } from '../store/image-store.ts';
import { clientErrorHandler } from './client-errors.ts';
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
      reply.raw.end(fabric.toBody());
    },
    // Requests Node's parser refuses never reach Fastify's routing or error handler.
    clientErrorHandler: clientErrorHandler(options.logger),
  });

  // Bodies are never parsed by Fastify: uploads are stored byte for byte, whatever their
  // Content-Type, and JSON bodies are read by the operations that take them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  app.addHook('onRequest', async (request, reply) => {
    request.startedAt = process.hrtime.bigint();
    // Fastify calls onResponse only for a response that finished; a client that leaves first
    // (mid-body, or before the answer) still gets its one access line here.
    reply.raw.once('close', () => {
      if (reply.raw.writableFinished) return;
      const status = reply.raw.headersSent ? reply.statusCode : undefined;
      const note = 'client went away before the response was sent';
      request.log.warn({ ...accessEntry(request, reply), status, note }, 'request');
    });
  });
  app.addHook('onResponse', async (request, reply) => {
    if (!reply.raw.writableFinished) return;
    request.log.info(accessEntry(request, reply), 'request');
  });

  app.setErrorHandler(async (error, request, reply) => {
    let fabric: FabricError;
    const system = fromSystemError(error);
    if (error instanceof FabricError) {
      fabric = error;
    } else if (system) {
      fabric = system;
      request.log.warn({ err: error }, fabric.message);
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
      .send(fabric.toBody());
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

function accessEntry(request: FastifyRequest, reply: FastifyReply) {
  const ms = Number(process.hrtime.bigint() - request.startedAt) / 1e6;
  return {
    method: request.method,
    url: request.url,
    status: reply.statusCode,
    bytesIn: Number(request.headers['content-length'] ?? 0),
    bytesOut: Number(reply.getHeader('content-length') ?? 0),
    ms: Math.round(ms * 10) / 10,
  };
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
