// The one request a probe sends, as an HTTP/1.x head or as HTTP/2 header fields. Options were
// validated by the schema, so values are already free of CR/LF; this only assembles them in
// a fixed, predictable order.
import type { ProbeOptions } from '../schemas/probe-options.js';
import type { ParsedTarget } from './target.js';

export const defaultUserAgent = 'headprobe/0.1';

export function buildRequestHead(
  target: ParsedTarget,
  options: ProbeOptions,
  userAgent: string = defaultUserAgent,
): string {
  let host = target.authority;
  let agent = userAgent;
  let extra = '';
  for (const name in options.headers) {
    const value = options.headers[name]!;
    const lower = name.toLowerCase();
    if (lower === 'host') host = value;
    else if (lower === 'user-agent') agent = value;
    else extra += `${name}: ${value}\r\n`;
  }
  return (
    `${options.method} ${target.requestTarget} HTTP/${options.httpVersion === '1.0' ? '1.0' : '1.1'}\r\n` +
    `Host: ${host}\r\nUser-Agent: ${agent}\r\nAccept: */*\r\n${extra}Connection: close\r\n\r\n`
  );
}

/**
 * The same request as HTTP/2 fields (RFC 9113 §8.3): Host becomes :authority, names are
 * lowercase, and there is no Connection field (connection-specific fields are forbidden).
 */
export function buildHttp2RequestHeaders(
  target: ParsedTarget,
  options: ProbeOptions,
  userAgent: string = defaultUserAgent,
): Record<string, string> {
  let authority = target.authority;
  let agent = userAgent;
  const extra: Record<string, string> = {};
  for (const name in options.headers) {
    const value = options.headers[name]!;
    const lower = name.toLowerCase();
    if (lower === 'host') authority = value;
    else if (lower === 'user-agent') agent = value;
    else extra[lower] = value;
  }
  return {
    ':method': options.method,
    ':scheme': target.scheme,
    ':authority': authority,
    ':path': target.requestTarget,
    'user-agent': agent,
    accept: '*/*',
    ...extra,
  };
}
