// Following redirects: every hop is a new target, parsed, vetted and dialled like the first,
// within the first one's deadline. Loops, hop limits, bad Locations and https → http
// downgrades are reported; the result describes the last response and carries the chain.
import type { ProbeOptions } from '../schemas/probe-options.js';
import type { ProbeErrorCode, ProbeResult, RedirectHop } from '../schemas/probe-result.js';
import { addHeadAnalysis } from './head-analysis.js';
import { type ProbeContext, probeOnce, probeOnceUnanalysed } from './probe.js';

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

function locationOf(result: ProbeResult): string | null {
  if (!result.ok || result.status === null || !REDIRECT_STATUSES.has(result.status)) return null;
  const header = result.headers.find(([name]) => name.toLowerCase() === 'location');
  return header === undefined ? null : header[1];
}

function stopWith(result: ProbeResult, code: ProbeErrorCode, message: string): ProbeResult {
  return { ...result, ok: false, error: { code, phase: 'redirect', message } };
}

/** Probes one target, following up to `options.followRedirects` redirects. Never rejects. */
export function probeTarget(
  target: string,
  options: ProbeOptions,
  context: ProbeContext,
): Promise<ProbeResult> {
  // The common case costs no extra promise: one request, no chain, analysed as it settles.
  if (options.followRedirects === 0) return probeOnce(target, options, context);
  return followRedirects(target, options, context).then((result) =>
    addHeadAnalysis(result, options),
  );
}

async function followRedirects(
  target: string,
  options: ProbeOptions,
  context: ProbeContext,
): Promise<ProbeResult> {
  // From the start, not from when the first result arrived: it may have waited to settle.
  const deadlineAt = performance.now() + options.timeoutMs;
  const first = await probeOnceUnanalysed(target, options, context);
  if (locationOf(first) === null) return first;

  const hops: RedirectHop[] = [];
  const visited = new Set<string>([first.url ?? target]);
  let current = first;
  for (;;) {
    const location = locationOf(current);
    if (location === null) break;
    let next: URL;
    try {
      next = new URL(location, current.url ?? undefined);
    } catch {
      current = stopWith(current, 'invalid_redirect', 'Location is not a valid URL');
      break;
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      current = stopWith(
        current,
        'invalid_redirect',
        `Location uses ${next.protocol}, not http(s)`,
      );
      break;
    }
    next.hash = '';
    hops.push({
      url: current.url ?? target,
      httpVersion: current.httpVersion,
      status: current.status!,
      statusText: current.statusText,
      location,
      headers: current.headers,
      remote: current.remote,
      timing: current.timing,
      downgrade: current.url?.startsWith('https:') === true && next.protocol === 'http:',
    });
    if (visited.has(next.href)) {
      current = stopWith(current, 'redirect_loop', `redirect loop back to ${next.href}`);
      break;
    }
    if (hops.length > options.followRedirects) {
      current = stopWith(
        current,
        'too_many_redirects',
        `more than ${options.followRedirects} redirects`,
      );
      break;
    }
    visited.add(next.href);
    const remainingMs = Math.floor(deadlineAt - performance.now());
    current = await probeOnceUnanalysed(
      next.href,
      { ...options, timeoutMs: Math.max(1, remainingMs) },
      context,
    );
  }
  // The hop that stopped the chain (loop, limit) is the result itself, not part of the chain.
  const chain = current.error?.phase === 'redirect' ? hops.slice(0, -1) : hops;
  return { ...current, target, redirects: chain, finalUrl: current.url };
}
