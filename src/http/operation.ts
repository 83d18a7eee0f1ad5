import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { ImageStore } from '../store/image-store.ts';
import type { StorePath } from '../store/store-path.ts';

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** Everything a handler needs, already parsed and validated by the dispatcher. */
export interface OperationContext {
  request: FastifyRequest;
  reply: FastifyReply;
  store: ImageStore;
  log: Logger;
  /** Normalised `{contentPath}`; the root when the URL names none. */
  path: StorePath;
  /** `{contentPath}` as the caller spelled it, after percent-decoding. */
  rawPath: string;
  query: Map<string, string>;
  apiVersion: number;
  timeoutSeconds: number;
  signal: AbortSignal;
}

export interface Operation {
  /** Name used in logs and messages, e.g. `UploadFile`. */
  name: string;
  method: HttpMethod;
  /** The `$/<Function>` segment, or '' for plain content operations. */
  fn: string;
  /** The api-version in which the operation first appeared. */
  minApiVersion: number;
  /** Whether `{contentPath}` may, must or must not be present. */
  path: 'none' | 'optional' | 'required';
  handle(context: OperationContext): Promise<void>;
}

/** Sends a 200 with a JSON body, or an empty one as the gateway does for writes. */
export function sendJson(reply: FastifyReply, body?: unknown, status = 200) {
  reply.code(status).header('content-type', 'application/json; charset=utf-8');
  return reply.send(body === undefined ? '' : JSON.stringify(body));
}
