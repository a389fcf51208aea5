// The one request a probe sends. Options were validated by the schema, so values
// are already free of CR/LF; this only assembles them in a fixed, predictable order.
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
    `${options.method} ${target.requestTarget} HTTP/${options.httpVersion}\r\n` +
    `Host: ${host}\r\nUser-Agent: ${agent}\r\nAccept: */*\r\n${extra}Connection: close\r\n\r\n`
  );
}
