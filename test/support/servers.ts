// Raw loopback targets for probe tests: TCP and TLS servers whose bytes and timing a test
// scripts exactly (split heads, stalls, resets), which a real HTTP server would tidy away.

import type { AddressInfo, Server, Socket } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import { createServer as createTlsServer } from 'node:tls';

export interface ServerHandle {
  readonly host: string;
  readonly port: number;
  /** TCP connections accepted so far (for TLS, including ones whose handshake failed). */
  readonly connections: number;
  /** Destroys every open socket, then waits for the server to stop listening. Idempotent. */
  close(): Promise<void>;
}

export type ConnectionHandler = (socket: Socket) => void;

/**
 * After the response: half-close (FIN), leave open, close without waiting for the client, or
 * abort with a TCP RST ('reset' needs a plain TCP socket; TLS sockets cannot send one).
 * A Node client sees 'reset' as ECONNRESET only when no response bytes precede it: libuv
 * reports a hang-up right after a partial read as a clean EOF.
 */
export type ConnectionEnd = 'end' | 'keep-open' | 'destroy' | 'reset';

export interface RespondOptions {
  delayMs?: number;
  /** Wait for the client's request head (`\r\n\r\n`) before answering. Default true. */
  afterRequest?: boolean;
  /** Default 'end'. */
  end?: ConnectionEnd;
}

export interface TimedRequest {
  /** performance.now() when the request head was complete. */
  readonly receivedAt: number;
  /** performance.now() just before the response was written. */
  readonly respondedAt: number;
}

export interface DelayServerHandle extends ServerHandle {
  readonly delayMs: number;
  readonly requests: TimedRequest[];
}

const headEnd = Buffer.from('\r\n\r\n');

export const normalResponseBody =
  '<!doctype html><title>ok</title><p>Hello from the fixture.</p>\n';

/** A typical origin answer: mixed-case names, two Set-Cookie lines, an exact Content-Length. */
export const normalResponse =
  'HTTP/1.1 200 OK\r\n' +
  'Date: Mon, 24 Nov 2025 20:00:00 GMT\r\n' +
  'Server: nginx/1.24.0\r\n' +
  'Content-Type: text/html; charset=utf-8\r\n' +
  `Content-Length: ${Buffer.byteLength(normalResponseBody)}\r\n` +
  'cache-control: private, max-age=0\r\n' +
  'Set-Cookie: sessionid=8f14e45fceea167a; Path=/; HttpOnly; Secure\r\n' +
  'set-cookie: theme=dark; Path=/; Max-Age=3600\r\n' +
  'X-Frame-Options: SAMEORIGIN\r\n' +
  'x-request-id: 7c9e6679-7425-40de-944b-e07fc1f90ae7\r\n' +
  'Connection: close\r\n' +
  '\r\n' +
  normalResponseBody;

async function listen(
  server: Server,
  host: string,
  sockets: Set<Socket>,
  counter: { accepted: number },
  port = 0,
): Promise<ServerHandle> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    host,
    port: bound,
    get connections() {
      return counter.accepted;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        // Stop accepting first so no socket slips in between the sweep and the close.
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

/** Tracks a socket until it closes; clients reset targets on purpose, so errors are expected. */
function adopt(socket: Socket, sockets: Set<Socket>): void {
  sockets.add(socket);
  socket.on('error', () => {});
  socket.once('close', () => sockets.delete(socket));
}

export function startTcpServer(
  onConnection: ConnectionHandler,
  options: { host?: string; port?: number } = {},
): Promise<ServerHandle> {
  const sockets = new Set<Socket>();
  const counter = { accepted: 0 };
  // Nagle would hold back the small writes that split-header tests depend on.
  const server = createNetServer({ noDelay: true }, (socket) => {
    counter.accepted += 1;
    adopt(socket, sockets);
    onConnection(socket);
  });
  return listen(server, options.host ?? '127.0.0.1', sockets, counter, options.port);
}

export function startTlsServer(
  onSecureConnection: (socket: TLSSocket) => void,
  options: { key: string | Buffer; cert: string | Buffer; host?: string },
): Promise<ServerHandle> {
  const sockets = new Set<Socket>();
  const counter = { accepted: 0 };
  const server = createTlsServer({ key: options.key, cert: options.cert, noDelay: true });
  // The raw socket is tracked too, so close() also ends connections stuck mid-handshake.
  server.on('connection', (socket: Socket) => {
    counter.accepted += 1;
    adopt(socket, sockets);
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    adopt(socket, sockets);
    onSecureConnection(socket);
  });
  // Handshake failures are what many TLS tests provoke.
  server.on('tlsClientError', () => {});
  return listen(server, options.host ?? '127.0.0.1', sockets, counter);
}

/** Calls back once, when the request head is complete; keeps draining whatever follows. */
export function onRequestHead(socket: Socket, callback: (receivedAt: number) => void): void {
  let head = Buffer.alloc(0);
  let seen = false;
  const onData = (chunk: Buffer) => {
    if (seen) return;
    head = Buffer.concat([head, chunk]);
    if (head.indexOf(headEnd) < 0) return;
    seen = true;
    callback(performance.now());
  };
  socket.on('data', onData);
}

/** Writes the last bytes of a response, then leaves the connection as `end` asks. */
function deliver(socket: Socket, bytes: string | Buffer, end: ConnectionEnd): void {
  if (socket.destroyed) return;
  if (end === 'end') {
    socket.end(bytes);
    return;
  }
  if (end === 'keep-open') {
    socket.write(bytes);
    return;
  }
  const close = end === 'destroy' ? () => socket.destroy() : () => socket.resetAndDestroy();
  // Waiting for the write callback means the bytes reached the kernel before the socket goes.
  if (Buffer.byteLength(bytes) > 0) socket.write(bytes, close);
  else close();
}

/** Runs `act` when the request head arrives (or at once), unless the socket closes first. */
function whenReady(socket: Socket, afterRequest: boolean, delayMs: number, act: () => void) {
  let timer: NodeJS.Timeout | undefined;
  socket.once('close', () => clearTimeout(timer));
  const start = () => {
    if (delayMs > 0) timer = setTimeout(act, delayMs);
    else act();
  };
  if (afterRequest) onRequestHead(socket, start);
  else {
    // Still drain the request, so an unread receive buffer never turns a close into a RST.
    socket.resume();
    start();
  }
}

export function respondWith(
  bytes: string | Buffer,
  options: RespondOptions = {},
): ConnectionHandler {
  return (socket) => {
    whenReady(socket, options.afterRequest ?? true, options.delayMs ?? 0, () => {
      deliver(socket, bytes, options.end ?? 'end');
    });
  };
}

/**
 * Writes one chunk per event-loop turn, so the client's parser sees a head in pieces. Every
 * write, the first included, happens in the check phase: a client in this process then reads
 * each chunk in the poll phase before the next one is written. Across processes, TCP may
 * still coalesce chunks; the bytes are the same either way.
 */
export function chunked(
  chunks: Array<string | Buffer>,
  options: Omit<RespondOptions, 'delayMs'> = {},
): ConnectionHandler {
  return (socket) => {
    whenReady(socket, options.afterRequest ?? true, 0, () => {
      let index = 0;
      const writeNext = () => {
        if (socket.destroyed) return;
        const chunk = chunks[index] ?? '';
        index += 1;
        if (index >= chunks.length) {
          deliver(socket, chunk, options.end ?? 'end');
          return;
        }
        socket.write(chunk);
        setImmediate(writeNext);
      };
      setImmediate(writeNext);
    });
  };
}

/**
 * Answers `normalResponse` no sooner than `delayMs` after each request head completes, and
 * records both instants so a test can hold the client's measured wait against the real one.
 * One request per connection: the response ends it, as `Connection: close` asks.
 */
export async function startDelayServer(
  delayMs: number,
  options: { host?: string } = {},
): Promise<DelayServerHandle> {
  const requests: TimedRequest[] = [];
  const handle = await startTcpServer((socket) => {
    let timer: NodeJS.Timeout | undefined;
    socket.once('close', () => clearTimeout(timer));
    onRequestHead(socket, (receivedAt) => {
      const respond = () => {
        // Timers may fire up to a millisecond early against performance.now(); top up.
        const remaining = receivedAt + delayMs - performance.now();
        if (remaining > 0) {
          timer = setTimeout(respond, Math.ceil(remaining));
          return;
        }
        if (socket.destroyed) return;
        requests.push({ receivedAt, respondedAt: performance.now() });
        socket.end(normalResponse);
      };
      respond();
    });
  }, options);
  return Object.assign(handle, { delayMs, requests });
}
