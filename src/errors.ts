// Every problem the API sends, in one catalog (as fastify's lib/errors.js keeps its FST_ERR_*):
// its stable code, HTTP status and title. Domain errors are ServiceErrors named by a code from
// here; the one error handler (src/plugins/problem-details.ts) and the answers written before
// any route runs (src/http/) turn them into RFC 9457 problems. The README's table says the same.

export interface ProblemDefinition {
  /** The status the code is sent with. */
  readonly status: number;
  /** Other statuses the same code may be sent with (a cap per caller, and in all). */
  readonly otherStatuses?: readonly number[];
  /** RFC 9457 `title`: the same for every occurrence of the code. */
  readonly title: string;
  /** What it means, for the catalog's readers. */
  readonly meaning: string;
  /** Seconds sent as Retry-After when a thrower gives none. */
  readonly retryAfterS?: number;
}

export const PROBLEMS = {
  validation_failed: {
    status: 400,
    title: 'Invalid request',
    meaning: 'the request does not match the schema; `errors` names each field',
  },
  invalid_json: {
    status: 400,
    title: 'Invalid JSON',
    meaning: 'the body is not JSON (or is empty)',
  },
  malformed_request: {
    status: 400,
    title: 'Malformed request',
    meaning:
      'HTTP framing the server cannot read (Content-Length and chunking, a body shorter than its Content-Length, a bad header)',
  },
  invalid_url: {
    status: 400,
    title: 'Invalid URL',
    meaning: 'the path is not valid percent-encoded UTF-8',
  },
  invalid_cursor: {
    status: 400,
    title: 'Invalid cursor',
    meaning: 'a cursor this server did not hand out',
  },
  unauthorized: { status: 401, title: 'Unauthorized', meaning: 'a valid API key is required' },
  not_found: { status: 404, title: 'Not Found', meaning: 'no such route' },
  job_not_found: {
    status: 404,
    title: 'Job not found',
    meaning: 'no such job for this caller (unknown, expired, deleted, or another caller’s)',
  },
  not_acceptable: {
    status: 406,
    title: 'Not Acceptable',
    meaning: 'the Accept header allows none of the media types the resource is served as',
  },
  request_timeout: {
    status: 408,
    title: 'Request timeout',
    meaning: 'the request (head and body) was not received in time',
  },
  body_too_large: {
    status: 413,
    title: 'Body too large',
    meaning: 'the body is over the size limit',
  },
  uri_too_long: {
    status: 414,
    title: 'URI too long',
    meaning: 'a path segment (a job id) is too long',
  },
  unsupported_media_type: {
    status: 415,
    title: 'Unsupported media type',
    meaning: 'the body is not `application/json`',
  },
  job_not_finished: {
    status: 409,
    title: 'Job not finished',
    meaning:
      'a CSV or HAR export of a job that still runs; follow it (NDJSON, SSE) or retry once it ends',
    retryAfterS: 1,
  },
  idempotency_key_reused: {
    status: 422,
    title: 'Idempotency-Key reused',
    meaning: 'this caller used the Idempotency-Key with another body',
  },
  header_budget_exceeded: {
    status: 422,
    title: 'Header budget exceeded',
    meaning: 'the job would send too many bytes of caller headers in all',
  },
  rate_limited: {
    status: 429,
    title: 'Rate limited',
    meaning: 'this caller’s targets-per-minute budget is spent',
  },
  too_many_queued_targets: {
    status: 429,
    title: 'Too many queued targets',
    meaning: 'this caller has too many targets queued or running',
    retryAfterS: 5,
  },
  too_many_auth_failures: {
    status: 429,
    title: 'Too many authentication failures',
    meaning: 'too many failed authentications from this address',
  },
  too_many_streams: {
    status: 429,
    otherStatuses: [503],
    title: 'Too many result streams',
    meaning: 'too many open result streams, for this caller (429) or in total (503)',
  },
  headers_too_large: {
    status: 431,
    title: 'Request headers too large',
    meaning: 'the request head is over the size limit',
  },
  too_many_connections: {
    status: 503,
    title: 'Too many connections',
    meaning: 'too many connections, in total or from this address',
  },
  overloaded: {
    status: 503,
    title: 'Overloaded',
    meaning: 'the service is saturated; new work is refused for a moment',
    retryAfterS: 5,
  },
  too_many_jobs: {
    status: 503,
    title: 'Too many jobs',
    meaning: 'the job store is full of running jobs',
    retryAfterS: 5,
  },
  shutting_down: {
    status: 503,
    title: 'Shutting down',
    meaning: 'the service is shutting down',
    retryAfterS: 5,
  },
  store_unavailable: {
    status: 503,
    title: 'Job store unavailable',
    meaning: 'the job store (Redis) does not answer; the service recovers by itself when it does',
    retryAfterS: 5,
  },
  internal_error: {
    status: 500,
    title: 'Internal Server Error',
    meaning: 'a bug; the log has the details',
  },
} as const satisfies Record<string, ProblemDefinition>;

export type ProblemCode = keyof typeof PROBLEMS;

export function problemDefinition(code: ProblemCode): ProblemDefinition {
  return PROBLEMS[code];
}

export interface ServiceErrorOptions {
  /** One of the code's other statuses, in place of its first. */
  readonly status?: number;
  /** Seconds, sent as Retry-After on 429/503; the catalog's when absent. */
  readonly retryAfterS?: number;
}

/** A domain error that crosses into HTTP: a catalog code, its status, and a detail. */
export class ServiceError extends Error {
  readonly statusCode: number;
  readonly title: string;
  readonly retryAfterS: number | undefined;

  constructor(
    /** Stable, machine-readable: clients switch on it. */
    readonly code: ProblemCode,
    /** The problem's `detail`: safe to show the caller. */
    message: string,
    options: ServiceErrorOptions = {},
  ) {
    super(message);
    this.name = new.target.name;
    const definition = problemDefinition(code);
    const status = options.status ?? definition.status;
    if (status !== definition.status && !definition.otherStatuses?.includes(status)) {
      throw new RangeError(`${code} is not sent with status ${status}`);
    }
    this.statusCode = status;
    this.title = definition.title;
    this.retryAfterS = options.retryAfterS ?? definition.retryAfterS;
  }
}
