// Findings of ours that the Observatory does not score: TLS facts, HSTS details and version
// disclosure. They are listed with scoreModifier 0 and never move the score.
import type { FindingCategory, FindingSeverity } from '../schemas/findings.js';

interface NoteEntry {
  readonly category: FindingCategory;
  readonly severity: FindingSeverity;
  readonly message: string;
}

export const headNotes = {
  'hsts-include-subdomains-missing': {
    category: 'hsts',
    severity: 'info',
    message:
      'Strict-Transport-Security has no includeSubDomains: subdomains stay reachable over http.',
  },
  'hsts-preload-directive': {
    category: 'hsts',
    severity: 'info',
    message:
      'Strict-Transport-Security asks to be preloaded; whether the host is on the preload list is not checked.',
  },
  'tls-certificate-expired': {
    category: 'tls',
    severity: 'high',
    message: 'The certificate has expired.',
  },
  'tls-certificate-not-yet-valid': {
    category: 'tls',
    severity: 'high',
    message: 'The certificate is not valid yet.',
  },
  'tls-certificate-expiring': {
    category: 'tls',
    severity: 'medium',
    message: 'The certificate expires soon.',
  },
  'tls-hostname-mismatch': {
    category: 'tls',
    severity: 'high',
    message: 'The certificate is not issued for the host name.',
  },
  'tls-certificate-self-signed': {
    category: 'tls',
    severity: 'high',
    message: 'The certificate (or its chain) is self-signed.',
  },
  'tls-certificate-untrusted': {
    category: 'tls',
    severity: 'high',
    message: 'The certificate chain does not verify against the trusted roots.',
  },
  'tls-protocol-outdated': {
    category: 'tls',
    severity: 'high',
    message: 'The connection used a protocol older than TLS 1.2.',
  },
  'server-version-disclosed': {
    category: 'disclosure',
    severity: 'low',
    message: 'A header reveals a software version.',
  },
} as const satisfies Record<string, NoteEntry>;

export type HeadNote = keyof typeof headNotes;
