// Whole heads scored by hand from the Observatory's modifiers (100 + penalties, bonuses only
// when that is ≥ 90, floor 0) and its grade table, to check the sums and the letters.
import { describe, expect, it } from 'vitest';
import { gradeForScore, severityOf } from '../../src/findings/score-card.js';
import { analyse, HSTS, headFacts } from './head-facts.js';

describe('worked examples', () => {
  it('bare nginx over verified https: 100 − 25 (CSP) − 20 (HSTS) − 5 (XCTO) − 20 (XFO) = 30 → D', () => {
    const result = analyse(
      headFacts({
        headers: [
          ['Server', 'nginx/1.25.3'],
          ['Content-Type', 'text/html'],
        ],
      }),
    );
    expect(
      result.findings.filter((f) => f.scoreModifier !== 0).map((f) => f.scoreModifier),
    ).toEqual([-25, -20, -5, -20]);
    expect(result).toMatchObject({ score: 30, grade: 'D' });
  });

  it('hardened: no penalties, so 100 + 10 (CSP none) + 5 (cookies) + 10 (COEP) + 10 (COOP) + 5 (referrer) + 5 (XFO via CSP) + 10 (CORP) = 155 → A+', () => {
    const result = analyse(
      headFacts({
        headers: [
          ['Strict-Transport-Security', 'max-age=63072000; includeSubDomains; preload'],
          [
            'Content-Security-Policy',
            "default-src 'none'; frame-ancestors 'none'; form-action 'self'",
          ],
          ['X-Content-Type-Options', 'nosniff'],
          ['Referrer-Policy', 'no-referrer'],
          ['Cross-Origin-Resource-Policy', 'same-origin'],
          ['Cross-Origin-Opener-Policy', 'same-origin'],
          ['Cross-Origin-Embedder-Policy', 'require-corp'],
          ['Set-Cookie', '__Host-sid=abc; Path=/; Secure; HttpOnly; SameSite=Strict'],
        ],
      }),
    );
    expect(result.findings.every((f) => f.scoreModifier >= 0)).toBe(true);
    expect(result).toMatchObject({ score: 155, grade: 'A+' });
  });

  it('plain-http PHP site: 100 − 25 (CSP) − 20 (HSTS, no https) − 40 (PHPSESSID not Secure) − 20 (no redirect) − 5 (XCTO) − 20 (XFO) = −30 → 0, F', () => {
    const result = analyse(
      headFacts({
        url: 'http://example.com/',
        headers: [
          ['Server', 'Apache/2.4.57 (Debian)'],
          ['X-Powered-By', 'PHP/8.2.7'],
          ['Set-Cookie', 'PHPSESSID=abc; path=/'],
        ],
      }),
    );
    expect(result.findings.map((f) => f.id)).toEqual([
      'csp-not-implemented',
      'hsts-not-implemented-no-https',
      'cookies-session-without-secure-flag',
      'redirection-missing',
      'x-content-type-options-not-implemented',
      'x-frame-options-not-implemented',
      'server-version-disclosed',
      'server-version-disclosed',
    ]);
    expect(result).toMatchObject({ score: 0, grade: 'F' });
  });

  it('half-done: 100 − 10 (HSTS short) − 20 (unsafe-inline) − 5 (unsafe-url) = 65; the +5 for XFO is dropped (65 < 90) → B-', () => {
    const result = analyse(
      headFacts({
        headers: [
          ['Strict-Transport-Security', 'max-age=15551999; includeSubDomains'],
          ['Content-Security-Policy', "script-src 'self' 'unsafe-inline'"],
          ['X-Frame-Options', 'SAMEORIGIN'],
          ['X-Content-Type-Options', 'nosniff'],
          ['Referrer-Policy', 'unsafe-url'],
        ],
      }),
    );
    expect(result.findings.map((f) => f.scoreModifier)).toEqual([-20, -10, -5, 5]);
    expect(result).toMatchObject({ score: 65, grade: 'B-' });
  });

  const nearlyThere = (extra: Array<[string, string]>) =>
    analyse(
      headFacts({
        headers: [
          HSTS,
          ['Content-Security-Policy', "default-src 'self'"],
          ['X-Frame-Options', 'DENY'],
          ['Referrer-Policy', 'origin'],
          ...extra,
        ],
      }),
    );

  it('base exactly 90 earns its bonuses: 100 − 5 (XCTO) − 5 (referrer) = 90, + 5 (CSP) + 5 (XFO) = 100 → A+', () => {
    expect(nearlyThere([])).toMatchObject({ score: 100, grade: 'A+' });
  });

  it('base 85 does not: 90 − 5 (CORP invalid) = 85, bonuses dropped → A-', () => {
    expect(nearlyThere([['Cross-Origin-Resource-Policy', 'nope']])).toMatchObject({
      score: 85,
      grade: 'A-',
    });
  });
});

describe('the Observatory grade table', () => {
  // biome-ignore format: a table
  const table: Array<readonly [number, string]> = [
    [155, 'A+'], [100, 'A+'], [99, 'A'], [90, 'A'], [89, 'A-'], [85, 'A-'], [80, 'B+'],
    [75, 'B'], [70, 'B'], [65, 'B-'], [60, 'C+'], [55, 'C'], [50, 'C'], [45, 'C-'],
    [40, 'D+'], [35, 'D'], [30, 'D'], [25, 'D-'], [24, 'F'], [0, 'F'], [-40, 'F'],
  ];
  it.each(table)('%i → %s', (score, grade) => {
    expect(gradeForScore(score)).toBe(grade);
  });
});

describe('severity from the modifier', () => {
  // biome-ignore format: a table
  const table: Array<readonly [number, string]> = [
    [-50, 'high'], [-40, 'high'], [-30, 'high'], [-25, 'medium'], [-20, 'medium'],
    [-10, 'low'], [-5, 'low'], [0, 'info'], [10, 'info'],
  ];
  it.each(table)('%i → %s', (modifier, severity) => {
    expect(severityOf(modifier)).toBe(severity);
  });
});
