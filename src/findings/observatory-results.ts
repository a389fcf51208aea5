// The MDN HTTP Observatory's test results that a head can decide, with their score modifiers
// (mdn/mdn-http-observatory src/grader/charts.js, algorithm version 6) and what each means.
import type { FindingCategory } from '../schemas/findings.js';

interface ResultEntry {
  readonly category: FindingCategory;
  readonly modifier: number;
  readonly message: string;
}

export const observatoryResults = {
  // Content-Security-Policy
  'csp-implemented-with-no-unsafe-default-src-none': {
    category: 'csp',
    modifier: 10,
    message: "Content-Security-Policy has default-src 'none' and nothing unsafe.",
  },
  'csp-implemented-with-no-unsafe': {
    category: 'csp',
    modifier: 5,
    message: "Content-Security-Policy allows neither 'unsafe-inline' nor 'unsafe-eval'.",
  },
  'csp-implemented-with-unsafe-inline-in-style-src-only': {
    category: 'csp',
    modifier: 0,
    message:
      "Content-Security-Policy allows unsafe sources ('unsafe-inline', data:, broad) in style-src only.",
  },
  'csp-implemented-with-insecure-scheme-in-passive-content-only': {
    category: 'csp',
    modifier: -10,
    message: 'Content-Security-Policy lets an https page load images or media over http.',
  },
  'csp-implemented-with-unsafe-eval': {
    category: 'csp',
    modifier: -10,
    message: "Content-Security-Policy allows 'unsafe-eval' in script-src or style-src.",
  },
  'csp-implemented-with-unsafe-inline': {
    category: 'csp',
    modifier: -20,
    message:
      "Content-Security-Policy allows 'unsafe-inline', data: or overly broad sources in script-src, " +
      'or broad sources in object-src (or leaves either unrestricted).',
  },
  'csp-implemented-with-insecure-scheme': {
    category: 'csp',
    modifier: -20,
    message: 'Content-Security-Policy lets an https page load active content over http.',
  },
  'csp-header-invalid': {
    category: 'csp',
    modifier: -25,
    message:
      'Content-Security-Policy cannot be parsed (empty policy, duplicate directive, or a misused strict-dynamic).',
  },
  'csp-not-implemented': {
    category: 'csp',
    modifier: -25,
    message: 'No Content-Security-Policy header.',
  },
  'csp-not-implemented-but-reporting-enabled': {
    category: 'csp',
    modifier: -25,
    message: 'Only Content-Security-Policy-Report-Only is sent: nothing is enforced.',
  },
  'csp-implemented-but-duplicate-directives': {
    category: 'csp',
    modifier: 0,
    message: 'Content-Security-Policy repeats report-uri or report-to.',
  },

  // Cookies
  'cookies-secure-with-httponly-sessions-and-samesite': {
    category: 'cookies',
    modifier: 5,
    message: 'Every cookie is Secure and has SameSite; session cookies are HttpOnly.',
  },
  'cookies-secure-with-httponly-sessions': {
    category: 'cookies',
    modifier: 0,
    message: 'Every cookie is Secure and session cookies are HttpOnly, but some lack SameSite.',
  },
  'cookies-not-found': { category: 'cookies', modifier: 0, message: 'No cookies are set.' },
  'cookies-without-secure-flag-but-protected-by-hsts': {
    category: 'cookies',
    modifier: -5,
    message: 'A cookie is set without Secure; HSTS keeps it off plain http.',
  },
  'cookies-session-without-secure-flag-but-protected-by-hsts': {
    category: 'cookies',
    modifier: -10,
    message: 'A session cookie is set without Secure; HSTS keeps it off plain http.',
  },
  'cookies-without-secure-flag': {
    category: 'cookies',
    modifier: -20,
    message: 'A cookie is set without Secure, or over plain http.',
  },
  'cookies-samesite-flag-invalid': {
    category: 'cookies',
    modifier: -20,
    message:
      'A cookie has a SameSite value other than Strict, Lax or None, or SameSite=None without Secure.',
  },
  'cookies-anticsrf-without-samesite-flag': {
    category: 'cookies',
    modifier: -20,
    message: 'An anti-CSRF cookie is set without SameSite.',
  },
  'cookies-session-without-httponly-flag': {
    category: 'cookies',
    modifier: -30,
    message: 'A session cookie is set without HttpOnly: scripts can read it.',
  },
  'cookies-session-without-secure-flag': {
    category: 'cookies',
    modifier: -40,
    message: 'A session cookie is set without Secure, or over plain http.',
  },

  // Cross-origin resource sharing
  'cross-origin-resource-sharing-not-implemented': {
    category: 'cors',
    modifier: 0,
    message: 'No Access-Control-Allow-Origin header.',
  },
  'cross-origin-resource-sharing-implemented-with-public-access': {
    category: 'cors',
    modifier: 0,
    message: 'Access-Control-Allow-Origin: * without credentials (public content).',
  },
  'cross-origin-resource-sharing-implemented-with-restricted-access': {
    category: 'cors',
    modifier: 0,
    message: 'Access-Control-Allow-Origin names a specific origin.',
  },
  'cross-origin-resource-sharing-implemented-with-universal-access': {
    category: 'cors',
    modifier: -50,
    message:
      'Access-Control-Allow-Origin: * together with Access-Control-Allow-Credentials: true: ' +
      'credentialed cross-origin access is asked for from any origin.',
  },

  // Redirection (http:// targets only)
  'redirection-to-https': {
    category: 'redirection',
    modifier: 0,
    message: 'http redirects to https on the same host first, and ends on https.',
  },
  'redirection-off-host-from-http': {
    category: 'redirection',
    modifier: -5,
    message: 'http redirects straight to https on another host, so HSTS is never set for this one.',
  },
  'redirection-not-to-https-on-initial-redirection': {
    category: 'redirection',
    modifier: -10,
    message: 'Ends on https, but the first redirect goes to another http URL.',
  },
  'redirection-not-to-https': {
    category: 'redirection',
    modifier: -20,
    message: 'Redirects, but the final destination is not https.',
  },
  'redirection-missing': {
    category: 'redirection',
    modifier: -20,
    message: 'The http URL does not redirect to https.',
  },
  'redirection-invalid-cert': {
    category: 'redirection',
    modifier: -20,
    message: 'The redirect chain ends on https with a certificate that does not verify.',
  },

  // Referrer-Policy
  'referrer-policy-private': {
    category: 'referrer-policy',
    modifier: 5,
    message:
      'Referrer-Policy is no-referrer, same-origin, strict-origin or strict-origin-when-cross-origin.',
  },
  'referrer-policy-not-implemented': {
    category: 'referrer-policy',
    modifier: 0,
    message: 'No Referrer-Policy header (browsers default to strict-origin-when-cross-origin).',
  },
  'referrer-policy-unsafe': {
    category: 'referrer-policy',
    modifier: -5,
    message:
      'Referrer-Policy is origin, origin-when-cross-origin, unsafe-url or no-referrer-when-downgrade.',
  },
  'referrer-policy-header-invalid': {
    category: 'referrer-policy',
    modifier: -5,
    message: 'Referrer-Policy has no recognised value.',
  },

  // Strict-Transport-Security
  'hsts-implemented-max-age-at-least-six-months': {
    category: 'hsts',
    modifier: 0,
    message: 'Strict-Transport-Security max-age is at least six months.',
  },
  'hsts-implemented-max-age-less-than-six-months': {
    category: 'hsts',
    modifier: -10,
    message: 'Strict-Transport-Security max-age is under six months (15552000 seconds).',
  },
  'hsts-not-implemented': {
    category: 'hsts',
    modifier: -20,
    message: 'No Strict-Transport-Security header on the https response.',
  },
  'hsts-header-invalid': {
    category: 'hsts',
    modifier: -20,
    message:
      'Strict-Transport-Security cannot be parsed (no valid max-age, or sent more than once).',
  },
  'hsts-not-implemented-no-https': {
    category: 'hsts',
    modifier: -20,
    message: 'The final response came over plain http, where HSTS cannot be set.',
  },
  'hsts-invalid-cert': {
    category: 'hsts',
    modifier: -20,
    message: 'HSTS cannot take effect: the certificate does not verify.',
  },

  // X-Content-Type-Options
  'x-content-type-options-nosniff': {
    category: 'x-content-type-options',
    modifier: 0,
    message: 'X-Content-Type-Options is nosniff.',
  },
  'x-content-type-options-not-implemented': {
    category: 'x-content-type-options',
    modifier: -5,
    message: 'No X-Content-Type-Options header.',
  },
  'x-content-type-options-header-invalid': {
    category: 'x-content-type-options',
    modifier: -5,
    message: 'X-Content-Type-Options is not exactly nosniff.',
  },

  // X-Frame-Options
  'x-frame-options-implemented-via-csp': {
    category: 'x-frame-options',
    modifier: 5,
    message: 'Framing is controlled by the Content-Security-Policy frame-ancestors directive.',
  },
  'x-frame-options-sameorigin-or-deny': {
    category: 'x-frame-options',
    modifier: 5,
    message: 'X-Frame-Options is SAMEORIGIN or DENY.',
  },
  'x-frame-options-allow-from-origin': {
    category: 'x-frame-options',
    modifier: 0,
    message: 'X-Frame-Options uses ALLOW-FROM, which current browsers ignore.',
  },
  'x-frame-options-not-implemented': {
    category: 'x-frame-options',
    modifier: -20,
    message:
      'Neither X-Frame-Options nor CSP frame-ancestors: the page can be framed (clickjacking).',
  },
  'x-frame-options-header-invalid': {
    category: 'x-frame-options',
    modifier: -20,
    message: 'X-Frame-Options has no recognised value.',
  },

  // Cross-Origin-Resource-Policy
  'cross-origin-resource-policy-not-implemented': {
    category: 'cross-origin-resource-policy',
    modifier: 0,
    message: 'No Cross-Origin-Resource-Policy header (defaults to cross-origin).',
  },
  'cross-origin-resource-policy-implemented-with-same-site': {
    category: 'cross-origin-resource-policy',
    modifier: 10,
    message: 'Cross-Origin-Resource-Policy is same-site.',
  },
  'cross-origin-resource-policy-implemented-with-same-origin': {
    category: 'cross-origin-resource-policy',
    modifier: 10,
    message: 'Cross-Origin-Resource-Policy is same-origin.',
  },
  'cross-origin-resource-policy-implemented-with-cross-origin': {
    category: 'cross-origin-resource-policy',
    modifier: 0,
    message: 'Cross-Origin-Resource-Policy is cross-origin.',
  },
  'cross-origin-resource-policy-header-invalid': {
    category: 'cross-origin-resource-policy',
    modifier: -5,
    message: 'Cross-Origin-Resource-Policy has no recognised value.',
  },

  // Cross-Origin-Embedder-Policy
  'coep-implemented-with-require-corp': {
    category: 'cross-origin-embedder-policy',
    modifier: 10,
    message: 'Cross-Origin-Embedder-Policy is require-corp.',
  },
  'coep-implemented-with-credentialless': {
    category: 'cross-origin-embedder-policy',
    modifier: 10,
    message: 'Cross-Origin-Embedder-Policy is credentialless.',
  },
  'coep-implemented-with-unsafe-none': {
    category: 'cross-origin-embedder-policy',
    modifier: 0,
    message: 'Cross-Origin-Embedder-Policy is unsafe-none (the default).',
  },
  'coep-not-implemented': {
    category: 'cross-origin-embedder-policy',
    modifier: 0,
    message: 'No Cross-Origin-Embedder-Policy header.',
  },
  'coep-header-invalid': {
    category: 'cross-origin-embedder-policy',
    modifier: -5,
    message: 'Cross-Origin-Embedder-Policy is not one structured-field token it knows.',
  },

  // Cross-Origin-Opener-Policy
  'coop-implemented-with-same-origin': {
    category: 'cross-origin-opener-policy',
    modifier: 10,
    message: 'Cross-Origin-Opener-Policy is same-origin.',
  },
  'coop-implemented-with-same-origin-allow-popups': {
    category: 'cross-origin-opener-policy',
    modifier: 10,
    message: 'Cross-Origin-Opener-Policy is same-origin-allow-popups.',
  },
  'coop-implemented-with-noopener-allow-popups': {
    category: 'cross-origin-opener-policy',
    modifier: 10,
    message: 'Cross-Origin-Opener-Policy is noopener-allow-popups.',
  },
  'coop-implemented-with-unsafe-none': {
    category: 'cross-origin-opener-policy',
    modifier: 0,
    message: 'Cross-Origin-Opener-Policy is unsafe-none (the default).',
  },
  'coop-not-implemented': {
    category: 'cross-origin-opener-policy',
    modifier: 0,
    message: 'No Cross-Origin-Opener-Policy header.',
  },
  'coop-header-invalid': {
    category: 'cross-origin-opener-policy',
    modifier: -5,
    message: 'Cross-Origin-Opener-Policy is not one structured-field token it knows.',
  },
} as const satisfies Record<string, ResultEntry>;

export type ObservatoryResult = keyof typeof observatoryResults;
