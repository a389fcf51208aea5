// Alt-Svc (RFC 7838 §3) parsed into the services a server advertises, bounded: hostile or
// malformed entries are skipped, never thrown on. No QUIC connection is ever attempted.
import type { AltService, AltSvc } from '../schemas/findings.js';

/** More alternatives than this is noise; browsers use the first few. */
export const MAX_ALT_SERVICES = 16;
/** The engine's whole head is at most 64 KiB; an Alt-Svc past 8 KiB is not read further. */
export const MAX_ALT_SVC_CHARS = 8 * 1024;
/** RFC 7838 §3.1: ma= defaults to 24 hours. */
const DEFAULT_MAX_AGE = 86_400;
/** RFC 9111 §1.2.2: a delta-seconds too large to represent is taken as 2^31. */
const MAX_DELTA_SECONDS = 2_147_483_648;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const DIGITS = /^\d+$/;
const PERCENT = /%[0-9A-Fa-f]{2}/;
const H3 = /^h3(?:-\d+)?$/;
const AUTHORITY = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]"]*):(\d{1,5})$/;

interface Cursor {
  readonly text: string;
  at: number;
}

function skipSpace(cursor: Cursor): void {
  while (cursor.at < cursor.text.length) {
    const code = cursor.text.charCodeAt(cursor.at);
    if (code !== 0x20 && code !== 0x09) return;
    cursor.at += 1;
  }
}

/** A token or quoted-string; null when neither starts here. */
function readWord(cursor: Cursor): string | null {
  const { text } = cursor;
  if (text.charCodeAt(cursor.at) === 0x22) {
    let out = '';
    let i = cursor.at + 1;
    while (i < text.length) {
      const char = text[i]!;
      if (char === '"') {
        cursor.at = i + 1;
        return out;
      }
      if (char === '\\' && i + 1 < text.length) {
        out += text[i + 1];
        i += 2;
      } else {
        out += char;
        i += 1;
      }
    }
    cursor.at = text.length;
    return null;
  }
  const start = cursor.at;
  while (cursor.at < text.length && !'=;, \t"'.includes(text[cursor.at]!)) cursor.at += 1;
  return cursor.at > start ? text.slice(start, cursor.at) : null;
}

/** Skip to just past the next top-level comma (quoted commas do not count). */
function skipEntry(cursor: Cursor): void {
  const { text } = cursor;
  let quoted = false;
  while (cursor.at < text.length) {
    const char = text[cursor.at]!;
    cursor.at += 1;
    if (quoted) {
      if (char === '\\') cursor.at += 1;
      else if (char === '"') quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === ',') return;
  }
}

function decodeProtocol(raw: string): string | null {
  if (!TOKEN.test(raw)) return null;
  if (!raw.includes('%')) return raw;
  if (!PERCENT.test(raw)) return null;
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/** One alt-value; null (entry skipped) when it does not parse. Leaves the cursor on , or end. */
function readAlternative(cursor: Cursor): AltService | null {
  const rawProtocol = readWord(cursor);
  if (rawProtocol === null || cursor.text[cursor.at] !== '=') return null;
  cursor.at += 1;
  const authority = cursor.text.charCodeAt(cursor.at) === 0x22 ? readWord(cursor) : null;
  const protocol = decodeProtocol(rawProtocol);
  const parts = authority === null ? null : AUTHORITY.exec(authority);
  if (protocol === null || !parts) return null;
  const port = Number(parts[2]);
  if (port < 1 || port > 65_535) return null;
  let maxAge = DEFAULT_MAX_AGE;
  for (;;) {
    skipSpace(cursor);
    if (cursor.text[cursor.at] !== ';') break;
    cursor.at += 1;
    skipSpace(cursor);
    const name = readWord(cursor);
    if (name === null || cursor.text[cursor.at] !== '=') return null;
    cursor.at += 1;
    const value = readWord(cursor);
    if (value === null) return null;
    if (name.toLowerCase() === 'ma') {
      if (!DIGITS.test(value)) return null;
      maxAge = Math.min(Number(value), MAX_DELTA_SECONDS);
    }
    // persist=1 and unknown parameters are accepted and not kept (RFC 7838 §3: ignore unknown).
  }
  skipSpace(cursor);
  if (cursor.at < cursor.text.length && cursor.text[cursor.at] !== ',') return null;
  const host = parts[1] ?? '';
  return { protocol, host: host.length > 0 ? host : null, port, maxAge };
}

/** Null when there is no Alt-Svc header; `value` may be several headers joined with ", ". */
export function parseAltSvc(value: string | null): AltSvc | null {
  if (value === null) return null;
  const cursor: Cursor = { text: value.slice(0, MAX_ALT_SVC_CHARS), at: 0 };
  const services: AltService[] = [];
  let clear = false;
  while (cursor.at < cursor.text.length && services.length < MAX_ALT_SERVICES) {
    skipSpace(cursor);
    if (cursor.text[cursor.at] === ',') {
      cursor.at += 1;
      continue;
    }
    const start = cursor.at;
    const word = readWord(cursor);
    skipSpace(cursor);
    if (
      word !== null &&
      word.toLowerCase() === 'clear' &&
      (cursor.at >= cursor.text.length || cursor.text[cursor.at] === ',')
    ) {
      clear = true;
      continue;
    }
    cursor.at = start;
    const service = readAlternative(cursor);
    if (service) services.push(service);
    skipEntry(cursor);
  }
  // RFC 7838 §3: "clear" invalidates every alternative, whatever else came with it.
  if (clear) return { http3: false, clear: true, services: [] };
  return { http3: services.some((service) => H3.test(service.protocol)), clear: false, services };
}
