// One table per Observatory test: crafted heads, the result ids they must (or must not) give.
import { describe, expect, it } from 'vitest';
import { analyse, HSTS, headFacts, hop, httpsIds, idsIn, verifiedTls } from './head-facts.js';

type Headers = Array<[string, string]>;
type Case = readonly [label: string, headers: Headers, expected: string[]];

describe('Strict-Transport-Security', () => {
  const sts = (value: string): Headers => [['Strict-Transport-Security', value]];
  const cases: Case[] = [
    ['absent', [], ['hsts-not-implemented']],
    [
      "exactly 15552000 s, the Observatory's six months",
      sts('max-age=15552000'),
      ['hsts-include-subdomains-missing'],
    ],
    [
      'one second less',
      sts('max-age=15551999'),
      ['hsts-implemented-max-age-less-than-six-months', 'hsts-include-subdomains-missing'],
    ],
    [
      '15768000 s (true six months) with includeSubDomains',
      sts('max-age=15768000; includeSubDomains'),
      [],
    ],
    ['case-insensitive directives', sts('MAX-AGE=31536000; INCLUDESUBDOMAINS'), []],
    ['a quoted max-age (RFC 6797 allows it)', sts('max-age="31536000"; includeSubDomains'), []],
    [
      'preload is noted, never scored as preloaded',
      sts('max-age=63072000; includeSubDomains; preload'),
      ['hsts-preload-directive'],
    ],
    ['no max-age', sts('includeSubDomains'), ['hsts-header-invalid']],
    ['a max-age that is not a number', sts('max-age=forever'), ['hsts-header-invalid']],
    [
      'sent twice',
      [...sts('max-age=31536000'), ...sts('max-age=31536000')],
      ['hsts-header-invalid'],
    ],
  ];
  it.each(cases)('%s', (_label, headers, expected) => {
    expect(httpsIds('hsts', headers)).toEqual(expected);
  });

  it('hsts-not-implemented-no-https when the final response came over http', () => {
    const result = analyse(headFacts({ url: 'http://example.com/', headers: [HSTS] }));
    expect(idsIn(result, 'hsts')).toEqual(['hsts-not-implemented-no-https']);
  });

  it('hsts-invalid-cert when the certificate does not verify', () => {
    const tls = { ...verifiedTls, verified: false, verifyError: 'DEPTH_ZERO_SELF_SIGNED_CERT' };
    const result = analyse(headFacts({ headers: [HSTS], tls }));
    expect(idsIn(result, 'hsts')).toEqual(['hsts-invalid-cert']);
    expect(result.findings.find((f) => f.id === 'hsts-invalid-cert')).toMatchObject({
      severity: 'medium',
      scoreModifier: -20,
      evidence: { header: 'Strict-Transport-Security', value: HSTS[1] },
    });
  });
});

describe('Content-Security-Policy', () => {
  const csp = (...values: string[]): Headers =>
    values.map((value) => ['Content-Security-Policy', value]);
  const cases: Case[] = [
    ['absent', [], ['csp-not-implemented']],
    [
      'report-only alone',
      [['Content-Security-Policy-Report-Only', "default-src 'self'"]],
      ['csp-not-implemented-but-reporting-enabled'],
    ],
    ["default-src 'self'", csp("default-src 'self'"), ['csp-implemented-with-no-unsafe']],
    [
      "default-src 'none'",
      csp("default-src 'none'"),
      ['csp-implemented-with-no-unsafe-default-src-none'],
    ],
    [
      "'unsafe-inline' in style-src only (modifier 0: not listed)",
      csp("default-src 'self'; style-src 'self' 'unsafe-inline'"),
      [],
    ],
    [
      "'unsafe-inline' in script-src",
      csp("default-src 'self'; script-src 'self' 'unsafe-inline'"),
      ['csp-implemented-with-unsafe-inline'],
    ],
    [
      "'unsafe-inline' reached through default-src",
      csp("default-src 'self' 'unsafe-inline'"),
      ['csp-implemented-with-unsafe-inline'],
    ],
    [
      'data: in script-src',
      csp("default-src 'self'; script-src 'self' data:"),
      ['csp-implemented-with-unsafe-inline'],
    ],
    [
      'object-src left unrestricted',
      csp("script-src 'self'"),
      ['csp-implemented-with-unsafe-inline'],
    ],
    [
      "a nonce cancels 'unsafe-inline'",
      csp("default-src 'self'; script-src 'self' 'nonce-r4nd' 'unsafe-inline'"),
      ['csp-implemented-with-no-unsafe'],
    ],
    [
      "'strict-dynamic' with a nonce drops broad sources",
      csp("default-src 'self'; script-src 'nonce-r4nd' 'strict-dynamic' https: 'unsafe-inline'"),
      ['csp-implemented-with-no-unsafe'],
    ],
    [
      "'strict-dynamic' without nonce or hash",
      csp("default-src 'self'; script-src 'self' 'strict-dynamic'"),
      ['csp-header-invalid'],
    ],
    [
      "'unsafe-eval' in script-src",
      csp("default-src 'self'; script-src 'self' 'unsafe-eval'"),
      ['csp-implemented-with-unsafe-eval'],
    ],
    [
      'http: script source on an https page',
      csp("default-src 'self'; script-src 'self' http://cdn.example.com"),
      ['csp-implemented-with-insecure-scheme'],
    ],
    [
      'http: image source on an https page',
      csp("default-src 'self'; img-src http://img.example.com"),
      ['csp-implemented-with-insecure-scheme-in-passive-content-only'],
    ],
    ['a repeated directive', csp("default-src 'self'; default-src 'none'"), ['csp-header-invalid']],
    [
      'repeated report-uri (modifier 0: not listed)',
      csp("default-src 'self'; report-uri /a; report-uri /b"),
      [],
    ],
    ['an empty value', csp(''), ['csp-header-invalid']],
    [
      'two policies: only what both allow counts',
      csp("default-src 'self' https:", "default-src 'self'"),
      ['csp-implemented-with-no-unsafe'],
    ],
    [
      'two policies in one header, comma-separated',
      csp("default-src 'self' https:, default-src 'self'"),
      ['csp-implemented-with-no-unsafe'],
    ],
  ];
  it.each(cases)('%s', (_label, headers, expected) => {
    expect(httpsIds('csp', headers)).toEqual(expected);
  });

  it('does not judge http sources on a page that is itself http', () => {
    const headers = csp("default-src 'self'; script-src 'self' http://cdn.example.com");
    const result = analyse(headFacts({ url: 'http://example.com/', headers }));
    expect(idsIn(result, 'csp')).toEqual(['csp-implemented-with-no-unsafe']);
  });
});

describe('X-Frame-Options', () => {
  const xfo = (value: string): Headers => [['X-Frame-Options', value]];
  const cases: Case[] = [
    ['absent', [], ['x-frame-options-not-implemented']],
    ['DENY', xfo('DENY'), ['x-frame-options-sameorigin-or-deny']],
    ['sameorigin, any case', xfo(' sameorigin '), ['x-frame-options-sameorigin-or-deny']],
    ['ALLOW-FROM (modifier 0: not listed)', xfo('ALLOW-FROM https://example.net'), []],
    ['an unknown value', xfo('ALLOWALL'), ['x-frame-options-header-invalid']],
    [
      'sent twice (folded to "DENY, DENY")',
      [...xfo('DENY'), ...xfo('DENY')],
      ['x-frame-options-header-invalid'],
    ],
    [
      'CSP frame-ancestors instead',
      [['Content-Security-Policy', "default-src 'self'; frame-ancestors 'none'"]],
      ['x-frame-options-implemented-via-csp'],
    ],
    [
      'CSP frame-ancestors overrides a bad header',
      [...xfo('nonsense'), ['Content-Security-Policy', "frame-ancestors 'self'"]],
      ['x-frame-options-implemented-via-csp'],
    ],
    [
      'an unparsable CSP does not count',
      [['Content-Security-Policy', "frame-ancestors 'self'; frame-ancestors 'none'"]],
      ['x-frame-options-not-implemented'],
    ],
  ];
  it.each(cases)('%s', (_label, headers, expected) => {
    expect(httpsIds('x-frame-options', headers)).toEqual(expected);
  });
});

describe('X-Content-Type-Options', () => {
  const cases: Case[] = [
    ['absent', [], ['x-content-type-options-not-implemented']],
    ['nosniff', [['X-Content-Type-Options', 'nosniff']], []],
    ['NoSniff with spaces', [['x-content-type-options', ' NoSniff ']], []],
    [
      'anything else',
      [['X-Content-Type-Options', 'no-sniff']],
      ['x-content-type-options-header-invalid'],
    ],
    [
      'sent twice',
      [
        ['X-Content-Type-Options', 'nosniff'],
        ['X-Content-Type-Options', 'nosniff'],
      ],
      ['x-content-type-options-header-invalid'],
    ],
  ];
  it.each(cases)('%s', (_label, headers, expected) => {
    expect(httpsIds('x-content-type-options', headers)).toEqual(expected);
  });
});

describe('Referrer-Policy', () => {
  const rp = (value: string): Headers => [['Referrer-Policy', value]];
  const cases: Case[] = [
    ['absent (modifier 0: not listed)', [], []],
    ['no-referrer', rp('no-referrer'), ['referrer-policy-private']],
    [
      'strict-origin-when-cross-origin',
      rp('Strict-Origin-When-Cross-Origin'),
      ['referrer-policy-private'],
    ],
    ['unsafe-url', rp('unsafe-url'), ['referrer-policy-unsafe']],
    ['no-referrer-when-downgrade', rp('no-referrer-when-downgrade'), ['referrer-policy-unsafe']],
    [
      'the last recognised value wins',
      rp('unsafe-url, strict-origin'),
      ['referrer-policy-private'],
    ],
    ['unknown values are skipped', rp('strict-origin, sometimes'), ['referrer-policy-private']],
    ['nothing recognised', rp('sometimes'), ['referrer-policy-header-invalid']],
  ];
  it.each(cases)('%s', (_label, headers, expected) => {
    expect(httpsIds('referrer-policy', headers)).toEqual(expected);
  });
});

describe('Cookies', () => {
  const cookie = (value: string): [string, string] => ['Set-Cookie', value];
  const cases: Array<readonly [string, Headers, string[]]> = [
    ['none set (modifier 0: not listed)', [HSTS], []],
    [
      'Secure, HttpOnly session, SameSite',
      [HSTS, cookie('sid=1; Secure; HttpOnly; SameSite=Lax')],
      ['cookies-secure-with-httponly-sessions-and-samesite'],
    ],
    ['Secure but no SameSite (modifier 0)', [HSTS, cookie('theme=dark; Secure')], []],
    ['no Secure, no HSTS', [cookie('theme=dark; SameSite=Lax')], ['cookies-without-secure-flag']],
    [
      'no Secure, but HSTS',
      [HSTS, cookie('theme=dark; SameSite=Lax')],
      ['cookies-without-secure-flag-but-protected-by-hsts'],
    ],
    [
      'HSTS under six months does not protect',
      [['Strict-Transport-Security', 'max-age=600'], cookie('theme=dark; SameSite=Lax')],
      ['cookies-without-secure-flag'],
    ],
    [
      'session cookie without HttpOnly',
      [HSTS, cookie('sessionid=1; Secure; SameSite=Lax')],
      ['cookies-session-without-httponly-flag'],
    ],
    [
      'session cookie without Secure, no HSTS',
      [cookie('PHPSESSID=1; HttpOnly; SameSite=Lax')],
      ['cookies-session-without-secure-flag'],
    ],
    [
      'session cookie without Secure, with HSTS',
      [HSTS, cookie('PHPSESSID=1; HttpOnly; SameSite=Lax')],
      ['cookies-session-without-secure-flag-but-protected-by-hsts'],
    ],
    [
      '"login" in the name marks a session cookie',
      [HSTS, cookie('remember_login=1; Secure; SameSite=Lax')],
      ['cookies-session-without-httponly-flag'],
    ],
    [
      'anti-CSRF cookie without SameSite',
      [HSTS, cookie('csrftoken=1; Secure')],
      ['cookies-anticsrf-without-samesite-flag'],
    ],
    [
      'an unknown SameSite value',
      [HSTS, cookie('theme=dark; Secure; SameSite=Bogus')],
      ['cookies-samesite-flag-invalid'],
    ],
    [
      'SameSite with no value',
      [HSTS, cookie('theme=dark; Secure; SameSite')],
      ['cookies-samesite-flag-invalid'],
    ],
    [
      'SameSite=None without Secure',
      [HSTS, cookie('theme=dark; SameSite=None')],
      ['cookies-samesite-flag-invalid'],
    ],
    [
      'the worst cookie decides',
      [cookie('a=1; Secure; SameSite=Lax'), cookie('sess=1'), cookie('b=1')],
      ['cookies-session-without-secure-flag'],
    ],
    ["Heroku's affinity cookie is ignored", [HSTS, cookie('heroku-session-affinity=x')], []],
    ['a deletion (Max-Age=0) sets nothing', [HSTS, cookie('sess=; Max-Age=0')], []],
    ['a line without name=value is ignored', [HSTS, cookie('garbage')], []],
  ];
  it.each(cases)('%s', (_label, headers, expected) => {
    expect(httpsIds('cookies', headers)).toEqual(expected);
  });

  it('reads cookies set by redirect hops, with the hop line as evidence', () => {
    const result = analyse(
      headFacts({
        headers: [HSTS],
        redirects: [hop('https://example.com/', '/home', [['set-cookie', 'sess=1; Path=/']])],
        finalUrl: 'https://example.com/home',
      }),
    );
    expect(result.findings.find((f) => f.category === 'cookies')).toMatchObject({
      // Without HttpOnly (-30) ranks below without Secure under HSTS (-10).
      id: 'cookies-session-without-httponly-flag',
      evidence: { header: 'set-cookie', value: 'sess=1; Path=/' },
    });
  });

  it('a later line for the same cookie replaces the hop one', () => {
    const result = analyse(
      headFacts({
        headers: [HSTS, ['Set-Cookie', 'sess=2; Secure; HttpOnly; SameSite=Strict']],
        redirects: [hop('https://example.com/', '/home', [['Set-Cookie', 'sess=1']])],
        finalUrl: 'https://example.com/home',
      }),
    );
    expect(idsIn(result, 'cookies')).toEqual([
      'cookies-secure-with-httponly-sessions-and-samesite',
    ]);
  });
});

describe('CORS', () => {
  const cases: Case[] = [
    ['absent', [], []],
    ['public: *', [['Access-Control-Allow-Origin', '*']], []],
    [
      '* with credentials',
      [
        ['Access-Control-Allow-Origin', '*'],
        ['Access-Control-Allow-Credentials', 'true'],
      ],
      ['cross-origin-resource-sharing-implemented-with-universal-access'],
    ],
    [
      '* with credentials: false',
      [
        ['Access-Control-Allow-Origin', '*'],
        ['Access-Control-Allow-Credentials', 'false'],
      ],
      [],
    ],
    [
      'a named origin with credentials',
      [
        ['Access-Control-Allow-Origin', 'https://app.example.com'],
        ['Access-Control-Allow-Credentials', 'true'],
      ],
      [],
    ],
  ];
  it.each(cases)('%s', (_label, headers, expected) => {
    expect(httpsIds('cors', headers)).toEqual(expected);
  });

  it('universal access is high severity, -50', () => {
    const headers: Headers = [
      ['Access-Control-Allow-Origin', '*'],
      ['Access-Control-Allow-Credentials', 'TRUE'],
    ];
    expect(analyse(headFacts({ headers })).findings).toContainEqual({
      id: 'cross-origin-resource-sharing-implemented-with-universal-access',
      category: 'cors',
      severity: 'high',
      message: expect.any(String),
      scoreModifier: -50,
      evidence: { header: 'Access-Control-Allow-Origin', value: '*' },
    });
  });
});

describe('Cross-Origin-Resource-Policy, -Opener-Policy, -Embedder-Policy', () => {
  const cases: Array<readonly [string, [string, string], string, string[]]> = [
    [
      'CORP same-origin',
      ['Cross-Origin-Resource-Policy', 'same-origin'],
      'cross-origin-resource-policy',
      ['cross-origin-resource-policy-implemented-with-same-origin'],
    ],
    [
      'CORP same-site',
      ['Cross-Origin-Resource-Policy', 'Same-Site'],
      'cross-origin-resource-policy',
      ['cross-origin-resource-policy-implemented-with-same-site'],
    ],
    [
      'CORP cross-origin (modifier 0)',
      ['Cross-Origin-Resource-Policy', 'cross-origin'],
      'cross-origin-resource-policy',
      [],
    ],
    [
      'CORP unknown',
      ['Cross-Origin-Resource-Policy', 'same-planet'],
      'cross-origin-resource-policy',
      ['cross-origin-resource-policy-header-invalid'],
    ],
    [
      'COOP same-origin',
      ['Cross-Origin-Opener-Policy', 'same-origin'],
      'cross-origin-opener-policy',
      ['coop-implemented-with-same-origin'],
    ],
    [
      'COOP with a report-to parameter',
      ['Cross-Origin-Opener-Policy', 'same-origin-allow-popups; report-to="coop"'],
      'cross-origin-opener-policy',
      ['coop-implemented-with-same-origin-allow-popups'],
    ],
    [
      'COOP noopener-allow-popups',
      ['Cross-Origin-Opener-Policy', 'noopener-allow-popups'],
      'cross-origin-opener-policy',
      ['coop-implemented-with-noopener-allow-popups'],
    ],
    [
      'COOP unsafe-none (modifier 0)',
      ['Cross-Origin-Opener-Policy', 'unsafe-none'],
      'cross-origin-opener-policy',
      [],
    ],
    [
      'COOP tokens are case-sensitive',
      ['Cross-Origin-Opener-Policy', 'Same-Origin'],
      'cross-origin-opener-policy',
      ['coop-header-invalid'],
    ],
    [
      'COEP require-corp',
      ['Cross-Origin-Embedder-Policy', 'require-corp'],
      'cross-origin-embedder-policy',
      ['coep-implemented-with-require-corp'],
    ],
    [
      'COEP credentialless',
      ['Cross-Origin-Embedder-Policy', 'credentialless;report-to="e"'],
      'cross-origin-embedder-policy',
      ['coep-implemented-with-credentialless'],
    ],
    [
      'COEP as a quoted string is not a token',
      ['Cross-Origin-Embedder-Policy', '"require-corp"'],
      'cross-origin-embedder-policy',
      ['coep-header-invalid'],
    ],
  ];
  it.each(cases)('%s', (_label, header, category, expected) => {
    expect(httpsIds(category, [header])).toEqual(expected);
  });

  it('absent: nothing listed (all modifier 0)', () => {
    const result = analyse(headFacts());
    for (const category of [
      'cross-origin-resource-policy',
      'cross-origin-opener-policy',
      'cross-origin-embedder-policy',
    ]) {
      expect(idsIn(result, category)).toEqual([]);
    }
  });

  it('COOP sent twice is invalid', () => {
    const headers: Headers = [
      ['Cross-Origin-Opener-Policy', 'same-origin'],
      ['Cross-Origin-Opener-Policy', 'same-origin'],
    ];
    expect(httpsIds('cross-origin-opener-policy', headers)).toEqual(['coop-header-invalid']);
  });
});

describe('Redirection (http:// targets)', () => {
  const redirection = (facts: Parameters<typeof headFacts>[0]) =>
    idsIn(analyse(headFacts(facts)), 'redirection');

  it('redirection-missing when http answers without redirecting', () => {
    expect(redirection({ url: 'http://example.com/' })).toEqual(['redirection-missing']);
  });

  it('nothing listed for http → https on the same host (modifier 0)', () => {
    expect(
      redirection({
        url: 'http://example.com/',
        finalUrl: 'https://example.com/',
        redirects: [hop('http://example.com/', 'https://example.com/')],
        tls: verifiedTls,
      }),
    ).toEqual([]);
  });

  it('redirection-not-to-https-on-initial-redirection for http → http → https', () => {
    expect(
      redirection({
        url: 'http://example.com/',
        finalUrl: 'https://www.example.com/',
        redirects: [
          hop('http://example.com/', 'http://www.example.com/'),
          hop('http://www.example.com/', 'https://www.example.com/'),
        ],
        tls: verifiedTls,
      }),
    ).toEqual(['redirection-not-to-https-on-initial-redirection']);
  });

  it('redirection-off-host-from-http for http → https on another host', () => {
    const [finding] = analyse(
      headFacts({
        url: 'http://example.com/',
        finalUrl: 'https://www.example.com/',
        redirects: [hop('http://example.com/', 'https://www.example.com/')],
        tls: verifiedTls,
      }),
    ).findings.filter((f) => f.category === 'redirection');
    expect(finding).toMatchObject({
      id: 'redirection-off-host-from-http',
      scoreModifier: -5,
      severity: 'low',
      evidence: { header: 'Location', value: 'https://www.example.com/' },
    });
  });

  it('redirection-not-to-https when the chain ends on http', () => {
    expect(
      redirection({
        url: 'http://example.com/',
        finalUrl: 'http://www.example.com/',
        redirects: [hop('http://example.com/', 'http://www.example.com/')],
      }),
    ).toEqual(['redirection-not-to-https']);
  });

  it('redirection-invalid-cert when the https end does not verify', () => {
    expect(
      redirection({
        url: 'http://example.com/',
        finalUrl: 'https://example.com/',
        redirects: [hop('http://example.com/', 'https://example.com/')],
        tls: { ...verifiedTls, verified: false, verifyError: 'CERT_HAS_EXPIRED' },
      }),
    ).toEqual(['redirection-invalid-cert']);
  });

  describe('redirects not followed: the 3xx Location tells', () => {
    const cases: Array<readonly [string, string, string[]]> = [
      ['to https on the same host', 'https://example.com/', []],
      ['relative, so still http', '/login', ['redirection-not-to-https']],
      ['to https on another host', 'https://www.example.com/', ['redirection-off-host-from-http']],
      ['unparsable', 'http://[nope', ['redirection-missing']],
    ];
    it.each(cases)('%s', (_label, location, expected) => {
      expect(
        redirection({ url: 'http://example.com/', status: 301, headers: [['Location', location]] }),
      ).toEqual(expected);
    });
  });

  it('is not scored for https targets', () => {
    expect(redirection({ url: 'https://example.com/' })).toEqual([]);
  });
});

describe('without a final response', () => {
  it('no score, no grade, no header findings', () => {
    const result = analyse(
      headFacts({
        ok: false,
        status: null,
        error: { code: 'headers_timeout', phase: 'headers', message: 'no head in time' },
      }),
    );
    expect(result).toEqual({ findings: [], score: null, grade: null, technologies: [] });
  });

  it('TLS findings still come from the TLS facts', () => {
    const result = analyse(
      headFacts({
        ok: false,
        status: null,
        tls: { ...verifiedTls, verified: false, verifyError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
        error: { code: 'tls_error', phase: 'tls', message: 'certificate verification failed' },
      }),
    );
    expect(result.score).toBeNull();
    expect(result.findings.map((f) => f.id)).toEqual(['tls-certificate-untrusted']);
  });
});

describe('version disclosure', () => {
  const cases: Case[] = [
    ['Server with a version', [['Server', 'nginx/1.25.3']], ['server-version-disclosed']],
    ['Server without one', [['Server', 'cloudflare']], []],
    ['a POP id is not a version', [['Server', 'ECAcc (lhd/26C4)']], []],
    [
      'X-Powered-By and X-AspNet-Version each',
      [
        ['X-Powered-By', 'PHP/8.2.1'],
        ['X-AspNet-Version', '4.0.30319'],
      ],
      ['server-version-disclosed', 'server-version-disclosed'],
    ],
  ];
  it.each(cases)('%s', (_label, headers, expected) => {
    expect(httpsIds('disclosure', headers)).toEqual(expected);
  });

  it('is low severity and unscored', () => {
    const [finding] = analyse(
      headFacts({ headers: [['Server', 'Apache/2.4.57 (Ubuntu)']] }),
    ).findings.filter((f) => f.category === 'disclosure');
    expect(finding).toMatchObject({
      severity: 'low',
      scoreModifier: 0,
      evidence: { header: 'Server' },
    });
  });
});
