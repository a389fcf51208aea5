// Per-caller rate limit counted in targets, not requests: a job of 5,000 targets costs 5,000.
import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimitedError } from './caller-errors.js';
import { limiterFactory, type MakeLimiter } from './limiters.js';

export class TargetRateLimit {
  readonly #limiter: RateLimiterAbstract | null;
  readonly #perMinute: number;

  /** `perMinute` 0 means no limit. Counted in memory unless given shared counters. */
  constructor(perMinute: number, makeLimiter: MakeLimiter = limiterFactory(null)) {
    this.#perMinute = perMinute;
    this.#limiter =
      perMinute > 0 ? makeLimiter({ name: 'targets', points: perMinute, durationS: 60 }) : null;
  }

  /** Gives back what `take` spent on work that was then refused, or not new (a replay). */
  async refund(caller: string, targets: number): Promise<void> {
    await this.#limiter?.reward(caller, targets);
  }

  /** Spends `targets` of the caller's budget, or throws RateLimitedError (nothing spent). */
  async take(caller: string, targets: number): Promise<void> {
    if (this.#limiter === null) return;
    if (targets > this.#perMinute) throw new RateLimitedError(60, this.#perMinute);
    try {
      await this.#limiter.consume(caller, targets);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      // consume() counts even a refused request; give those points back.
      await this.#limiter.reward(caller, targets);
      throw new RateLimitedError(
        Math.max(1, Math.ceil(error.msBeforeNext / 1000)),
        this.#perMinute,
      );
    }
  }
}
