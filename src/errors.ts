// Domain errors that cross into HTTP: each carries a stable code and a status, and the one
// error handler (src/plugins/problem-details.ts) turns it into an RFC 9457 problem.

export class ServiceError extends Error {
  constructor(
    /** Stable, machine-readable: clients switch on it. */
    readonly code: string,
    readonly statusCode: number,
    message: string,
    /** Seconds, sent as Retry-After on 429/503. */
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
