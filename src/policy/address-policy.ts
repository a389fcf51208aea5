// Which addresses a probe may dial. Deny by default everything that is not global unicast
// (RFC 6890 special-purpose ranges, IPv6 outside 2000::/3), judge IPv6 forms that embed an
// IPv4 address on that address, and let operators opt ranges back in by CIDR. Cloud metadata
// addresses stay denied unless named exactly. Applied to the address actually dialled.
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';

export type AddressVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: string };

export interface AddressPolicy {
  /** Is dialling `address` (an IP literal) on `port` allowed? */
  check(address: string, port: number): AddressVerdict;
}

export interface AddressPolicyOptions {
  /** CIDRs (or bare addresses) opted back in, e.g. `127.0.0.0/8`, `::1/128`. */
  readonly allowCidrs?: readonly string[];
  /** Ports that may be dialled; empty or absent means any. */
  readonly allowPorts?: readonly number[];
  /** The service's own endpoints: never a target, whatever the allow list says. */
  readonly selfEndpoints?: () => ReadonlyArray<{ readonly address: string; readonly port: number }>;
}

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

// Inside 2000::/3 (the only global unicast space); everything outside it is denied anyway.
const DENIED_IPV6 = [
  ['2001:2::', 48, 'benchmarking'],
  ['2001:10::', 28, 'ORCHID'],
  ['2001:20::', 28, 'ORCHIDv2'],
  ['2001:db8::', 32, 'documentation'],
  ['3fff::', 20, 'documentation'],
] as const;

/** Cloud metadata endpoints: denied even inside an allowed range unless listed exactly. */
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

/** The 16 bytes of an IPv6 literal (zone id dropped). */
function ipv6Bytes(address: string): Uint8Array {
  return Uint8Array.from(ipaddr.IPv6.parse(address.split('%')[0]!).toByteArray());
}

const v4 = (b: Uint8Array, at: number) => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
const isZero = (b: Uint8Array, from: number, to: number) => b.slice(from, to).every((x) => x === 0);

/**
 * IPv4 addresses an IPv6 address carries: IPv4-mapped and -compatible, NAT64 (RFC 6052,
 * RFC 8215), 6to4 and Teredo (server, and the client with its bits flipped).
 */
export function embeddedIpv4(address: string): string[] {
  const b = ipv6Bytes(address);
  const word0 = (b[0]! << 8) | b[1]!;
  const word1 = (b[2]! << 8) | b[3]!;
  if (isZero(b, 0, 10) && b[10] === 0xff && b[11] === 0xff) return [v4(b, 12)];
  // IPv4-compatible (::a.b.c.d); ::, ::1 and the rest of ::/104 are not IPv4 in disguise.
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

/** Throws with the offending entry for a malformed CIDR (config validation uses this). */
export function validateCidr(entry: string): void {
  parseCidr(entry);
}

const BLOCKED: AddressVerdict = { allowed: false, reason: 'destination not permitted by policy' };
const ALLOWED: AddressVerdict = { allowed: true };

/**
 * One spelling per address: zone id dropped, IPv4-mapped IPv6 unmapped, IPv6 compressed and
 * lowercased (RFC 5952). Every comparison below works on this form, so `fd00:ec2:0::254`,
 * `::ffff:127.0.0.1` or `0:0:0:0:0:0:0:1` cannot slip past a check written for another form.
 */
export function canonicalAddress(address: string): string | null {
  const bare = address.split('%')[0]!;
  if (isIP(bare) === 0 || !ipaddr.isValid(bare)) return null;
  return ipaddr.process(bare).toString();
}

export function createAddressPolicy(options: AddressPolicyOptions = {}): AddressPolicy {
  const allowed = new BlockList();
  const exactlyAllowed = new Set<string>();
  for (const entry of options.allowCidrs ?? []) {
    const [network, prefix, type] = parseCidr(entry);
    allowed.addSubnet(network, prefix, type);
    if (prefix === (type === 'ipv4' ? 32 : 128)) exactlyAllowed.add(canonicalAddress(network)!);
  }
  const ports = new Set(options.allowPorts ?? []);

  /** One plain address (IPv4, or IPv6 that embeds none): metadata, then allow list, then deny list. */
  const judge = (address: string, family: 4 | 6): boolean => {
    if (METADATA_ADDRESSES.has(address)) return exactlyAllowed.has(address);
    if (allowed.check(address, family === 4 ? 'ipv4' : 'ipv6')) return true;
    return deniedReason(address, family) === null;
  };

  return {
    check(address, port) {
      const canonical = canonicalAddress(address);
      if (canonical === null) return { allowed: false, reason: 'not an IP address' };
      const family = isIP(canonical) === 6 ? 6 : 4;
      if (ports.size > 0 && !ports.has(port)) return BLOCKED;
      for (const self of options.selfEndpoints?.() ?? []) {
        if (self.port === port && sameHost(canonicalAddress(self.address) ?? '', canonical)) {
          return BLOCKED;
        }
      }
      // An IPv6 form that carries IPv4 addresses (NAT64, 6to4, Teredo, compatible) is judged on
      // every one of them: the packet may end up at any of them.
      const embedded = family === 6 ? embeddedIpv4(canonical) : [];
      if (embedded.length > 0)
        return embedded.every((inner) => judge(inner, 4)) ? ALLOWED : BLOCKED;
      return judge(canonical, family) ? ALLOWED : BLOCKED;
    },
  };
}

/** Why an address is denied by default, or null for global unicast (for tests and logs). */
export function defaultDenialReason(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  return deniedReason(address, family as 4 | 6);
}

let localAddresses: Set<string> | null = null;

/** Loopback, or an address of one of this machine's interfaces. */
function isLocalAddress(address: string): boolean {
  if (classifyIpv4(address) === 'loopback' || address === '::1') return true;
  localAddresses ??= new Set(
    Object.values(networkInterfaces())
      .flat()
      .map((info) => canonicalAddress(info?.address ?? '') ?? ''),
  );
  return localAddresses.has(address);
}

/** Both canonical. A service listening on a wildcard address answers on every local address. */
function sameHost(listening: string, dialled: string): boolean {
  if (listening === '0.0.0.0' || listening === '::') return isLocalAddress(dialled);
  return listening === dialled;
}
