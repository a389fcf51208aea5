// Probe results shaped like real sites', for micro-benchmarks of what happens to a result
// after the probe: a plain-http site behind a CDN (17 headers) and an https application
// (TLS facts, a CSP, several cookies). Both are ok results; no findings are filled in.
import type { ProbeResult } from '../../src/schemas/probe-result.js';

type Headers = ReadonlyArray<readonly [string, string]>;

/** A plain-http page behind a CDN, as one answered on 2026-11-24. */
export const cdnHeaders: Headers = [
  ['Date', 'Tue, 24 Nov 2026 22:55:01 GMT'],
  ['Content-Type', 'text/html; charset=UTF-8'],
  ['Transfer-Encoding', 'chunked'],
  ['Connection', 'keep-alive'],
  ['Server', 'cloudflare'],
  ['Cache-Control', 'max-age=0, private, must-revalidate'],
  ['Vary', 'Accept-Encoding'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-Content-Type-Options', 'nosniff'],
  ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains; preload'],
  [
    'Set-Cookie',
    '__cf_bm=abcDEF123456789.abcdefghijk-1732488901-1.0.1.1-ZZZZ; path=/; expires=Tue, 24-Nov-26 23:25:01 GMT; domain=.example.com; HttpOnly; Secure; SameSite=None',
  ],
  [
    'Report-To',
    '{"endpoints":[{"url":"https:\\/\\/a.nel.cloudflare.com\\/report\\/v4?s=abc"}],"group":"cf-nel","max_age":604800}',
  ],
  ['NEL', '{"success_fraction":0,"report_to":"cf-nel","max_age":604800}'],
  ['CF-Cache-Status', 'DYNAMIC'],
  ['CF-RAY', '8e7f6a5b4c3d2e1f-FRA'],
  ['alt-svc', 'h3=":443"; ma=86400'],
  ['Content-Encoding', 'gzip'],
];

const appHeaders: Headers = [
  ['date', 'Tue, 24 Nov 2026 22:55:01 GMT'],
  ['content-type', 'text/html; charset=utf-8'],
  ['server', 'nginx/1.24.0'],
  ['x-powered-by', 'PHP/8.2.12'],
  ['cache-control', 'no-cache, private'],
  ['vary', 'Accept-Encoding, Cookie'],
  [
    'content-security-policy',
    "default-src 'self'; script-src 'self' 'nonce-r4nd0m' https://cdn.example.net; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; frame-ancestors 'none'; object-src 'none'; base-uri 'self'",
  ],
  ['strict-transport-security', 'max-age=63072000; includeSubDomains'],
  ['x-content-type-options', 'nosniff'],
  ['referrer-policy', 'strict-origin-when-cross-origin'],
  ['permissions-policy', 'geolocation=(), camera=(), microphone=()'],
  ['cross-origin-opener-policy', 'same-origin'],
  [
    'set-cookie',
    'XSRF-TOKEN=eyJpdiI6IkFCQyIsInZhbHVlIjoiREVGIn0%3D; expires=Wed, 25 Nov 2026 00:55:01 GMT; Max-Age=7200; path=/; secure; samesite=lax',
  ],
  [
    'set-cookie',
    'laravel_session=eyJpdiI6IkdISSIsInZhbHVlIjoiSktMIn0%3D; expires=Wed, 25 Nov 2026 00:55:01 GMT; Max-Age=7200; path=/; secure; httponly; samesite=lax',
  ],
  ['set-cookie', 'wp-settings-time-1=1732488901; expires=Wed, 24 Nov 2027 22:55:01 GMT; path=/'],
  ['x-request-id', '5f0c1e2d-3b4a-4c5d-8e9f-0a1b2c3d4e5f'],
  ['alt-svc', 'h3=":443"; ma=86400, h3-29=":443"; ma=86400'],
];

const ms = (value: number) => Math.round(value * 1000) / 1000;

function timingOf(i: number, tls: number): ProbeResult['timing'] {
  const dns = ms(0.9 + (i % 13) / 7);
  const tcp = ms(10 + (i % 17) / 3);
  const wait = ms(30 + (i % 29) / 3);
  const connect = ms(dns + tcp);
  const appconnect = tls === 0 ? 0 : ms(connect + tls);
  const pretransfer = ms((tls === 0 ? connect : appconnect) + 0.05);
  const starttransfer = ms(pretransfer + wait);
  return {
    startedAt: new Date(1_795_000_000_000 + i).toISOString(),
    namelookup: dns,
    connect,
    appconnect,
    pretransfer,
    starttransfer,
    total: ms(starttransfer + 0.3),
    phases: { dns, tcp, tls, request: 0.05, wait, transfer: 0.3 },
  };
}

function baseResult(i: number, url: string, headers: Headers): ProbeResult {
  const host = new URL(url).hostname;
  const address = `93.184.${i & 255}.34`;
  return {
    target: host,
    url,
    ok: true,
    httpVersion: '1.1',
    status: 200,
    statusText: 'OK',
    headers: headers.map(([name, value]) => [name, value] as [string, string]),
    informational: [],
    remote: { address, port: url.startsWith('https:') ? 443 : 80, family: 'IPv4' },
    dns: {
      source: i % 2 === 0 ? 'dns' : 'cache',
      name: host,
      cnames: [],
      addresses: [{ address, family: 'IPv4' }],
      ttl: 300,
    },
    connectAttempts: [],
    tls: null,
    timing: timingOf(i, 0),
    redirects: [],
    finalUrl: url,
    error: null,
    findings: [],
    score: null,
    grade: null,
    technologies: [],
    altSvc: null,
  };
}

/** A plain-http site behind a CDN: 17 headers, one cookie, no TLS. */
export function plainHttpResult(i: number): ProbeResult {
  return baseResult(i, `http://host${i}.example.com/`, cdnHeaders);
}

/** An https application: TLS 1.3 with a verified certificate, a CSP, three cookies. */
export function httpsResult(i: number): ProbeResult {
  const host = `app${i}.example.org`;
  const result = baseResult(i, `https://${host}/`, appHeaders);
  result.httpVersion = '2';
  result.timing = timingOf(i, ms(12 + (i % 11) / 4));
  result.tls = {
    protocol: 'TLSv1.3',
    cipher: 'TLS_AES_128_GCM_SHA256',
    alpn: 'h2',
    servername: host,
    verified: true,
    verifyError: null,
    certificate: {
      subject: { CN: host },
      issuer: { C: 'US', O: "Let's Encrypt", CN: 'R11' },
      subjectAltNames: [`DNS:${host}`, `DNS:www.${host}`],
      validFrom: '2026-10-01T00:00:00.000Z',
      validTo: '2026-12-30T23:59:59.000Z',
      serialNumber: (0x3a1f00 + i).toString(16).toUpperCase(),
      fingerprint256:
        'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89',
    },
  };
  return result;
}
