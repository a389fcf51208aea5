// Request bodies read into one growing buffer. Fastify's own reader keeps every chunk the
// socket delivered until the body is complete, and a client sending one byte per TCP segment
// made each byte cost ~100 bytes of heap. Here each chunk is copied and dropped at once, so a
// pending body holds at most twice its bytes (plus a small first allocation), and the bytes of
// every pending body together are capped: beyond the cap a request is refused before it is
// read, or cut as soon as it grows past it.
import type { IncomingMessage } from 'node:http';
import { ServiceError } from '../errors.js';

/** The first allocation of a body without a (small) Content-Length; grown by doubling. */
const FIRST_CHUNK_BYTES = 4096;

export class BodyTooLargeError extends ServiceError {
  constructor(limit: number) {
    super('body_too_large', `the request body is larger than ${limit} bytes`);
  }
}

export class BodyLengthMismatchError extends ServiceError {
  constructor() {
    super('malformed_request', 'the request body does not match its Content-Length');
  }
}

export class PendingBodiesFullError extends ServiceError {
  constructor() {
    super('overloaded', 'the service is reading too many request bodies at once; retry shortly', {
      retryAfterS: 1,
    });
  }
}

/**
 * Bytes reserved by request bodies still being read, across every request of the process,
 * and per client address: one address may hold an eighth of the whole (at least two bodies
 * of the largest size), so a few clients cannot take it all.
 */
export class PendingBodyBudget {
  readonly #byClient = new Map<string, number>();
  readonly #perClient: number;
  #reserved = 0;

  constructor(
    readonly maxBytes: number,
    maxBodyBytes: number,
  ) {
    this.#perClient = Math.min(maxBytes, Math.max(2 * maxBodyBytes, Math.floor(maxBytes / 8)));
  }

  get reserved(): number {
    return this.#reserved;
  }

  /** False (nothing reserved) when `bytes` more would go over the cap or the client's share. */
  tryReserve(client: string, bytes: number): boolean {
    const mine = this.#byClient.get(client) ?? 0;
    if (this.#reserved + bytes > this.maxBytes || mine + bytes > this.#perClient) return false;
    this.#reserved += bytes;
    this.#byClient.set(client, mine + bytes);
    return true;
  }

  release(client: string, bytes: number): void {
    if (bytes === 0) return;
    this.#reserved -= bytes;
    const left = (this.#byClient.get(client) ?? bytes) - bytes;
    if (left <= 0) this.#byClient.delete(client);
    else this.#byClient.set(client, left);
  }
}

export interface BodyLimits {
  /** Most bytes one body may have. */
  readonly maxBytes: number;
  readonly budget: PendingBodyBudget;
}

/**
 * The whole body of `request`, or a ServiceError: too large, not its Content-Length, or the
 * pending-body budget spent. The budget is charged for the buffer's capacity while the body
 * is read and released when it is done, whatever the outcome.
 */
export function readBody(request: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const declared = declaredLength(request);
  if (declared !== null && declared > limits.maxBytes) {
    return Promise.reject(new BodyTooLargeError(limits.maxBytes));
  }
  const client = request.socket.remoteAddress ?? '';
  return new Promise<Buffer>((resolve, reject) => {
    let capacity = 0;
    let buffer = Buffer.alloc(0);
    let length = 0;
    let settled = false;

    const settle = (error: Error | null) => {
      if (settled) return;
      settled = true;
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('close', onClose);
      limits.budget.release(client, capacity);
      capacity = 0;
      if (error === null) resolve(buffer.subarray(0, length));
      else {
        // Nothing more is wanted from this client; the error answer ends the exchange.
        request.resume();
        reject(error);
      }
    };

    const grow = (needed: number): boolean => {
      const ceiling = declared ?? limits.maxBytes;
      let next = Math.max(capacity * 2, Math.min(ceiling, FIRST_CHUNK_BYTES), needed);
      next = Math.min(next, ceiling);
      if (!limits.budget.tryReserve(client, next - capacity)) return false;
      const bigger = Buffer.allocUnsafe(next);
      buffer.copy(bigger, 0, 0, length);
      buffer = bigger;
      capacity = next;
      return true;
    };

    const onData = (chunk: Buffer) => {
      const needed = length + chunk.length;
      if (needed > (declared ?? limits.maxBytes)) {
        settle(
          declared === null
            ? new BodyTooLargeError(limits.maxBytes)
            : new BodyLengthMismatchError(),
        );
        return;
      }
      if (needed > capacity && !grow(needed)) {
        settle(new PendingBodiesFullError());
        return;
      }
      chunk.copy(buffer, length);
      length = needed;
    };
    const onEnd = () =>
      settle(declared !== null && length !== declared ? new BodyLengthMismatchError() : null);
    // The client's side failed (reset, a request deadline that cut the socket): a client
    // error, which nobody may be left to read, not a 500 in the log.
    const onError = () => settle(new BodyLengthMismatchError());
    // A client gone before the end: nothing is answered, the budget comes back.
    const onClose = () => settle(new BodyLengthMismatchError());

    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('close', onClose);
  });
}

function declaredLength(request: IncomingMessage): number | null {
  const header = request.headers['content-length'];
  if (header === undefined) return null;
  // Node's parser has already refused a malformed Content-Length, or one beside chunking.
  return Number(header);
}
