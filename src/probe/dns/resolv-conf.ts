// What /etc/resolv.conf tells a stub resolver: nameservers, the search list, ndots, and the
// per-query timeout and attempts. Read once at start, as the issue asks and as glibc does for
// a long-running process; parsing is separate from reading so tests give it text.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { normalizeName } from './dns-message.js';

export interface DnsServerAddress {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export interface ResolvConf {
  readonly nameservers: readonly DnsServerAddress[];
  /** Domains appended to names with fewer than `ndots` dots (then the name as given is tried). */
  readonly search: readonly string[];
  readonly ndots: number;
  /** Only when the file says so; otherwise the resolver's own defaults apply. */
  readonly timeoutMs: number | null;
  readonly attempts: number | null;
  /** `options rotate`: spread queries over the servers instead of always asking the first. */
  readonly rotate: boolean;
}

// glibc's own limits: at most 3 nameservers are used, ndots is capped at 15, attempts at 5,
// timeout at 30 s; the search list is capped here at 6 domains, as glibc long did.
const MAX_NAMESERVERS = 3;
const MAX_SEARCH = 6;
const MAX_NDOTS = 15;
const MAX_ATTEMPTS = 5;
const MAX_TIMEOUT_S = 30;

/** With no nameserver line glibc asks the local host; so do we. */
const LOCAL_NAMESERVER: DnsServerAddress = { host: '127.0.0.1', port: 53, family: 4 };

/** `host[:port]` or `[v6]:port` or a bare IPv6 address, as HEADPROBE_DNS_SERVERS takes them. */
export function parseDnsServer(text: string): DnsServerAddress | null {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  let host: string;
  let port = 53;
  if (bracketed !== null) {
    host = bracketed[1]!;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (isIP(text) === 6) {
    host = text;
  } else {
    const colon = text.lastIndexOf(':');
    host = colon === -1 ? text : text.slice(0, colon);
    if (colon !== -1) port = Number(text.slice(colon + 1));
  }
  // A scoped address (fe80::1%eth0) is what resolv.conf may hold; the scope stays on the host.
  const family = isIP(host.split('%')[0] ?? '');
  if ((family !== 4 && family !== 6) || !Number.isInteger(port) || port < 1 || port > 65535) {
    return null;
  }
  return { host, port, family };
}

function clampInt(text: string | undefined, min: number, max: number): number | null {
  if (text === undefined || !/^\d+$/.test(text)) return null;
  return Math.min(max, Math.max(min, Number(text)));
}

export function parseResolvConf(text: string): ResolvConf {
  const nameservers: DnsServerAddress[] = [];
  let search: string[] = [];
  let ndots = 1;
  let timeoutMs: number | null = null;
  let attempts: number | null = null;
  let rotate = false;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/[#;].*$/, '').trim();
    if (line === '') continue;
    const [keyword, ...args] = line.split(/\s+/);
    if (keyword === 'nameserver' && args[0] !== undefined) {
      const server = parseDnsServer(args[0]);
      if (server !== null && nameservers.length < MAX_NAMESERVERS) nameservers.push(server);
    } else if (keyword === 'search' || keyword === 'domain') {
      // The last search or domain line wins, as in glibc.
      search = args.map(normalizeName).filter((d) => d !== '');
      search = search.slice(0, MAX_SEARCH);
    } else if (keyword === 'options') {
      for (const option of args) {
        const [name, value] = option.split(':');
        if (name === 'ndots') ndots = clampInt(value, 0, MAX_NDOTS) ?? ndots;
        else if (name === 'timeout') {
          const seconds = clampInt(value, 1, MAX_TIMEOUT_S);
          if (seconds !== null) timeoutMs = seconds * 1000;
        } else if (name === 'attempts') attempts = clampInt(value, 1, MAX_ATTEMPTS) ?? attempts;
        else if (name === 'rotate') rotate = true;
      }
    }
  }
  return {
    nameservers: nameservers.length > 0 ? nameservers : [LOCAL_NAMESERVER],
    search,
    ndots,
    timeoutMs,
    attempts,
    rotate,
  };
}

/** The machine's resolver configuration; a missing or unreadable file means glibc's defaults. */
export function readResolvConf(path = '/etc/resolv.conf'): ResolvConf {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // No file: no search list, the local nameserver, exactly what glibc falls back to.
  }
  return parseResolvConf(text);
}
