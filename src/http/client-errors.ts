import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { errors } from '../errors.ts';

/** What Node's HTTP parser reports about a request it could not read. */
interface ParserError extends Error {
  code?: string;
  /** llhttp's own description, e.g. `Invalid character in Content-Length`. */
  reason?: string;
}

/** The client left (or reset the connection): there is nobody to answer. */
const GONE = new Set(['ECONNRESET', 'EPIPE', 'HPE_INVALID_EOF_STATE']);

/**
 * Answers requests Node's HTTP parser refuses before Fastify sees them (oversized headers, a
 * malformed request line or framing header, headers sent too slowly) the way every other client
 * mistake is answered, `{"Error":{"Code","Message"}}`, and closes the connection: after a
 * framing error nothing further on it can be trusted.
 */
export function clientErrorHandler(log: Logger) {
  return (error: ParserError, socket: Socket) => {
    if (GONE.has(error.code ?? '') || socket.destroyed) {
      log.debug({ code: error.code }, 'client connection closed mid-request');
      socket.destroy();
      return;
    }
    const { status, message } = describe(error);
    log.warn(
      { status, code: error.code, reason: error.reason, remoteAddress: socket.remoteAddress },
      `request refused before routing: ${message}`,
    );
    // A response already under way on this connection cannot be followed by another one.
    if (!socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const fabric = errors.invalidArgument(message);
    const body = fabric.toBody();
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
      () => socket.destroy(),
    );
  };
}

function describe(error: ParserError): { status: number; message: string } {
  const reason = error.reason ?? error.message;
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        message: `The request headers exceed the ${maxHeaderSize} bytes this server accepts`,
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'The request headers were not received in time' };
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return { status: 400, message: `The Content-Length header is not valid: ${reason}` };
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return { status: 400, message: `The Transfer-Encoding header is not valid: ${reason}` };
    case 'HPE_INVALID_METHOD':
    case 'HPE_INVALID_URL':
    case 'HPE_INVALID_VERSION':
    case 'HPE_INVALID_CONSTANT':
      return { status: 400, message: `The request line is malformed: ${reason}` };
    default:
      return { status: 400, message: `The request could not be parsed: ${reason}` };
  }
}
