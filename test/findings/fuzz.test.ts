// Hostile heads: whatever the headers, redirects and TLS facts, analyseHead and parseAltSvc
// never throw and always produce values the wire schemas accept.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyseHead, type HeadFacts, parseAltSvc } from '../../src/findings/index.js';
import { AltSvc, Finding, Grade, Technology } from '../../src/schemas/findings.js';
import { headFacts, hop } from './head-facts.js';

const headerNames = fc.oneof(
  fc.constantFrom(
    'Strict-Transport-Security',
    'content-security-policy',
    'Content-Security-Policy-Report-Only',
    'X-Frame-Options',
    'X-Content-Type-Options',
    'Referrer-Policy',
    'Set-Cookie',
    'Access-Control-Allow-Origin',
    'Access-Control-Allow-Credentials',
    'Cross-Origin-Resource-Policy',
    'Cross-Origin-Opener-Policy',
    'Cross-Origin-Embedder-Policy',
    'Location',
    'Server',
    'X-Powered-By',
    'X-AspNet-Version',
    'Via',
    'X-Generator',
    'CF-Ray',
    'x-akamai-anything',
    'Alt-Svc',
    '__proto__',
    'constructor',
  ),
  fc.string({ maxLength: 40 }),
);

const headerValues = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom(
    '',
    ' ',
    ',',
    ';;;;;;;;',
    "default-src 'none'",
    "script-src 'nonce-a' 'strict-dynamic' 'unsafe-inline' https: 'self'",
    'max-age=31536000; includeSubDomains; preload',
    'max-age=',
    'sess=1; SameSite',
    '=;=;=',
    'h3=":443"; ma=86400, clear',
    '"',
    '%',
    '\u0000\uffff\ud800',
  ),
  fc
    .array(
      fc.constantFrom("'unsafe-inline'", 'data:', ';', ',', '=', '"', ' ', 'nginx/1.2', 'h3=":1"'),
      {
        maxLength: 60,
      },
    )
    .map((parts) => parts.join('')),
);

const headers = fc.array(fc.tuple(headerNames, headerValues), { maxLength: 30 });
const urls = fc.oneof(
  fc.constantFrom(
    'https://example.com/',
    'http://example.com/',
    'https://[::1]:8443/',
    'http://127.0.0.1/',
  ),
  fc.string({ maxLength: 30 }),
  fc.constant(null),
);
const names = fc.dictionary(
  fc.constantFrom('CN', 'O', 'OU', '__proto__'),
  fc.oneof(fc.string({ maxLength: 20 }), fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 })),
);
const certificate = fc.record({
  subject: names,
  issuer: names,
  subjectAltNames: fc.array(
    fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom(
        'DNS:example.com',
        'DNS:*.example.com',
        'IP Address:127.0.0.1',
        'IP Address:::1',
        'DNS:',
      ),
    ),
    { maxLength: 5 },
  ),
  validFrom: fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  ),
  validTo: fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  ),
  serialNumber: fc.string({ maxLength: 8 }),
  fingerprint256: fc.string({ maxLength: 8 }),
});
const tlsFacts = fc.option(
  fc.record({
    protocol: fc.option(fc.constantFrom('TLSv1.3', 'TLSv1.2', 'TLSv1', 'SSLv3', 'weird')),
    cipher: fc.option(fc.string({ maxLength: 10 })),
    alpn: fc.option(fc.string({ maxLength: 10 })),
    servername: fc.option(fc.string({ maxLength: 10 })),
    verified: fc.boolean(),
    verifyError: fc.option(
      fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.constantFrom(
          'DEPTH_ZERO_SELF_SIGNED_CERT',
          'CERT_HAS_EXPIRED',
          'ERR_TLS_CERT_ALTNAME_INVALID',
        ),
      ),
    ),
    certificate: fc.option(certificate),
  }),
);

const facts: fc.Arbitrary<HeadFacts> = fc
  .record({
    url: urls,
    finalUrl: urls,
    ok: fc.boolean(),
    status: fc.option(fc.integer({ min: -1, max: 999 })),
    headers,
    hops: fc.array(fc.tuple(fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }), headers), {
      maxLength: 3,
    }),
    tls: tlsFacts,
    startedAt: fc.oneof(fc.string({ maxLength: 10 }), fc.constant('2026-03-01T12:00:00.000Z')),
  })
  .map(({ hops, startedAt, ...rest }) => {
    const base = headFacts();
    return {
      ...base,
      ...rest,
      redirects: hops.map(([url, location, hopHeaders]) => hop(url, location, hopHeaders)),
      timing: { ...base.timing, startedAt },
    };
  });

function expectValid(analysis: ReturnType<typeof analyseHead>): void {
  for (const finding of analysis.findings) Finding.parse(finding);
  for (const technology of analysis.technologies) Technology.parse(technology);
  if (analysis.score !== null) {
    expect(Number.isInteger(analysis.score)).toBe(true);
    expect(analysis.score).toBeGreaterThanOrEqual(0);
    Grade.parse(analysis.grade);
  } else expect(analysis.grade).toBeNull();
}

describe('fuzz', () => {
  it('analyseHead never throws and its output parses', () => {
    fc.assert(
      fc.property(facts, fc.integer({ min: -5, max: 400 }), (input, days) => {
        expectValid(analyseHead(input, { certificateExpiryDays: days }));
      }),
      { numRuns: 2000 },
    );
  });

  it('parseAltSvc never throws and its output parses', () => {
    fc.assert(
      fc.property(fc.option(headerValues, { nil: null }), (value) => {
        const parsed = parseAltSvc(value);
        if (value === null) expect(parsed).toBeNull();
        else AltSvc.parse(parsed);
      }),
      { numRuns: 3000 },
    );
  });

  it('huge values stay cheap', () => {
    const huge = 'a'.repeat(2_000_000);
    const manyCookies = Array.from({ length: 2000 }, (_, i): [string, string] => [
      'Set-Cookie',
      `sess${i}=${huge.slice(0, 100)}`,
    ]);
    const input = headFacts({
      headers: [
        ['Content-Security-Policy', `default-src ${"'self' ".repeat(200_000)}`],
        ['Strict-Transport-Security', huge],
        ['Server', `nginx/${huge}`],
        ['Via', 'varnish '.repeat(100_000)],
        ...manyCookies,
      ],
    });
    const started = performance.now();
    expectValid(analyseHead(input, { certificateExpiryDays: 30 }));
    AltSvc.parse(parseAltSvc(`h3="${huge}`));
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
