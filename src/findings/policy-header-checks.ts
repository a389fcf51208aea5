// The Observatory's single-header tests: X-Frame-Options, X-Content-Type-Options,
// Referrer-Policy, CORS, and the Cross-Origin Resource, Opener and Embedder policies.
import type { HeaderField } from './head-fields.js';
import type { ObservatoryResult } from './observatory-results.js';
import type { ScoreCard } from './score-card.js';
import { structuredToken } from './structured-token.js';

export function checkFrameOptions(
  card: ScoreCard,
  field: HeaderField | null,
  /** The CSP header, when its policy sets frame-ancestors. */
  frameAncestors: HeaderField | null,
): void {
  // CSP frame-ancestors supersedes the header in browsers, so it wins whatever the header says.
  if (frameAncestors) {
    card.scored('x-frame-options-implemented-via-csp', frameAncestors);
    return;
  }
  if (!field) {
    card.scored('x-frame-options-not-implemented', null);
    return;
  }
  const xfo = field.value.slice(0, 1024).trim().toLowerCase();
  card.scored(
    xfo === 'deny' || xfo === 'sameorigin'
      ? 'x-frame-options-sameorigin-or-deny'
      : xfo.startsWith('allow-from')
        ? 'x-frame-options-allow-from-origin'
        : 'x-frame-options-header-invalid',
    field,
  );
}

export function checkContentTypeOptions(card: ScoreCard, field: HeaderField | null): void {
  if (!field) card.scored('x-content-type-options-not-implemented', null);
  else if (field.value.slice(0, 256).trim().toLowerCase() === 'nosniff') {
    card.scored('x-content-type-options-nosniff', field);
  } else card.scored('x-content-type-options-header-invalid', field);
}

const PRIVATE_REFERRERS = new Set([
  'no-referrer',
  'same-origin',
  'strict-origin',
  'strict-origin-when-cross-origin',
]);
const UNSAFE_REFERRERS = new Set([
  'origin',
  'origin-when-cross-origin',
  'unsafe-url',
  'no-referrer-when-downgrade',
]);

export function checkReferrerPolicy(card: ScoreCard, field: HeaderField | null): void {
  if (!field) {
    card.scored('referrer-policy-not-implemented', null);
    return;
  }
  // Browsers use the last value they recognise, so does the Observatory.
  let policy: string | null = null;
  for (const raw of field.value.split(',')) {
    const value = raw.trim().toLowerCase();
    if (PRIVATE_REFERRERS.has(value) || UNSAFE_REFERRERS.has(value)) policy = value;
  }
  card.scored(
    policy === null
      ? 'referrer-policy-header-invalid'
      : PRIVATE_REFERRERS.has(policy)
        ? 'referrer-policy-private'
        : 'referrer-policy-unsafe',
    field,
  );
}

/**
 * The Observatory sends its own Origin and flags a response that reflects it with credentials
 * allowed. A probe sends none, so the head-only stand-in is `*` with credentials: true.
 */
export function checkCors(
  card: ScoreCard,
  allowOrigin: HeaderField | null,
  allowCredentials: HeaderField | null,
): void {
  if (!allowOrigin) {
    card.scored('cross-origin-resource-sharing-not-implemented', null);
    return;
  }
  const origin = allowOrigin.value.slice(0, 256).trim().toLowerCase();
  const credentials = allowCredentials?.value.trim().toLowerCase() === 'true';
  card.scored(
    origin !== '*'
      ? 'cross-origin-resource-sharing-implemented-with-restricted-access'
      : credentials
        ? 'cross-origin-resource-sharing-implemented-with-universal-access'
        : 'cross-origin-resource-sharing-implemented-with-public-access',
    allowOrigin,
  );
}

export function checkResourcePolicy(card: ScoreCard, field: HeaderField | null): void {
  const value = field?.value.slice(0, 256).trim().toLowerCase();
  if (!field || !value) {
    card.scored('cross-origin-resource-policy-not-implemented', null);
    return;
  }
  card.scored(
    value === 'same-site'
      ? 'cross-origin-resource-policy-implemented-with-same-site'
      : value === 'same-origin'
        ? 'cross-origin-resource-policy-implemented-with-same-origin'
        : value === 'cross-origin'
          ? 'cross-origin-resource-policy-implemented-with-cross-origin'
          : 'cross-origin-resource-policy-header-invalid',
    field,
  );
}

const openerResults: ReadonlyMap<string, ObservatoryResult> = new Map([
  ['same-origin', 'coop-implemented-with-same-origin'],
  ['same-origin-allow-popups', 'coop-implemented-with-same-origin-allow-popups'],
  ['noopener-allow-popups', 'coop-implemented-with-noopener-allow-popups'],
  ['unsafe-none', 'coop-implemented-with-unsafe-none'],
]);
const embedderResults: ReadonlyMap<string, ObservatoryResult> = new Map([
  ['require-corp', 'coep-implemented-with-require-corp'],
  ['credentialless', 'coep-implemented-with-credentialless'],
  ['unsafe-none', 'coep-implemented-with-unsafe-none'],
]);

function checkTokenPolicy(
  card: ScoreCard,
  field: HeaderField | null,
  results: ReadonlyMap<string, ObservatoryResult>,
  missing: ObservatoryResult,
  invalid: ObservatoryResult,
): void {
  const value = field?.value.trim();
  if (!field || !value) {
    card.scored(missing, null);
    return;
  }
  // Case matters: a structured-field token is compared as sent (Same-Origin is invalid).
  const token = structuredToken(value);
  card.scored((token !== null && results.get(token)) || invalid, field);
}

export function checkOpenerPolicy(card: ScoreCard, field: HeaderField | null): void {
  checkTokenPolicy(card, field, openerResults, 'coop-not-implemented', 'coop-header-invalid');
}

export function checkEmbedderPolicy(card: ScoreCard, field: HeaderField | null): void {
  checkTokenPolicy(card, field, embedderResults, 'coep-not-implemented', 'coep-header-invalid');
}
