// Which addresses a probe may dial. Deny by default everything that is not global unicast
// (RFC 6890 special-purpose ranges, IPv6 outside 2000::/3), judge IPv6 forms that embed an
// IPv4 address on that address, and let operators opt ranges back in by CIDR. Cloud metadata
// addresses stay denied unless named exactly. Applied to the address actually dialled.
import { isIP } from 'node:net';
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

type Ip = ipaddr.IPv4 | ipaddr.IPv6;

// Ranges are matched with ipaddr.js on the address parsed once per check: node's BlockList
// parses its argument into a new SocketAddress on every check() call, ~1 µs each.
const deniedV4 = DENIED_IPV4.map(([network, prefix, label]) => ({
  network: ipaddr.IPv4.parse(network),
  prefix,
  label,
}));
const deniedV6 = DENIED_IPV6.map(([network, prefix]) => ({
  network: ipaddr.IPv6.parse(network),
  prefix,
}));
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parse('2000::');
const IPV4_MAPPED = ipaddr.IPv6.parse('::ffff:0:0');

/** The label of the first special-purpose range holding `address`, or null. */
function classifyIpv4(address: ipaddr.IPv4): string | null {
  for (const range of deniedV4) if (address.match(range.network, range.prefix)) return range.label;
  return null;
}

const v4 = (b: readonly number[], at: number) =>
  new ipaddr.IPv4([b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!]);
const isZero = (b: readonly number[], from: number, to: number) => {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
};

/**
 * IPv4 addresses the 16 bytes of an IPv6 address carry: IPv4-mapped and -compatible, NAT64
 * (RFC 6052, RFC 8215), 6to4 and Teredo (server, and the client with its bits flipped).
 */
function embeddedIn(b: readonly number[]): ipaddr.IPv4[] {
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

/** IPv4 addresses an IPv6 literal carries (see embeddedIn), dotted. */
export function embeddedIpv4(address: string): string[] {
  const ip = ipaddr.IPv6.parse(address.split('%')[0]!);
  return embeddedIn(ip.toByteArray()).map(String);
}

function ipv4DeniedReason(address: ipaddr.IPv4, text: string): string | null {
  if (METADATA_ADDRESSES.has(text)) return 'cloud metadata';
  return classifyIpv4(address);
}

/** `metadataKey` is the spelling looked up among the metadata addresses. */
function ipv6DeniedReason(address: ipaddr.IPv6, metadataKey: string): string | null {
  const bytes = address.toByteArray();
  if (isZero(bytes, 0, 15)) return bytes[15] === 1 ? 'loopback' : 'unspecified';
  const embedded = embeddedIn(bytes);
  if (embedded.length > 0) {
    for (const inner of embedded) {
      const reason = ipv4DeniedReason(inner, inner.toString());
      if (reason !== null) return `${reason} (embedded in IPv6)`;
    }
    return null;
  }
  if (METADATA_ADDRESSES.has(metadataKey)) return 'cloud metadata';
  if (!address.match(GLOBAL_UNICAST_V6, 3)) return 'not global unicast';
  return deniedV6.some((range) => address.match(range.network, range.prefix))
    ? 'special-purpose'
    : null;
}

/** An IP literal as written (zone id dropped, IPv4-mapped kept), or null. */
function parseAddress(address: string): Ip | null {
  const bare = address.split('%')[0]!;
  const family = isIP(bare);
  if (family === 0) return null;
  try {
    return family === 4 ? ipaddr.IPv4.parse(bare) : ipaddr.IPv6.parse(bare);
  } catch {
    return null;
  }
}

/**
 * Like parseAddress, but `::a.b.c.d` is the IPv4-compatible address (RFC 4291, and what
 * node's BlockList made of it), where ipaddr.js reads it as IPv4-mapped.
 */
function parseNetwork(network: string): Ip | null {
  const compatible = /^::(\d+\.\d+\.\d+\.\d+)(%.*)?$/.exec(network);
  const ip = parseAddress(compatible === null ? network : compatible[1]!);
  if (compatible === null || ip === null) return ip;
  const [a, b, c, d] = (ip as ipaddr.IPv4).octets as [number, number, number, number];
  return new ipaddr.IPv6([0, 0, 0, 0, 0, 0, (a << 8) | b, (c << 8) | d]);
}

function parseCidr(entry: string): { network: string; ip: Ip; prefix: number } {
  const [network = '', prefixText] = entry.trim().split('/');
  const ip = isIP(network) === 0 ? null : parseNetwork(network);
  if (ip === null) throw new Error(`not an IP network: ${entry}`);
  const max = ip.kind() === 'ipv4' ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new Error(`bad prefix length in ${entry}`);
  }
  return { network, ip, prefix };
}

/** Throws with the offending entry for a malformed CIDR (config validation uses this). */
export function validateCidr(entry: string): void {
  parseCidr(entry);
}

/**
 * Subnets of either family, matched like node's BlockList (which this replaces): an IPv4
 * address also matches IPv6 subnets as its IPv4-mapped form, and an IPv4-mapped IPv6 address
 * also matches IPv4 subnets as its IPv4 address.
 */
class SubnetList {
  readonly #v4: Array<readonly [ipaddr.IPv4, number]> = [];
  readonly #v6: Array<readonly [ipaddr.IPv6, number]> = [];

  add(network: Ip, prefix: number): void {
    if (network.kind() === 'ipv4') this.#v4.push([network as ipaddr.IPv4, prefix]);
    else this.#v6.push([network as ipaddr.IPv6, prefix]);
  }

  has(address: Ip): boolean {
    if (address.kind() === 'ipv4') {
      const ip = address as ipaddr.IPv4;
      if (this.#v4.some(([network, prefix]) => ip.match(network, prefix))) return true;
      if (this.#v6.length === 0) return false;
      const mapped = ip.toIPv4MappedAddress();
      return this.#v6.some(([network, prefix]) => mapped.match(network, prefix));
    }
    const ip = address as ipaddr.IPv6;
    if (this.#v6.some(([network, prefix]) => ip.match(network, prefix))) return true;
    if (this.#v4.length === 0 || !ip.match(IPV4_MAPPED, 96)) return false;
    const inner = ip.toIPv4Address();
    return this.#v4.some(([network, prefix]) => inner.match(network, prefix));
  }
}

const BLOCKED: AddressVerdict = { allowed: false, reason: 'destination not permitted by policy' };
const ALLOWED: AddressVerdict = { allowed: true };

/** An address in its one spelling, with the parsed form the range checks use. */
interface CanonicalIp {
  readonly text: string;
  readonly ip: Ip;
}

function parseCanonical(address: string): CanonicalIp | null {
  const ip = parseAddress(address);
  if (ip === null) return null;
  if (ip.kind() === 'ipv6' && ip.match(IPV4_MAPPED, 96)) {
    const inner = (ip as ipaddr.IPv6).toIPv4Address();
    return { text: inner.toString(), ip: inner };
  }
  return { text: ip.toString(), ip };
}

/**
 * One spelling per address: zone id dropped, IPv4-mapped IPv6 unmapped, IPv6 compressed and
 * lowercased (RFC 5952). Every comparison below works on this form, so `fd00:ec2:0::254`,
 * `::ffff:127.0.0.1` or `0:0:0:0:0:0:0:1` cannot slip past a check written for another form.
 */
export function canonicalAddress(address: string): string | null {
  return parseCanonical(address)?.text ?? null;
}

export function createAddressPolicy(options: AddressPolicyOptions = {}): AddressPolicy {
  const allowed = new SubnetList();
  const exactlyAllowed = new Set<string>();
  for (const entry of options.allowCidrs ?? []) {
    const { network, ip, prefix } = parseCidr(entry);
    allowed.add(ip, prefix);
    if (prefix === (ip.kind() === 'ipv4' ? 32 : 128))
      exactlyAllowed.add(canonicalAddress(network)!);
  }
  const ports = new Set(options.allowPorts ?? []);

  /** One plain address (IPv4, or IPv6 that embeds none): metadata, then allow list, then deny list. */
  const judge = (text: string, ip: Ip): boolean => {
    if (METADATA_ADDRESSES.has(text)) return exactlyAllowed.has(text);
    if (allowed.has(ip)) return true;
    return ip.kind() === 'ipv4'
      ? classifyIpv4(ip as ipaddr.IPv4) === null
      : ipv6DeniedReason(ip as ipaddr.IPv6, text) === null;
  };

  return {
    check(address, port) {
      const canonical = parseCanonical(address);
      if (canonical === null) return { allowed: false, reason: 'not an IP address' };
      if (ports.size > 0 && !ports.has(port)) return BLOCKED;
      for (const self of options.selfEndpoints?.() ?? []) {
        if (self.port === port && sameHost(canonicalAddress(self.address) ?? '', canonical.text)) {
          return BLOCKED;
        }
      }
      const { text, ip } = canonical;
      // An IPv6 form that carries IPv4 addresses (NAT64, 6to4, Teredo, compatible) is judged on
      // every one of them: the packet may end up at any of them.
      const embedded = ip.kind() === 'ipv6' ? embeddedIn(ip.toByteArray()) : [];
      if (embedded.length > 0) {
        return embedded.every((inner) => judge(inner.toString(), inner)) ? ALLOWED : BLOCKED;
      }
      return judge(text, ip) ? ALLOWED : BLOCKED;
    },
  };
}

/** Why an address is denied by default, or null for global unicast (for tests and logs). */
export function defaultDenialReason(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  if (family === 4) return ipv4DeniedReason(ipaddr.IPv4.parse(address), address);
  return ipv6DeniedReason(ipaddr.IPv6.parse(address.split('%')[0]!), address.toLowerCase());
}

let localAddresses: Set<string> | null = null;

/** Loopback, or an address of one of this machine's interfaces. */
function isLocalAddress(address: string): boolean {
  if (address === '::1') return true;
  if (isIP(address) === 4 && classifyIpv4(ipaddr.IPv4.parse(address)) === 'loopback') return true;
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
