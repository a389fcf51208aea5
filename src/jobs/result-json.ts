// A job's results are stored as JSON text, one per target: far smaller than the objects,
// kept by the store as UTF-8 bytes off the V8 heap, and streamed without re-serialising.
import type { ProbeErrorCode, ProbeResult } from '../schemas/probe-result.js';

/** `{"index":N, …ProbeResult}` — the JobResult wire shape, built without copying the object. */
export function serializeResult(index: number, result: ProbeResult): string {
  return `{"index":${index},${JSON.stringify(result).slice(1)}`;
}

function resultWithoutProbe(target: string, code: ProbeErrorCode, message: string): ProbeResult {
  return {
    target,
    url: null,
    ok: false,
    httpVersion: null,
    status: null,
    statusText: null,
    headers: [],
    informational: [],
    remote: null,
    dns: null,
    connectAttempts: [],
    tls: null,
    timing: {
      startedAt: new Date().toISOString(),
      namelookup: null,
      connect: null,
      appconnect: null,
      pretransfer: null,
      starttransfer: null,
      total: 0,
      phases: { dns: null, tcp: null, tls: null, request: null, wait: null, transfer: null },
    },
    redirects: [],
    finalUrl: null,
    error: { code, phase: 'queued', message },
  };
}

/** The result of a target whose job was cancelled before it started. */
export function cancelledResult(target: string): ProbeResult {
  return resultWithoutProbe(target, 'cancelled', 'job cancelled before this target started');
}

/** The result of a target whose probe broke its never-throw contract (a bug of ours). */
export function failedResult(target: string, message: string): ProbeResult {
  return resultWithoutProbe(target, 'internal_error', message);
}
