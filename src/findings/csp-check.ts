// The Observatory's Content-Security-Policy test over the header alone (a <meta> policy needs
// the body, which is never read). Reports whether frame-ancestors is set, for X-Frame-Options.

import { parseCsp } from './csp-policy.js';
import type { HeaderField } from './head-fields.js';
import type { ObservatoryResult } from './observatory-results.js';
import type { ScoreCard } from './score-card.js';

const DANGEROUSLY_BROAD: ReadonlySet<string> = new Set([
  'ftp:',
  'http:',
  'https:',
  '*',
  'http://*',
  'http://*.*',
  'https://*',
  'https://*.*',
]);
const BROAD_OR_UNSAFE_INLINE: ReadonlySet<string> = new Set([
  ...DANGEROUSLY_BROAD,
  "'unsafe-inline'",
  'data:',
]);
const PASSIVE_DIRECTIVES = ['img-src', 'media-src'] as const;
const NONCE_OR_HASH = /^'(?:sha256-|sha384-|sha512-|nonce-)/;

function anyIn(sources: Iterable<string>, set: ReadonlySet<string>): boolean {
  for (const source of sources) if (set.has(source)) return true;
  return false;
}

function hasNonceOrHash(sources: Iterable<string>): boolean {
  for (const source of sources) if (NONCE_OR_HASH.test(source)) return true;
  return false;
}

function insecureScheme(source: string): boolean {
  return source.startsWith('http:') || source.startsWith('ftp:');
}

/** True when the policy sets frame-ancestors (the Observatory's XFO-via-CSP condition). */
export function checkCsp(
  card: ScoreCard,
  field: HeaderField | null,
  reportOnly: HeaderField | null,
  finalIsHttps: boolean,
): boolean {
  if (!field) {
    card.scored(
      reportOnly ? 'csp-not-implemented-but-reporting-enabled' : 'csp-not-implemented',
      reportOnly,
    );
    return false;
  }
  const policy = parseCsp(field.value);
  if (!policy) {
    card.scored('csp-header-invalid', field);
    return false;
  }
  const csp = policy.directives;
  if (csp.size === 0) {
    card.scored(
      reportOnly ? 'csp-not-implemented-but-reporting-enabled' : 'csp-not-implemented',
      field,
    );
    return false;
  }

  let result: ObservatoryResult | null = null;
  const defaultSrc = csp.get('default-src');
  // Fallbacks share default-src's set, as in the Observatory, so its deletions below carry over.
  const objectSrc = csp.get('object-src') ?? defaultSrc ?? new Set(['*']);
  const scriptSrc = csp.get('script-src') ?? defaultSrc ?? new Set(['*']);
  const styleSrc = csp.get('style-src') ?? defaultSrc ?? new Set(['*']);

  // A nonce or hash makes browsers ignore 'unsafe-inline'.
  for (const sources of [scriptSrc, styleSrc]) {
    if (hasNonceOrHash(sources)) sources.delete("'unsafe-inline'");
  }
  if (hasNonceOrHash(scriptSrc) && scriptSrc.has("'strict-dynamic'")) {
    // strict-dynamic makes browsers ignore host and scheme sources, 'self' and 'unsafe-inline'.
    for (const source of scriptSrc) {
      let broad = source === "'self'" || source === "'unsafe-inline'";
      for (const prefix of DANGEROUSLY_BROAD) if (!broad && source.startsWith(prefix)) broad = true;
      if (broad) scriptSrc.delete(source);
    }
  } else if (scriptSrc.has("'strict-dynamic'")) {
    result = 'csp-header-invalid';
  }

  if (
    result === null &&
    (anyIn(scriptSrc, BROAD_OR_UNSAFE_INLINE) || anyIn(objectSrc, DANGEROUSLY_BROAD))
  ) {
    result = 'csp-implemented-with-unsafe-inline';
  }
  if (result === null && finalIsHttps) {
    let insecureActive = false;
    for (const source of scriptSrc) if (insecureScheme(source)) insecureActive = true;
    for (const [directive, sources] of csp) {
      if (insecureActive) break;
      if (directive === 'script-src' || directive === 'img-src' || directive === 'media-src') {
        continue;
      }
      for (const source of sources) if (insecureScheme(source)) insecureActive = true;
    }
    if (insecureActive) result = 'csp-implemented-with-insecure-scheme';
  }
  if (result === null && (scriptSrc.has("'unsafe-eval'") || styleSrc.has("'unsafe-eval'"))) {
    result = 'csp-implemented-with-unsafe-eval';
  }
  if (result === null && finalIsHttps) {
    for (const directive of PASSIVE_DIRECTIVES) {
      for (const source of csp.get(directive) ?? defaultSrc ?? []) {
        if (insecureScheme(source))
          result = 'csp-implemented-with-insecure-scheme-in-passive-content-only';
      }
    }
  }
  if (result === null && anyIn(styleSrc, BROAD_OR_UNSAFE_INLINE)) {
    result = 'csp-implemented-with-unsafe-inline-in-style-src-only';
  }
  if (result === null) {
    result =
      defaultSrc?.size === 1 && defaultSrc.has("'none'")
        ? 'csp-implemented-with-no-unsafe-default-src-none'
        : 'csp-implemented-with-no-unsafe';
  }
  // A passing policy that repeats report-uri/report-to is reported as such (modifier 0).
  if (
    policy.duplicateReports &&
    (result === 'csp-implemented-with-no-unsafe' ||
      result === 'csp-implemented-with-no-unsafe-default-src-none' ||
      result === 'csp-implemented-with-unsafe-inline-in-style-src-only' ||
      result === 'csp-implemented-with-insecure-scheme-in-passive-content-only')
  ) {
    result = 'csp-implemented-but-duplicate-directives';
  }
  card.scored(result, field);
  return csp.has('frame-ancestors');
}
