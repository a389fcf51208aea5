// curl-style `--resolve host:port:addr` pins. Keys match the way a parsed target's host
// looks (lowercase, punycode), so `Bücher.Example:443` pins `xn--bcher-kva.example:443`.
import { domainToASCII } from 'node:url';

type Pins = Readonly<Record<string, string>>;

// Normalised once per options object, which every target of a job shares.
const normalisedPins = new WeakMap<Pins, ReadonlyMap<string, string>>();

function normaliseHostPort(key: string): string {
  const colon = key.lastIndexOf(':');
  const host = key.slice(0, colon);
  const ascii = host.startsWith('[') ? '' : domainToASCII(host);
  return `${ascii || host.toLowerCase()}:${key.slice(colon + 1)}`;
}

/** The pinned address for `hostname:port`, if any. */
export function pinnedAddress(pins: Pins, hostname: string, port: number): string | undefined {
  let map = normalisedPins.get(pins);
  if (map === undefined) {
    map = new Map(Object.entries(pins).map(([key, address]) => [normaliseHostPort(key), address]));
    normalisedPins.set(pins, map);
  }
  return map.size === 0 ? undefined : map.get(`${hostname}:${port}`);
}
