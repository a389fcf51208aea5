// Errors about who calls and how much: each a stable code with its status.
import { ServiceError } from '../errors.js';

export class UnauthorizedError extends ServiceError {
  constructor() {
    super('unauthorized', 401, 'a valid API key is required: Authorization: Bearer <key>');
  }
}

export class TooManyAuthFailuresError extends ServiceError {
  constructor(retryAfterS: number) {
    super(
      'too_many_auth_failures',
      429,
      'too many failed authentications from this address',
      retryAfterS,
    );
  }
}

export class RateLimitedError extends ServiceError {
  constructor(retryAfterS: number, perMinute: number) {
    super(
      'rate_limited',
      429,
      `this caller may submit ${perMinute} targets per minute`,
      retryAfterS,
    );
  }
}

export class TooManyQueuedTargetsError extends ServiceError {
  constructor(limit: number) {
    super(
      'too_many_queued_targets',
      429,
      `this caller already has targets queued or running; at most ${limit} at once`,
      5,
    );
  }
}

export class OverloadedError extends ServiceError {
  constructor(why: string) {
    super('overloaded', 503, `the service is saturated (${why}); running jobs continue`, 5);
  }
}
