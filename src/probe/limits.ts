// Engine-wide bounds on one probe, set by the operator (config), not by callers.
import type { HeadLimits } from './response-head.js';

export interface ProbeLimits extends HeadLimits {
  /**
   * Each phase has its own timeout inside the per-target deadline (options.timeoutMs). DNS
   * has none here: the resolver times its queries from when they are sent.
   */
  readonly connectTimeoutMs: number;
  readonly tlsTimeoutMs: number;
  /** From the request being written to the end of the final response head. */
  readonly headersTimeoutMs: number;
}

export const defaultProbeLimits: ProbeLimits = Object.freeze({
  maxHeaderBytes: 64 * 1024,
  maxHeaders: 500,
  maxInformational: 8,
  connectTimeoutMs: 5_000,
  tlsTimeoutMs: 5_000,
  headersTimeoutMs: 8_000,
});
