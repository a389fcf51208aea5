// curl-compatible timing from the probe's monotonic milestones (performance.now()).
// Milestones are cumulative from the start; phases are the gaps between them.
import type { ProbeTiming } from '../schemas/probe-result.js';

/** Absolute performance.now() stamps; null until reached. */
export interface Milestones {
  readonly startAt: number;
  readonly resolvedAt: number | null;
  readonly connectedAt: number | null;
  readonly securedAt: number | null;
  readonly sentAt: number | null;
  readonly firstByteAt: number | null;
}

// Probes start thousands of times a second but startedAt has millisecond precision, so
// the ISO string of the last millisecond is reused rather than formatted again.
let isoMs = Number.NaN;
let isoText = '';
function isoTime(epochMs: number): string {
  const wholeMs = Math.floor(epochMs);
  if (wholeMs !== isoMs) {
    isoMs = wholeMs;
    isoText = new Date(wholeMs).toISOString();
  }
  return isoText;
}

/** Milliseconds with microsecond precision: finer digits are clock noise. */
export function ms(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function since(from: number | null, to: number | null): number | null {
  return from === null || to === null ? null : ms(to - from);
}

export function buildTiming(
  stamps: Milestones,
  end: number,
  isTls: boolean,
  headComplete: boolean,
): ProbeTiming {
  const {
    startAt: start,
    resolvedAt: dns,
    connectedAt: connect,
    securedAt: tls,
    sentAt: sent,
    firstByteAt: firstByte,
  } = stamps;
  // curl reports appconnect as 0 for plain http once connected.
  const secured = isTls ? tls : connect;
  return {
    startedAt: isoTime(performance.timeOrigin + start),
    namelookup: since(start, dns),
    connect: since(start, connect),
    appconnect: isTls ? since(start, tls) : connect === null ? null : 0,
    pretransfer: since(start, sent),
    starttransfer: since(start, firstByte),
    total: ms(end - start),
    phases: {
      dns: since(start, dns),
      tcp: since(dns, connect),
      tls: isTls ? since(connect, tls) : connect === null ? null : 0,
      request: since(secured, sent),
      wait: since(sent, firstByte),
      transfer: headComplete ? since(firstByte, end) : null,
    },
  };
}
