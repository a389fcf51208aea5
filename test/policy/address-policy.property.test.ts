// The policy judges every address exactly as the BlockList-based policy it replaced did:
// same verdicts, reasons, canonical spellings and embedded IPv4, for any allow list.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as current from '../../src/policy/address-policy.js';
import * as previous from '../support/reference/blocklist-address-policy.js';

const octet = fc.integer({ min: 0, max: 255 });
const word = fc.integer({ min: 0, max: 0xffff });
const hex = (n: number) => n.toString(16);

// Biased towards the special-purpose ranges and their edges.
const ipv4 = fc
  .tuple(
    fc.oneof(fc.constantFrom(0, 1, 8, 10, 100, 127, 168, 169, 172, 192, 198, 203, 224, 240), octet),
    fc.oneof(fc.constantFrom(0, 2, 16, 18, 19, 31, 51, 63, 64, 88, 127, 128, 168, 254, 255), octet),
    fc.oneof(fc.constantFrom(0, 2, 99, 100, 113, 169, 255), octet),
    fc.oneof(fc.constantFrom(0, 1, 16, 254, 255), octet),
  )
  .map((octets) => octets.join('.'));

const words = fc.tuple(
  fc.oneof(
    fc.constantFrom(0, 0x64, 0x1fff, 0x2000, 0x2001, 0x2002, 0x2606, 0x3fff, 0x4000),
    fc.constantFrom(0xfc00, 0xfd00, 0xfe80, 0xff02),
    word,
  ),
  fc.oneof(fc.constantFrom(0, 2, 0x10, 0x1f, 0x20, 0xdb8, 0xec2, 0xff9b), word),
  ...Array.from({ length: 5 }, () => fc.oneof(fc.constantFrom(0, 0, 1, 0xffff), word)),
  fc.oneof(fc.constantFrom(0, 1, 0x254), word),
);

const ipv6 = fc.oneof(
  words.map((w) => w.map(hex).join(':')),
  words.map((w) => current.canonicalAddress(w.map(hex).join(':'))!),
  words.map((w) => w.map(hex).join(':').toUpperCase()),
  fc.ipV6(),
  ipv4.map((a) => `::ffff:${a}`),
  ipv4.map((a) => `::${a}`),
  ipv4.map((a) => `64:ff9b::${a}`),
  fc.tuple(ipv4, word).map(([a, w]) => `64:ff9b:1:${hex(w)}::${a}`),
  fc.tuple(word, word).map(([a, b]) => `2002:${hex(a)}:${hex(b)}::1`),
  fc
    .tuple(word, word, word, word)
    .map(([a, b, c, d]) => `2001:0:${hex(a)}:${hex(b)}::${hex(c)}:${hex(d)}`),
  fc.constantFrom('::', '::1', '::0.0.0.1', 'fd00:ec2::254', 'fd00:ec2:0::254', 'FD00:EC2::254'),
);

const address = fc.oneof(
  ipv4,
  ipv6,
  fc.tuple(ipv6, fc.constantFrom('%eth0', '%1', '%lo')).map(([a, zone]) => a + zone),
  fc.constantFrom('169.254.169.254', '168.63.129.16', '::ffff:169.254.169.254', '1.2.3.4%eth0'),
  fc.constantFrom('127.1', '0x7f.0.0.1', '0177.0.0.1', '2130706433', '::ffff:1.2.3.04', ''),
  fc.string({ maxLength: 12 }),
);

const cidr = fc.oneof(
  fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`),
  ipv4,
  fc.tuple(ipv6, fc.integer({ min: 0, max: 128 })).map(([a, p]) => `${a}/${p}`),
  fc.tuple(ipv4, fc.integer({ min: 80, max: 128 })).map(([a, p]) => `::ffff:${a}/${p}`),
  fc.constantFrom('169.254.169.254', 'fd00:ec2::254/128', '::ffff:168.63.129.16', '::/0'),
  fc.constantFrom('0.0.0.0/0', '127.0.0.0/8', 'fc00::/7', ' 10.0.0.0/8 ', '1.2.3.4/33', 'x/8'),
);

/** The verdict, or the error thrown on the way. */
function outcome<T>(run: () => T): { value: T } | { error: string } {
  try {
    return { value: run() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

describe('address policy against the BlockList-based one it replaced', () => {
  it('gives the same verdict for any address and allow list', () => {
    fc.assert(
      fc.property(
        fc.array(cidr, { maxLength: 3 }),
        fc.array(address, { maxLength: 6 }),
        (allow, addresses) => {
          const now = outcome(() => current.createAddressPolicy({ allowCidrs: allow }));
          const before = outcome(() => previous.createAddressPolicy({ allowCidrs: allow }));
          expect('error' in now).toBe('error' in before);
          if (!('value' in now) || !('value' in before)) return;
          for (const a of addresses) {
            expect(now.value.check(a, 80), a).toEqual(before.value.check(a, 80));
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('spells, classifies and unpacks every address the same way', () => {
    fc.assert(
      fc.property(address, (a) => {
        expect(current.canonicalAddress(a)).toBe(previous.canonicalAddress(a));
        expect(outcome(() => current.defaultDenialReason(a))).toEqual(
          outcome(() => previous.defaultDenialReason(a)),
        );
        if (a.includes(':')) {
          expect(outcome(() => current.embeddedIpv4(a))).toEqual(
            outcome(() => previous.embeddedIpv4(a)),
          );
        }
      }),
      { numRuns: 20000 },
    );
  });
});
