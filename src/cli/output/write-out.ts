// curl's --write-out for one result: `%{variable}`, `%header{name}`, `%%`, and the escapes
// `\n`, `\r`, `\t`, with the values curl prints (times in seconds to six places, a three-digit
// http_code, "000" when there was no response). As curl does, an unknown variable prints
// nothing and a warning (here once per run, not once per target), an unterminated `%{` is
// printed as it is, and everything after `%{onerror}` is printed only for a failed target.
import { headerValue } from '../../exports/result-row.js';
import type { ProbeErrorCode, ProbeResult } from '../../schemas/probe-result.js';

type Part =
  | { kind: 'text'; text: string }
  | { kind: 'variable'; name: KnownVariable }
  | { kind: 'header'; name: string }
  | { kind: 'onerror' };

const seconds = (ms: number | null) => ((ms ?? 0) / 1000).toFixed(6);

/** curl's exit code for the way a target failed (man curl, EXIT CODES). */
const CURL_EXIT_CODES: Partial<Record<ProbeErrorCode, number>> = {
  invalid_target: 3,
  blocked_by_policy: 7,
  dns_not_found: 6,
  dns_timeout: 28,
  dns_error: 6,
  connection_refused: 7,
  connection_reset: 56,
  connection_closed: 52,
  connect_timeout: 28,
  network_unreachable: 7,
  tls_error: 35,
  tls_timeout: 28,
  headers_timeout: 28,
  header_overflow: 100,
  protocol_error: 8,
  not_http: 1,
  cancelled: 42,
  deadline_exceeded: 28,
  too_many_redirects: 47,
  redirect_loop: 47,
  invalid_redirect: 3,
};

/** OpenSSL's X509_V_ERR_* numbers for the verify errors Node reports by name. */
const X509_VERIFY_CODES: Record<string, number> = {
  UNABLE_TO_GET_ISSUER_CERT: 2,
  UNABLE_TO_GET_CRL: 3,
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: 4,
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: 6,
  CERT_SIGNATURE_FAILURE: 7,
  CERT_NOT_YET_VALID: 9,
  CERT_HAS_EXPIRED: 10,
  ERROR_IN_CERT_NOT_BEFORE_FIELD: 13,
  ERROR_IN_CERT_NOT_AFTER_FIELD: 14,
  DEPTH_ZERO_SELF_SIGNED_CERT: 18,
  SELF_SIGNED_CERT_IN_CHAIN: 19,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 20,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 21,
  CERT_CHAIN_TOO_LONG: 22,
  CERT_REVOKED: 23,
  INVALID_CA: 24,
  PATH_LENGTH_EXCEEDED: 25,
  INVALID_PURPOSE: 26,
  CERT_UNTRUSTED: 27,
  CERT_REJECTED: 28,
  ERR_TLS_CERT_ALTNAME_INVALID: 62,
  HOSTNAME_MISMATCH: 62,
};

/** "1" for HTTP/1.0 and "0" for no response, as curl's CURLINFO_HTTP_VERSION prints. */
function httpVersionOf(result: ProbeResult): string {
  if (result.httpVersion === null) return '0';
  return result.httpVersion === '1.0' ? '1' : result.httpVersion;
}

/** Variables %{json} gives as numbers, as curl's does. */
const NUMERIC = new Set([
  'http_code',
  'response_code',
  'remote_port',
  'num_headers',
  'num_redirects',
  'ssl_verify_result',
  'exitcode',
  'time_namelookup',
  'time_connect',
  'time_appconnect',
  'time_pretransfer',
  'time_starttransfer',
  'time_total',
  'time_redirect',
]);

/** What each variable prints: a string, or a number for %{json}. */
const VARIABLES = {
  http_code: (r) => String(r.status ?? 0).padStart(3, '0'),
  response_code: (r) => String(r.status ?? 0).padStart(3, '0'),
  http_version: httpVersionOf,
  time_namelookup: (r) => seconds(r.timing.namelookup),
  time_connect: (r) => seconds(r.timing.connect),
  time_appconnect: (r) => seconds(r.timing.appconnect),
  time_pretransfer: (r) => seconds(r.timing.pretransfer),
  time_starttransfer: (r) => seconds(r.timing.starttransfer),
  time_total: (r) => seconds(r.timing.total),
  time_redirect: (r) =>
    seconds(r.redirects.reduce((sum, hop) => sum + hop.timing.total, 0) || null),
  remote_ip: (r) => r.remote?.address ?? '',
  remote_port: (r) => String(r.remote?.port ?? 0),
  url_effective: (r) => r.finalUrl ?? r.url ?? r.target,
  num_headers: (r) => String(r.headers.length),
  num_redirects: (r) => String(r.redirects.length),
  redirect_url: (r) => {
    const location = r.status !== null && r.status >= 300 && r.status < 400;
    const value = location ? headerValue(r, 'location') : null;
    if (value === null || r.url === null) return '';
    try {
      return new URL(value, r.finalUrl ?? r.url).href;
    } catch {
      return '';
    }
  },
  content_type: (r) => headerValue(r, 'content-type') ?? '',
  // Empty, as curl's, until a connection was made.
  scheme: (r) => {
    const url = r.finalUrl ?? r.url;
    return r.remote === null || url === null ? '' : url.slice(0, url.indexOf(':')).toUpperCase();
  },
  ssl_verify_result: (r) =>
    String(
      r.tls === null || r.tls.verifyError === null
        ? 0
        : (X509_VERIFY_CODES[r.tls.verifyError] ?? 1),
    ),
  exitcode: (r) => String(r.error === null ? 0 : (CURL_EXIT_CODES[r.error.code] ?? 1)),
  errormsg: (r) => r.error?.message ?? '',
  header_json: (r) => {
    const headers: Record<string, string[]> = {};
    for (const [name, value] of r.headers) {
      const key = name.toLowerCase();
      headers[key] = [...(headers[key] ?? []), value];
    }
    return JSON.stringify(headers);
  },
  json: (r) => {
    const all: Record<string, string | number | null> = {};
    for (const [name, value] of Object.entries(VARIABLES)) {
      if (name === 'json' || name === 'header_json') continue;
      const text = value(r);
      all[name] = NUMERIC.has(name) ? Number(text) : text === '' ? null : text;
    }
    return JSON.stringify(all);
  },
} satisfies Record<string, (result: ProbeResult) => string>;
type KnownVariable = keyof typeof VARIABLES;

export const WRITE_OUT_VARIABLES = Object.keys(VARIABLES) as KnownVariable[];

export interface WriteOut {
  render(result: ProbeResult): string;
  /** Variables the format names that curl would warn about; printed once by the caller. */
  readonly unknown: readonly string[];
}

export function parseWriteOut(format: string): WriteOut {
  const parts: Part[] = [];
  const unknown: string[] = [];
  let text = '';
  const flush = () => {
    if (text !== '') parts.push({ kind: 'text', text });
    text = '';
  };
  for (let at = 0; at < format.length; ) {
    const char = format[at]!;
    if (char === '\\' && at + 1 < format.length) {
      const next = format[at + 1]!;
      text += next === 'n' ? '\n' : next === 'r' ? '\r' : next === 't' ? '\t' : `\\${next}`;
      at += 2;
    } else if (char === '%' && format[at + 1] === '%') {
      text += '%';
      at += 2;
    } else if (char === '%' && format.startsWith('{', at + 1)) {
      const end = format.indexOf('}', at + 2);
      if (end === -1) {
        text += format.slice(at);
        break;
      }
      const name = format.slice(at + 2, end);
      flush();
      if (name === 'onerror') parts.push({ kind: 'onerror' });
      else if (Object.hasOwn(VARIABLES, name))
        parts.push({ kind: 'variable', name: name as KnownVariable });
      else if (!unknown.includes(name)) unknown.push(name);
      at = end + 1;
    } else if (char === '%' && format.startsWith('header{', at + 1)) {
      const end = format.indexOf('}', at + 8);
      if (end === -1) {
        text += format.slice(at);
        break;
      }
      flush();
      parts.push({ kind: 'header', name: format.slice(at + 8, end) });
      at = end + 1;
    } else {
      text += char;
      at++;
    }
  }
  flush();
  return {
    unknown,
    render(result) {
      let out = '';
      for (const part of parts) {
        if (part.kind === 'onerror') {
          if (result.error === null) break;
        } else if (part.kind === 'text') out += part.text;
        else if (part.kind === 'variable') out += VARIABLES[part.name](result);
        // Of a repeated header, the first, as curl's (curl_easy_header index 0).
        else out += headerValue(result, part.name) ?? '';
      }
      return out;
    },
  };
}
