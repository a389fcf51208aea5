// Errors answered before any route runs: by Node's HTTP parser (a head too large, broken
// framing, a request not received in time) and by Fastify's router (a path that is not valid
// percent-encoding, a job id over the parameter limit). Each is a problem+json like every
// other error, with a code from the catalog, and none echoes the request back.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ProblemCode, problemDefinition } from '../errors.js';

export const PROBLEM_TYPE_BASE = 'https://headprobe.dev/problems/';
/** How long a connection answered with a pre-route error may linger before it is closed. */
const CLIENT_ERROR_LINGER_MS = 1_000;

/** The problem's JSON; `status` only for a code the catalog sends with more than one. */
export function problemJson(
  code: ProblemCode,
  detail: string,
  status = problemDefinition(code).status,
): string {
  return JSON.stringify({
    type: `${PROBLEM_TYPE_BASE}${code}`,
    title: problemDefinition(code).title,
    status,
    detail,
    code,
  });
}

/** A whole HTTP/1.1 response, for sockets no request object exists for. */
export function rawProblemResponse(code: ProblemCode, detail: string, extraHeaders = ''): string {
  const { status } = problemDefinition(code);
  const body = problemJson(code, detail);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
    'Content-Type: application/problem+json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `Connection: close\r\n${extraHeaders}\r\n${body}`
  );
}

function clientErrorProblem(code: string | undefined): [ProblemCode, string] {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return ['request_timeout', 'the request was not received in time'];
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return ['headers_too_large', 'the request line and headers are over the size limit'];
  }
  return ['malformed_request', 'the request is not valid HTTP/1.1'];
}

/** Fastify's `clientErrorHandler`: the socket's request never reached the router. */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [code, detail] = clientErrorProblem(error.code);
  // Answer and half-close, reading (and dropping) what the client still sends: closing at
  // once with its bytes unread would reset the connection, and a client still writing its
  // oversized head would lose the answer. A second at most, then the socket goes.
  socket.on('error', () => {});
  socket.resume();
  socket.end(rawProblemResponse(code, detail));
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
  const [code, detail]: [ProblemCode, string] =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? ['uri_too_long', 'a path segment is longer than 100 characters']
      : error.code === 'FST_ERR_BAD_URL'
        ? ['invalid_url', 'the path is not valid percent-encoded UTF-8']
        : ['malformed_request', 'the request cannot be routed'];
  reply
    .code(problemDefinition(code).status)
    .type('application/problem+json')
    .send(problemJson(code, detail));
}
