// Caps on the service's own connections, in total and per client address, checked the moment
// a connection is accepted: one over the cap gets a canned 503 problem and is closed before a
// byte of it is read. And the listener's errors, which Node reports as
// an 'error' event on the server: with no listener, running out of file descriptors on accept
// (EMFILE) would be an uncaught exception and end the process. Here it sheds load instead.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { rawProblemResponse } from './pre-route-errors.js';

const RESOURCE_ERRORS = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);
/** At most one log line per this long about refused connections or accept failures. */
const LOG_EVERY_MS = 5_000;

export interface ConnectionLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerClient: number;
}

export interface ConnectionGuardOptions extends ConnectionLimits {
  readonly log: FastifyBaseLogger;
  /** Told when accepting failed for want of a resource. */
  readonly onExhausted: (what: string) => void;
}

export class ConnectionGuard {
  readonly #options: ConnectionGuardOptions;
  readonly #perClient = new Map<string, number>();
  #open = 0;
  #refused = 0;
  #acceptFailures = 0;
  #lastLog = 0;

  constructor(options: ConnectionGuardOptions) {
    this.#options = options;
  }

  /** Connections open now. */
  get open(): number {
    return this.#open;
  }

  /** Connections refused over a cap, and accepts that failed, since start. */
  get refused(): number {
    return this.#refused;
  }

  get acceptFailures(): number {
    return this.#acceptFailures;
  }

  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.#admit(socket));
    server.on('error', (error: NodeJS.ErrnoException) => this.#serverError(error));
  }

  #admit(socket: Socket): void {
    const client = socket.remoteAddress;
    if (client === undefined) {
      // Closed before we saw it.
      socket.destroy();
      return;
    }
    const fromClient = this.#perClient.get(client) ?? 0;
    const { maxConnections, maxConnectionsPerClient } = this.#options;
    if (this.#open >= maxConnections || fromClient >= maxConnectionsPerClient) {
      this.#refuse(socket, this.#open >= maxConnections ? 'in total' : 'from this address');
      return;
    }
    this.#open++;
    this.#perClient.set(client, fromClient + 1);
    socket.once('close', () => {
      this.#open--;
      const left = (this.#perClient.get(client) ?? 1) - 1;
      if (left === 0) this.#perClient.delete(client);
      else this.#perClient.set(client, left);
    });
  }

  #refuse(socket: Socket, scope: string): void {
    this.#refused++;
    this.#logNow(() =>
      this.#options.log.warn(
        { refused: this.#refused, open: this.#open },
        `refusing connections: too many ${scope}`,
      ),
    );
    // No listener may be missing on a socket we hand back to nobody: a reset while we write
    // would otherwise be an uncaught 'error'. Closed as soon as the answer is written, not
    // after the linger of answerClientError: in a flood the descriptor must come back at once.
    socket.on('error', () => {});
    socket.write(
      rawProblemResponse(
        'too_many_connections',
        `too many connections ${scope}; retry later`,
        'Retry-After: 1\r\n',
      ),
      () => socket.destroy(),
    );
  }

  #serverError(error: NodeJS.ErrnoException): void {
    if (error.syscall === 'accept' || RESOURCE_ERRORS.has(error.code ?? '')) {
      this.#acceptFailures++;
      this.#options.onExhausted(
        RESOURCE_ERRORS.has(error.code ?? '') ? 'file descriptors' : 'accept',
      );
      this.#logNow(() =>
        this.#options.log.warn(
          { code: error.code, failures: this.#acceptFailures },
          'accepting a connection failed; shedding load',
        ),
      );
      return;
    }
    // Listening errors (EADDRINUSE) also reach listen()'s own handler, which rejects.
    this.#options.log.error({ err: error }, 'HTTP server error');
  }

  #logNow(write: () => void): void {
    const now = Date.now();
    if (now - this.#lastLog < LOG_EVERY_MS) return;
    this.#lastLog = now;
    write();
  }
}

/** The soft limit on open files, from /proc (Linux), or null where it cannot be read. */
export function openFileLimit(readLimits: () => string): number | null {
  try {
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(readLimits());
    if (match === null || match[1] === 'unlimited') return null;
    return Number(match[1]);
  } catch {
    return null;
  }
}

/** Descriptors kept back for probes and DNS when the connection cap is derived from the limit. */
const DESCRIPTORS_KEPT_BACK = 256;
const MAX_DERIVED_CONNECTIONS = 10_000;

/**
 * The connection cap when none is configured: what the open-file limit leaves once every
 * probe slot and a reserve for DNS, logs and files have a descriptor, at most 10,000.
 */
export function derivedMaxConnections(fileLimit: number | null, concurrency: number): number {
  if (fileLimit === null) return MAX_DERIVED_CONNECTIONS;
  return Math.max(
    16,
    Math.min(MAX_DERIVED_CONNECTIONS, fileLimit - concurrency - DESCRIPTORS_KEPT_BACK),
  );
}
