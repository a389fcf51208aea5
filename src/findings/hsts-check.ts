// Strict-Transport-Security, as the Observatory's test reads it: only on an https response
// whose certificate verifies; max-age of at least 15552000 s (its "six months").
import type { TlsDetails } from '../schemas/probe-result.js';
import type { HeaderField } from './head-fields.js';
import type { ScoreCard } from './score-card.js';

/** The Observatory's own white lie: 15768000 is six months, but many sites send 15552000. */
export const SIX_MONTHS_SECONDS = 15_552_000;

const MAX_AGE = /^max-age=(?:(\d{1,15})|"(\d{1,15})")$/;

/** True when HSTS protects the host: what the cookie test counts as "protected by HSTS". */
export function checkHsts(
  card: ScoreCard,
  field: HeaderField | null,
  finalIsHttps: boolean,
  tls: TlsDetails | null,
): boolean {
  if (!finalIsHttps) {
    card.scored('hsts-not-implemented-no-https', null);
    return false;
  }
  if (tls?.verified !== true) {
    card.scored('hsts-invalid-cert', field);
    return false;
  }
  if (!field) {
    card.scored('hsts-not-implemented', null);
    return false;
  }
  const data = field.value.slice(0, 1024);
  // A comma means the header came more than once (folded): the Observatory calls that invalid.
  if (data.includes(',')) {
    card.scored('hsts-header-invalid', field);
    return false;
  }
  let maxAge: number | null = null;
  let invalid = false;
  let includeSubDomains = false;
  let preload = false;
  for (const raw of data.split(';')) {
    const directive = raw.trim().toLowerCase();
    if (directive.startsWith('max-age=')) {
      const match = MAX_AGE.exec(directive);
      // The Observatory's parseInt would take "max-age=abc" (NaN) as long enough; we do not.
      // The last max-age counts, as in the Observatory's loop.
      maxAge = match ? Number(match[1] ?? match[2]) : null;
      invalid = !match;
    } else if (directive === 'includesubdomains') includeSubDomains = true;
    else if (directive === 'preload') preload = true;
  }
  if (invalid || maxAge === null) {
    card.scored('hsts-header-invalid', field);
    return false;
  }
  const longEnough = maxAge >= SIX_MONTHS_SECONDS;
  card.scored(
    longEnough
      ? 'hsts-implemented-max-age-at-least-six-months'
      : 'hsts-implemented-max-age-less-than-six-months',
    field,
  );
  if (!includeSubDomains) card.note('hsts-include-subdomains-missing', field);
  if (preload) card.note('hsts-preload-directive', field);
  return longEnough;
}
