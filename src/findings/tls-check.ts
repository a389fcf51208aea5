// What the TLS facts say, unscored: validity window, host name, trust, protocol. Node reports
// only the first verification error, so dates and names are judged here from the certificate.
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { TlsDetails } from '../schemas/probe-result.js';
import type { ScoreCard } from './score-card.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const OUTDATED_PROTOCOLS = new Set(['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1']);

// Node sets authorizationError to OpenSSL's code; its message form is matched too, in case a
// caller records that instead ("self-signed certificate", "certificate has expired", ...).
const SELF_SIGNED = /SELF_SIGNED|self[- ]signed/i;
const EXPIRED = /CERT_HAS_EXPIRED|certificate has expired/i;
const NOT_YET_VALID = /CERT_NOT_YET_VALID|certificate is not yet valid/i;
const NAME_MISMATCH = /ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/i;

/** The host a certificate must name: the URL's host name, IPv6 brackets removed. */
function hostOf(url: string | null): string | null {
  if (url === null) return null;
  try {
    const hostname = new URL(url).hostname;
    return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  } catch {
    return null;
  }
}

function nameMatches(host: string, certificate: NonNullable<TlsDetails['certificate']>): boolean {
  // checkServerIdentity reads only subject and subjectaltname; the rest of PeerCertificate is
  // not needed, and Node's own join is ", ".
  const peer = {
    subject: certificate.subject,
    subjectaltname: certificate.subjectAltNames.join(', '),
  } as unknown as PeerCertificate;
  // A mismatch comes back as an Error; without a stack trace it costs a fraction (~15 µs
  // less), and many targets of a bulk scan (addresses, shared certificates) mismatch.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return checkServerIdentity(host, peer) === undefined;
  } catch {
    return false;
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

type Names = NonNullable<TlsDetails['certificate']>['subject'];

function sameNames(a: Names, b: Names): boolean {
  const keys = Object.keys(a);
  if (keys.length === 0 || keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    const left = a[key];
    const right = b[key];
    if (Array.isArray(left) && Array.isArray(right)) {
      if (left.length !== right.length || left.some((value, i) => value !== right[i])) return false;
    } else if (left !== right) return false;
  }
  return true;
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

function plural(days: number): string {
  return days === 1 ? '1 day' : `${days} days`;
}

export function checkTls(
  card: ScoreCard,
  tls: TlsDetails,
  url: string | null,
  now: number,
  expiryDays: number,
): void {
  const certificate = tls.certificate;
  const verifyError = tls.verifyError ?? '';
  let datesJudged = false;
  let nameJudged = false;
  if (certificate) {
    const validFrom = Date.parse(certificate.validFrom);
    const validTo = Date.parse(certificate.validTo);
    if (!Number.isNaN(validTo) && !Number.isNaN(validFrom)) {
      datesJudged = true;
      const left = validTo - now;
      if (left < 0) {
        card.note('tls-certificate-expired', null, `The certificate expired on ${iso(validTo)}.`);
      } else if (validFrom > now) {
        card.note(
          'tls-certificate-not-yet-valid',
          null,
          `The certificate is valid only from ${iso(validFrom)}.`,
        );
      } else if (left <= expiryDays * DAY_MS) {
        // Whole days left, rounded down as certDaysLeft (CSV, table, page) counts them.
        const days = Math.floor(left / DAY_MS);
        const when = days === 0 ? 'within a day' : `in ${plural(days)}`;
        card.note(
          'tls-certificate-expiring',
          null,
          `The certificate expires ${when} (${iso(validTo)}).`,
        );
      }
    }
    if (tls.verified) {
      // Node checked the name during the handshake: nothing to judge again.
      nameJudged = true;
    } else {
      const host = hostOf(url);
      if (host !== null && host.length > 0) {
        nameJudged = true;
        if (!nameMatches(host, certificate)) {
          const kind = isIP(host) === 0 ? 'host name' : 'IP address';
          card.note(
            'tls-hostname-mismatch',
            null,
            `The certificate does not name the ${kind} ${host}.`,
          );
        }
      }
    }
  }

  if (!tls.verified) {
    // A leaf naming itself as issuer is self-signed even when Node's first error was another.
    const selfSigned =
      SELF_SIGNED.test(verifyError) ||
      (certificate !== null && sameNames(certificate.subject, certificate.issuer));
    if (selfSigned) card.note('tls-certificate-self-signed', null);
    else if (EXPIRED.test(verifyError) || NOT_YET_VALID.test(verifyError)) {
      // Judged from the dates above; without a certificate only Node's word is left.
      if (!datesJudged) {
        card.note(
          EXPIRED.test(verifyError) ? 'tls-certificate-expired' : 'tls-certificate-not-yet-valid',
          null,
        );
      }
    } else if (NAME_MISMATCH.test(verifyError)) {
      if (!nameJudged) card.note('tls-hostname-mismatch', null);
    } else {
      card.note(
        'tls-certificate-untrusted',
        null,
        `The certificate chain does not verify (${verifyError.slice(0, 200) || 'no reason given'}).`,
      );
    }
  }

  if (tls.protocol !== null && OUTDATED_PROTOCOLS.has(tls.protocol)) {
    card.note(
      'tls-protocol-outdated',
      null,
      `The connection used ${tls.protocol}, older than TLS 1.2.`,
    );
  }
}
