// The address policy as it was before range checks moved from node's BlockList to ipaddr.js,
// kept verbatim (less the parts that did not change): the oracle that
// test/policy/address-policy.property.test.ts compares the current policy with, and the
// "before" of bench/micro/micro-service-costs.ts.
import { BlockList, isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { AddressPolicy } from '../../../src/policy/address-policy.js';

const DENIED_IPV4 = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay anycast'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved or broadcast'],
] as const;

const DENIED_IPV6 = [
  ['2001:2::', 48, 'benchmarking'],
  ['2001:10::', 28, 'ORCHID'],
  ['2001:20::', 28, 'ORCHIDv2'],
  ['2001:db8::', 32, 'documentation'],
  ['3fff::', 20, 'documentation'],
] as const;

const METADATA_ADDRESSES = new Set(['169.254.169.254', 'fd00:ec2::254', '168.63.129.16']);

function rangeList(
  ranges: ReadonlyArray<readonly [string, number, string]>,
  type: 'ipv4' | 'ipv6',
) {
  const list = new BlockList();
  for (const [network, prefix] of ranges) list.addSubnet(network, prefix, type);
  return list;
}

const deniedV4 = rangeList(DENIED_IPV4, 'ipv4');
const deniedV6 = rangeList(DENIED_IPV6, 'ipv6');
const globalUnicastV6 = rangeList([['2000::', 3, 'global unicast']], 'ipv6');

function ipv6Bytes(address: string): Uint8Array {
  return Uint8Array.from(ipaddr.IPv6.parse(address.split('%')[0]!).toByteArray());
}

const v4 = (b: Uint8Array, at: number) => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
const isZero = (b: Uint8Array, from: number, to: number) => b.slice(from, to).every((x) => x === 0);

export function embeddedIpv4(address: string): string[] {
  const b = ipv6Bytes(address);
  const word0 = (b[0]! << 8) | b[1]!;
  const word1 = (b[2]! << 8) | b[3]!;
  if (isZero(b, 0, 10) && b[10] === 0xff && b[11] === 0xff) return [v4(b, 12)];
  if (isZero(b, 0, 12) && b[12] !== 0) return [v4(b, 12)];
  if (word0 === 0x64 && word1 === 0xff9b && (isZero(b, 4, 12) || (b[4] === 0 && b[5] === 1))) {
    return [v4(b, 12)];
  }
  if (word0 === 0x2002) return [v4(b, 2)];
  if (word0 === 0x2001 && word1 === 0) {
    const client = b.slice(12, 16).map((x) => x ^ 0xff);
    return [v4(b, 4), v4(client, 0)];
  }
  return [];
}

const labelledV4 = DENIED_IPV4.map(([network, prefix, label]) => {
  const one = new BlockList();
  one.addSubnet(network, prefix, 'ipv4');
  return [label, one] as const;
});

function classifyIpv4(address: string): string | null {
  return labelledV4.find(([, list]) => list.check(address, 'ipv4'))?.[0] ?? null;
}

function deniedReason(address: string, family: 4 | 6): string | null {
  if (family === 4) {
    if (METADATA_ADDRESSES.has(address)) return 'cloud metadata';
    return deniedV4.check(address, 'ipv4') ? (classifyIpv4(address) ?? 'special-purpose') : null;
  }
  const bytes = ipv6Bytes(address);
  if (isZero(bytes, 0, 15)) return bytes[15] === 1 ? 'loopback' : 'unspecified';
  const embedded = embeddedIpv4(address);
  if (embedded.length > 0) {
    for (const inner of embedded) {
      const reason = deniedReason(inner, 4);
      if (reason !== null) return `${reason} (embedded in IPv6)`;
    }
    return null;
  }
  if (METADATA_ADDRESSES.has(address.toLowerCase())) return 'cloud metadata';
  if (!globalUnicastV6.check(address, 'ipv6')) return 'not global unicast';
  return deniedV6.check(address, 'ipv6') ? 'special-purpose' : null;
}

function parseCidr(entry: string): [string, number, 'ipv4' | 'ipv6'] {
  const [network = '', prefixText] = entry.trim().split('/');
  const family = isIP(network);
  if (family === 0) throw new Error(`not an IP network: ${entry}`);
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new Error(`bad prefix length in ${entry}`);
  }
  return [network, prefix, family === 4 ? 'ipv4' : 'ipv6'];
}

export function canonicalAddress(address: string): string | null {
  const bare = address.split('%')[0]!;
  if (isIP(bare) === 0 || !ipaddr.isValid(bare)) return null;
  return ipaddr.process(bare).toString();
}

const BLOCKED = { allowed: false, reason: 'destination not permitted by policy' } as const;
const ALLOWED = { allowed: true } as const;

/** Without selfEndpoints, whose code did not change. */
export function createAddressPolicy(options: { allowCidrs?: readonly string[] }): AddressPolicy {
  const allowed = new BlockList();
  const exactlyAllowed = new Set<string>();
  for (const entry of options.allowCidrs ?? []) {
    const [network, prefix, type] = parseCidr(entry);
    allowed.addSubnet(network, prefix, type);
    if (prefix === (type === 'ipv4' ? 32 : 128)) exactlyAllowed.add(canonicalAddress(network)!);
  }
  const judge = (address: string, family: 4 | 6): boolean => {
    if (METADATA_ADDRESSES.has(address)) return exactlyAllowed.has(address);
    if (allowed.check(address, family === 4 ? 'ipv4' : 'ipv6')) return true;
    return deniedReason(address, family) === null;
  };
  return {
    check(address) {
      const canonical = canonicalAddress(address);
      if (canonical === null) return { allowed: false, reason: 'not an IP address' };
      const family = isIP(canonical) === 6 ? 6 : 4;
      const embedded = family === 6 ? embeddedIpv4(canonical) : [];
      if (embedded.length > 0)
        return embedded.every((inner) => judge(inner, 4)) ? ALLOWED : BLOCKED;
      return judge(canonical, family) ? ALLOWED : BLOCKED;
    },
  };
}

export function defaultDenialReason(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  return deniedReason(address, family as 4 | 6);
}
