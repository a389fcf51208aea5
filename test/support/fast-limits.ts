// Probe limits for tests that wait for a phase to time out: 400 ms instead of seconds.
import { defaultProbeLimits, type ProbeLimits } from '../../src/probe/index.js';

export const fastLimits: ProbeLimits = {
  ...defaultProbeLimits,
  connectTimeoutMs: 400,
  tlsTimeoutMs: 400,
  headersTimeoutMs: 400,
};
