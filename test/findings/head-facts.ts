// Hand-built heads for the findings tests: a verified https result by default, with the
// headers, redirects and TLS facts a case needs.
import type { HeadAnalysis, HeadFacts } from '../../src/findings/index.js';
import { analyseHead } from '../../src/findings/index.js';
import type { RedirectHop, TlsDetails } from '../../src/schemas/probe-result.js';

type Headers = Array<[string, string]>;

export const STARTED_AT = '2026-03-01T12:00:00.000Z';

const timing: HeadFacts['timing'] = {
  startedAt: STARTED_AT,
  namelookup: 1,
  connect: 2,
  appconnect: 3,
  pretransfer: 3,
  starttransfer: 4,
  total: 5,
  phases: { dns: 1, tcp: 1, tls: 1, request: 0, wait: 1, transfer: 1 },
};

export const verifiedTls: TlsDetails = {
  protocol: 'TLSv1.3',
  cipher: 'TLS_AES_128_GCM_SHA256',
  alpn: 'http/1.1',
  servername: 'example.com',
  verified: true,
  verifyError: null,
  certificate: null,
};

export function headFacts(overrides: Partial<HeadFacts> = {}): HeadFacts {
  const url = overrides.url ?? 'https://example.com/';
  return {
    url,
    finalUrl: url,
    ok: true,
    status: 200,
    headers: [],
    redirects: [],
    tls: url.startsWith('https:') ? verifiedTls : null,
    timing,
    error: null,
    ...overrides,
  };
}

export function hop(url: string, location: string, headers: Headers = []): RedirectHop {
  return {
    url,
    httpVersion: '1.1',
    status: 301,
    statusText: 'Moved Permanently',
    location,
    headers: [['Location', location], ...headers],
    remote: null,
    timing,
    downgrade: false,
  };
}

/** A valid HSTS header, so cookie and other cases are not muddied by its absence. */
export const HSTS: [string, string] = [
  'Strict-Transport-Security',
  'max-age=31536000; includeSubDomains',
];

export function analyse(facts: HeadFacts): HeadAnalysis {
  return analyseHead(facts, { certificateExpiryDays: 30 });
}

/** Ids of the findings in one category, in order. */
export function idsIn(analysis: HeadAnalysis, category: string): string[] {
  return analysis.findings.filter((f) => f.category === category).map((f) => f.id);
}

/** Ids in `category` for a verified https response with `headers`. */
export function httpsIds(category: string, headers: Headers): string[] {
  return idsIn(analyse(headFacts({ headers })), category);
}
