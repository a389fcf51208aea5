// Turns one submitted target string into the URL to probe, or says why it is not one.
// No network here: a rejected target never costs a packet.
import { isIP } from 'node:net';
import { isDnsName } from './dns/dns-message.js';

export interface ParsedTarget {
  /** Normalised URL without fragment, e.g. `http://example.com/a?b`. */
  readonly url: string;
  readonly scheme: 'http' | 'https';
  /** Host name or IP address as dialled: lowercase, punycode, IPv6 without brackets. */
  readonly hostname: string;
  readonly port: number;
  /** 4 or 6 when hostname is an IP literal, 0 for a name. */
  readonly ipFamily: 0 | 4 | 6;
  /** Value of the Host header: host plus port when it is not the scheme's default. */
  readonly authority: string;
  /** request-target in origin-form: path and query. */
  readonly requestTarget: string;
}

export type TargetParseResult =
  | { readonly ok: true; readonly target: ParsedTarget }
  | { readonly ok: false; readonly message: string };

/** Longest target accepted, here and by the job schema. */
export const MAX_TARGET_LENGTH = 2048;
const SCHEME_PREFIX = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;
// WHATWG URL silently strips or drops these; a strict prober refuses them instead.
const WHITESPACE_OR_CONTROL = /[\u0000-\u0020\u007f-\u009f\u00a0\u2028\u2029\ufeff]/;

// Bulk target lists are mostly plain IPv4 addresses or plain host names; these skip the
// WHATWG parser. Only canonical forms qualify (no leading zeros, path absent or "/"), so the
// result is exactly what URL() would give; test/probe/target.test.ts checks that equivalence.
const PLAIN_IPV4_TARGET =
  /^(?:(https?):\/\/)?((?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})(?::([1-9]\d{0,4}))?\/?$/;
// Lowercase letter-digit-hyphen labels, the last one starting with a letter: URL() would
// neither read it as an IPv4 number nor map it through IDNA (an `xn--` label is left to it).
const PLAIN_NAME_TARGET =
  /^(?:(https?):\/\/)?((?:[a-z0-9-]{1,63}\.)*[a-z][a-z0-9-]{0,62})(?::([1-9]\d{0,4}))?\/?$/;
const PUNYCODE_LABEL = /(?:^|\.)xn--/;

function parsePlain(input: string): TargetParseResult | null {
  let match = PLAIN_IPV4_TARGET.exec(input);
  let ipFamily: 0 | 4 = 4;
  if (match === null) {
    match = PLAIN_NAME_TARGET.exec(input);
    if (match === null || PUNYCODE_LABEL.test(match[2]!) || !isDnsName(match[2]!)) return null;
    ipFamily = 0;
  }
  const scheme = match[1] === 'https' ? 'https' : 'http';
  const host = match[2]!;
  const defaultPort = scheme === 'https' ? 443 : 80;
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (port > 65535) return null;
  const authority = port === defaultPort ? host : `${host}:${port}`;
  return {
    ok: true,
    target: {
      url: `${scheme}://${authority}/`,
      scheme,
      hostname: host,
      port,
      ipFamily,
      authority,
      requestTarget: '/',
    },
  };
}

function invalid(message: string): TargetParseResult {
  return { ok: false, message };
}

/**
 * Accepts `host`, `host:port`, `[v6]:port`, `http://…` and `https://…` (path and query kept).
 * A bare host means `http://host:80/`. Everything else is rejected.
 */
export function parseTarget(input: string): TargetParseResult {
  return parsePlain(input) ?? parseTargetAsUrl(input);
}

/** The general path through the WHATWG URL parser; exported for the equivalence test. */
export function parseTargetAsUrl(input: string): TargetParseResult {
  if (input.length === 0) return invalid('target is empty');
  if (input.length > MAX_TARGET_LENGTH) {
    return invalid(`target is longer than ${MAX_TARGET_LENGTH} characters`);
  }
  if (WHITESPACE_OR_CONTROL.test(input)) {
    return invalid('target contains whitespace or control characters');
  }

  const schemeMatch = SCHEME_PREFIX.exec(input);
  const scheme = schemeMatch?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') {
    return invalid(`scheme "${scheme}" is not supported; use http or https`);
  }
  if (scheme === undefined && input.includes('://')) return invalid('malformed scheme');

  let url: URL;
  try {
    url = new URL(scheme === undefined ? `http://${input}` : input);
  } catch {
    return invalid('not a valid host, host:port or URL');
  }
  if (url.username !== '' || url.password !== '') {
    return invalid('credentials (userinfo) in targets are not allowed');
  }
  if (url.hostname === '') return invalid('host is empty');
  // URL() accepts port 0 and drops an explicit default port; 0 is never dialable.
  if (url.port === '0') return invalid('port 0 is not valid');

  const urlScheme = url.protocol === 'https:' ? 'https' : 'http';
  const port = url.port === '' ? (urlScheme === 'https' ? 443 : 80) : Number(url.port);
  const hostname =
    url.hostname.startsWith('[') && url.hostname.endsWith(']')
      ? url.hostname.slice(1, -1)
      : url.hostname;
  const family = isIP(hostname);
  // A name that DNS cannot carry would go out as a malformed question; refuse it here.
  if (family === 0 && !isDnsName(hostname)) {
    return invalid('host name is not a valid DNS name (labels of 1–63 characters, 253 in all)');
  }
  url.hash = '';

  return {
    ok: true,
    target: {
      url: url.href,
      scheme: urlScheme,
      hostname,
      port,
      ipFamily: family === 4 || family === 6 ? family : 0,
      authority: url.host,
      requestTarget: `${url.pathname}${url.search}`,
    },
  };
}

/**
 * The destination a target counts against for politeness: `host:port` as it will be dialled
 * (IPv6 in brackets), known before any lookup; null for a target that does not parse.
 */
export function destinationOf(input: string): string | null {
  const parsed = parseTarget(input);
  if (!parsed.ok) return null;
  const { hostname, port, ipFamily } = parsed.target;
  return ipFamily === 6 ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}
