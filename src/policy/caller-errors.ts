// Errors about who calls and how much: each a stable code with its status.
import { ServiceError } from '../errors.js';

export class UnauthorizedError extends ServiceError {
  constructor() {
    super('unauthorized', 'a valid API key is required: Authorization: Bearer <key>');
  }
}

export class TooManyAuthFailuresError extends ServiceError {
  constructor(retryAfterS: number) {
    super('too_many_auth_failures', 'too many failed authentications from this address', {
      retryAfterS,
    });
  }
}

export class RateLimitedError extends ServiceError {
  constructor(retryAfterS: number, perMinute: number) {
    super('rate_limited', `this caller may submit ${perMinute} targets per minute`, {
      retryAfterS,
    });
  }
}

export class TooManyQueuedTargetsError extends ServiceError {
  constructor(limit: number) {
    super(
      'too_many_queued_targets',
      `this caller already has targets queued or running; at most ${limit} at once`,
    );
  }
}

export class OverloadedError extends ServiceError {
  constructor(why: string) {
    super('overloaded', `the service is saturated (${why}); running jobs continue`);
  }
}
