// A job's results are stored as JSON text, one per target: far smaller than the objects,
// kept by the store as UTF-8 bytes off the V8 heap, and streamed without re-serialising.
import { unprobedResult } from '../probe/index.js';
import type { ProbeResult } from '../schemas/probe-result.js';

/** `{"index":N, …ProbeResult}` — the JobResult wire shape, built without copying the object. */
export function serializeResult(index: number, result: ProbeResult): string {
  return `{"index":${index},${JSON.stringify(result).slice(1)}`;
}

/** The result of a target whose job was cancelled before it started. */
export function cancelledResult(target: string): ProbeResult {
  return unprobedResult(target, 'cancelled', 'job cancelled before this target started');
}

/** The result of a target whose probe broke its never-throw contract (a bug of ours). */
export function failedResult(target: string, message: string): ProbeResult {
  return unprobedResult(target, 'internal_error', message);
}
