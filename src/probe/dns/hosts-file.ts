// /etc/hosts, consulted before any query as glibc's "files" source is: canonical names and
// aliases map to their addresses, both families, in file order. Read once at start.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ResolvedAddress } from './dns-answer.js';
import { normalizeName } from './dns-message.js';

export type HostsTable = ReadonlyMap<string, readonly ResolvedAddress[]>;

export function parseHostsFile(text: string): HostsTable {
  const table = new Map<string, ResolvedAddress[]>();
  for (const rawLine of text.split('\n')) {
    const [address, ...names] = rawLine.replace(/#.*$/, '').trim().split(/\s+/);
    if (address === undefined || names.length === 0) continue;
    // A scoped address (fe80::1%lo) cannot be dialled without its interface; skip it.
    const family = address.includes('%') ? 0 : isIP(address);
    if (family !== 4 && family !== 6) continue;
    const wireFamily = family === 6 ? ('IPv6' as const) : ('IPv4' as const);
    for (const rawName of names) {
      const name = normalizeName(rawName);
      if (name === '') continue;
      const list = table.get(name) ?? [];
      if (!list.some((a) => a.address === address)) list.push({ address, family: wireFamily });
      table.set(name, list);
    }
  }
  return table;
}

export function readHostsFile(path = '/etc/hosts'): HostsTable {
  try {
    return parseHostsFile(readFileSync(path, 'utf8'));
  } catch {
    return new Map();
  }
}
