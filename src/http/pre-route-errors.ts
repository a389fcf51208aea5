// Errors answered before any route runs: by Node's HTTP parser (a head too large, broken
// framing, a request not received in time) and by Fastify's router (a path that is not valid
// percent-encoding, a job id over the parameter limit). Each is a problem+json like every
// other error, with a code from the catalog, and none echoes the request back.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ProblemCode } from '../schemas/problem.js';

export const PROBLEM_TYPE_BASE = 'https://headprobe.dev/problems/';
/** How long a connection answered with a pre-route error may linger before it is closed. */
const CLIENT_ERROR_LINGER_MS = 1_000;

export function problemJson(status: number, code: ProblemCode, detail: string): string {
  return JSON.stringify({
    type: `${PROBLEM_TYPE_BASE}${code}`,
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    code,
  });
}

/** A whole HTTP/1.1 response, for sockets no request object exists for. */
export function rawProblemResponse(
  status: number,
  code: ProblemCode,
  detail: string,
  extraHeaders = '',
): string {
  const body = problemJson(status, code, detail);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
    'Content-Type: application/problem+json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `Connection: close\r\n${extraHeaders}\r\n${body}`
  );
}

function clientErrorProblem(code: string | undefined): [number, ProblemCode, string] {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return [408, 'request_timeout', 'the request was not received in time'];
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return [431, 'headers_too_large', 'the request line and headers are over the size limit'];
  }
  return [400, 'malformed_request', 'the request is not valid HTTP/1.1'];
}

/** Fastify's `clientErrorHandler`: the socket's request never reached the router. */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, detail] = clientErrorProblem(error.code);
  // Answer and half-close, reading (and dropping) what the client still sends: closing at
  // once with its bytes unread would reset the connection, and a client still writing its
  // oversized head would lose the answer. A second at most, then the socket goes.
  socket.on('error', () => {});
  socket.resume();
  socket.end(rawProblemResponse(status, code, detail));
  const cut = setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS);
  cut.unref();
  socket.once('close', () => clearTimeout(cut));
}

/** Fastify's `frameworkErrors`: the router could not take the URL apart. */
export function answerFrameworkError(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const [status, code, detail]: [number, ProblemCode, string] =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? [414, 'uri_too_long', 'a path segment is longer than 100 characters']
      : error.code === 'FST_ERR_BAD_URL'
        ? [400, 'invalid_url', 'the path is not valid percent-encoded UTF-8']
        : [400, 'malformed_request', 'the request cannot be routed'];
  reply
    .code(status)
    .type('application/problem+json')
    .send(problemJson(status, code, detail));
}
