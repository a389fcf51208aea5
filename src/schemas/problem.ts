// RFC 9457 problem details: the one error body of the API, with a stable `code` from the
// catalog below. Every error the service sends, a route's or the HTTP server's, uses one.
import { z } from 'zod';

/** Every `code` a problem may carry, with what it means (the README's table says the same). */
export const PROBLEM_CODES = {
  validation_failed: 'the request does not match the schema; `errors` names each field',
  invalid_json: 'the body is not JSON (or is empty)',
  unsupported_media_type: 'the body is not `application/json`',
  body_too_large: 'the body is over the size limit',
  malformed_request:
    'HTTP framing the server cannot read (Content-Length and chunking, a body shorter than its Content-Length, a bad header)',
  invalid_url: 'the path is not valid percent-encoded UTF-8',
  uri_too_long: 'a path segment (a job id) is too long',
  headers_too_large: 'the request head is over the size limit',
  request_timeout: 'the request (head and body) was not received in time',
  not_found: 'no such route',
  not_acceptable: 'the Accept header allows none of the media types the resource is served as',
  job_not_found: 'no such job for this caller (unknown, expired, deleted, or another caller’s)',
  invalid_cursor: 'a cursor this server did not hand out',
  unauthorized: 'a valid API key is required',
  too_many_auth_failures: 'too many failed authentications from this address',
  rate_limited: 'this caller’s targets-per-minute budget is spent',
  too_many_queued_targets: 'this caller has too many targets queued or running',
  too_many_connections: 'too many connections, in total or from this address',
  too_many_streams: 'too many open result streams, in total or for this caller',
  idempotency_key_reused: 'this caller used the Idempotency-Key with another body',
  header_budget_exceeded: 'the job would send too many bytes of caller headers in all',
  overloaded: 'the service is saturated; new work is refused for a moment',
  too_many_jobs: 'the job store is full of running jobs',
  shutting_down: 'the service is shutting down',
  internal_error: 'a bug; the log has the details',
} as const;
export type ProblemCode = keyof typeof PROBLEM_CODES;

export const Problem = z
  .object({
    type: z.string().describe('URI reference naming the problem type.'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    code: z.string().describe('Stable machine-readable error code.'),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .describe('Validation failures, one per offending field.'),
  })
  .meta({ id: 'Problem' });
export type Problem = z.infer<typeof Problem>;
