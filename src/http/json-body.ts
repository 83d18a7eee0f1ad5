import type { IncomingMessage } from 'node:http';
import { errors } from '../errors.ts';

/** The gateway's limit for JSON request bodies (HttpGateway/MaxEntityBodySize). */
export const MAX_JSON_BODY_BYTES = 4 * 1024 * 1024;

export async function readJsonBody(request: IncomingMessage, what: string): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BODY_BYTES) {
      throw errors.valueTooLarge(`The ${what} body is larger than ${MAX_JSON_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw errors.invalidArgument(`The ${what} body is required`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw errors.invalidArgument(`The ${what} body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Reads a property case-insensitively, as the gateway's deserializer does. */
export function property(body: unknown, name: string): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(body)) {
    if (key.toLowerCase() === lower) return value;
  }
  return undefined;
}

export function requireObject(body: unknown, what: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw errors.invalidArgument(`The ${what} body must be a JSON object`);
  }
  return body as Record<string, unknown>;
}

export function stringProperty(body: unknown, name: string, required: true): string;
export function stringProperty(body: unknown, name: string, required?: false): string | undefined;
export function stringProperty(body: unknown, name: string, required = false) {
  const value = property(body, name);
  if (value === undefined || value === null) {
    if (required) throw errors.invalidArgument(`The property '${name}' is required`);
    return undefined;
  }
  if (typeof value !== 'string') {
    throw errors.invalidArgument(
      `The property '${name}' must be a string, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

export function booleanProperty(body: unknown, name: string): boolean | undefined {
  const value = property(body, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') {
    throw errors.invalidArgument(
      `The property '${name}' must be true or false, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}
