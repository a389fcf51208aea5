// The Observatory's cookie test: every cookie set along the chain (redirect hops included),
// judged on Secure, HttpOnly for session-looking names and SameSite; the worst result counts.

import type { HeaderField } from './head-fields.js';
import type { ObservatoryResult } from './observatory-results.js';
import type { ScoreCard } from './score-card.js';
import { type CookieFacts, parseSetCookie } from './set-cookie.js';

/** Best to worst, as the Observatory's onlyIfWorse ranks them. */
const ranking: readonly ObservatoryResult[] = [
  'cookies-without-secure-flag-but-protected-by-hsts',
  'cookies-without-secure-flag',
  'cookies-session-without-secure-flag-but-protected-by-hsts',
  'cookies-samesite-flag-invalid',
  'cookies-anticsrf-without-samesite-flag',
  'cookies-session-without-httponly-flag',
  'cookies-session-without-secure-flag',
];

/** mozilla/http-observatory#282: Heroku's affinity cookie is not the site's to fix. */
const IGNORED_COOKIES = new Set(['heroku-session-affinity']);
const SESSION_NAME = /login|sess/i;
const ANTI_CSRF_NAME = /csrf/i;
const VALID_SAME_SITE = new Set(['lax', 'strict', 'none']);

interface Worst {
  result: ObservatoryResult | null;
  field: HeaderField | null;
}

function worsen(worst: Worst, result: ObservatoryResult, field: HeaderField): void {
  if (worst.result === null || ranking.indexOf(result) > ranking.indexOf(worst.result)) {
    worst.result = result;
    worst.field = field;
  }
}

function judge(worst: Worst, cookie: CookieFacts, field: HeaderField, hsts: boolean): void {
  const session = SESSION_NAME.test(cookie.name);
  if (cookie.sameSite !== null && !VALID_SAME_SITE.has(cookie.sameSite)) {
    worsen(worst, 'cookies-samesite-flag-invalid', field);
  }
  if (!cookie.secure && cookie.sameSite === 'none') {
    worsen(worst, 'cookies-samesite-flag-invalid', field);
  }
  if (!cookie.secure) {
    worsen(
      worst,
      hsts ? 'cookies-without-secure-flag-but-protected-by-hsts' : 'cookies-without-secure-flag',
      field,
    );
  }
  if (ANTI_CSRF_NAME.test(cookie.name) && cookie.sameSite === null) {
    worsen(worst, 'cookies-anticsrf-without-samesite-flag', field);
  }
  if (session && !cookie.secure) {
    worsen(
      worst,
      hsts
        ? 'cookies-session-without-secure-flag-but-protected-by-hsts'
        : 'cookies-session-without-secure-flag',
      field,
    );
  }
  if (session && !cookie.httpOnly) worsen(worst, 'cookies-session-without-httponly-flag', field);
}

/** `lines` in the order they were received; a later line for a name replaces an earlier one. */
export function checkCookies(card: ScoreCard, lines: readonly HeaderField[], hsts: boolean): void {
  const cookies: Array<{ cookie: CookieFacts; field: HeaderField }> = [];
  for (const field of lines) {
    const cookie = parseSetCookie(field.value);
    if (!cookie || IGNORED_COOKIES.has(cookie.name)) continue;
    const earlier = cookies.findIndex((seen) => seen.cookie.name === cookie.name);
    if (earlier >= 0) cookies.splice(earlier, 1);
    // A deletion leaves no cookie in the jar to judge.
    if (!cookie.deletes) cookies.push({ cookie, field });
  }
  if (cookies.length === 0) {
    card.scored('cookies-not-found', null);
    return;
  }
  const worst: Worst = { result: null, field: null };
  let missingSameSite: HeaderField | null = null;
  for (const { cookie, field } of cookies) {
    judge(worst, cookie, field, hsts);
    if (cookie.sameSite === null) missingSameSite ??= field;
  }
  if (worst.result) card.scored(worst.result, worst.field);
  else if (missingSameSite) card.scored('cookies-secure-with-httponly-sessions', missingSameSite);
  else card.scored('cookies-secure-with-httponly-sessions-and-samesite', cookies[0]?.field ?? null);
}
