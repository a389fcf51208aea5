// Differential test: our DNS wire codec (src/probe/dns/dns-wire.ts) against dns-packet, the
// general codec it replaced on the resolver's path. Queries must be the same bytes; responses
// dns-packet builds must decode to what dns-packet reads from them (names lower case, IPv6 in
// RFC 5952 text). Beyond dns-packet: compressed names as real servers send them, and hostile
// bytes, which must decode or be refused, never throw or loop.
import { Buffer } from 'node:buffer';
import { isIP } from 'node:net';
import type { Answer, DecodedPacket } from 'dns-packet';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { answersQuestion, readAnswer } from '../../src/probe/dns/dns-message.js';
import {
  decodeResponse,
  encodeQuery,
  RecordTypeCode,
  type WireResponse,
} from '../../src/probe/dns/dns-wire.js';

const readTypes = { A: 1, CNAME: 5, AAAA: 28 } as const;

/** The WHATWG URL serializer's IPv6 text: RFC 5952, the first longest zero run as ::. */
function canonicalIpv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/** What our decoder must say about `bytes`, read through dns-packet. */
function expectedFrom(packet: DecodedPacket): WireResponse {
  const question = packet.questions?.[0];
  const soa = (packet.authorities ?? []).find((a) => a.type === 'SOA');
  return {
    id: packet.id ?? 0,
    isResponse: packet.type === 'response',
    truncated: packet.flag_tc ?? false,
    rcode: (packet.flags ?? 0) & 0xf,
    question:
      question === undefined
        ? null
        : {
            name: lower(question.name),
            type: RecordTypeCode[question.type as keyof typeof RecordTypeCode],
          },
    answers: (packet.answers ?? [])
      .filter((a): a is Answer & { type: keyof typeof readTypes } => a.type in readTypes)
      .map((a) => ({
        name: lower(a.name),
        type: readTypes[a.type],
        ttl: (a as { ttl: number }).ttl,
        data:
          a.type === 'AAAA'
            ? canonicalIpv6(a.data as string)
            : a.type === 'CNAME'
              ? lower(a.data as string)
              : (a.data as string),
      })),
    soa:
      soa === undefined
        ? null
        : { ttl: soa.ttl ?? 0, minimum: (soa.data as { minimum: number }).minimum },
  };
}

function lower(name: string): string {
  return name === '.' ? '' : name.toLowerCase();
}

const label = fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/);
const dnsName = fc.array(label, { minLength: 1, maxLength: 5 }).map((labels) => labels.join('.'));
const ipv4 = fc.ipV4();
const ipv6 = fc.ipV6().filter((a) => !a.includes('.'));
const ttl = fc.integer({ min: 0, max: 0xffffffff });

const answerRecord = fc.oneof(
  fc.record({ type: fc.constant('A' as const), name: dnsName, ttl, data: ipv4 }),
  fc.record({ type: fc.constant('AAAA' as const), name: dnsName, ttl, data: ipv6 }),
  fc.record({ type: fc.constant('CNAME' as const), name: dnsName, ttl, data: dnsName }),
  fc.record({ type: fc.constant('NS' as const), name: dnsName, ttl, data: dnsName }),
  fc.record({
    type: fc.constant('MX' as const),
    name: dnsName,
    ttl,
    data: fc.record({ preference: fc.integer({ min: 0, max: 65535 }), exchange: dnsName }),
  }),
  fc.record({
    type: fc.constant('TXT' as const),
    name: dnsName,
    ttl,
    data: fc.array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 3 }),
  }),
);

const soaRecord = fc.record({
  type: fc.constant('SOA' as const),
  name: dnsName,
  ttl,
  data: fc.record({
    mname: dnsName,
    rname: dnsName,
    serial: fc.integer({ min: 0, max: 0xffffffff }),
    refresh: fc.integer({ min: 0, max: 0x7fffffff }),
    retry: fc.integer({ min: 0, max: 0x7fffffff }),
    expire: fc.integer({ min: 0, max: 0x7fffffff }),
    minimum: fc.integer({ min: 0, max: 0xffffffff }),
  }),
});

const response = fc.record({
  id: fc.integer({ min: 0, max: 0xffff }),
  flags: fc.integer({ min: 0, max: 0x7fff }),
  questions: fc.array(
    fc.record({
      type: fc.constantFrom('A', 'AAAA' as const),
      class: fc.constant('IN'),
      name: dnsName,
    }),
    { maxLength: 1 },
  ),
  answers: fc.array(answerRecord, { maxLength: 8 }),
  authorities: fc.array(
    fc.oneof(
      soaRecord,
      fc.record({ type: fc.constant('NS' as const), name: dnsName, ttl, data: dnsName }),
    ),
    { maxLength: 3 },
  ),
});

/** A 253-character name, 255 octets on the wire with its root. */
function labels253(): number[] {
  const label = (n: number) => [n, ...Buffer.from('z'.repeat(n))];
  return [...label(63), ...label(63), ...label(63), ...label(61), 0];
}

/** A response the way a server compresses it: the question's name, then pointers to it. */
function compressedResponse(): Buffer {
  const question = Buffer.from([
    ...[0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 1, 0, 0], // header: 1 question, 3 answers, 1 SOA
    ...[3, 0x57, 0x57, 0x57, 7, ...Buffer.from('Example'), 3, ...Buffer.from('COM'), 0, 0, 1, 0, 1],
  ]);
  const pointerToQuestion = [0xc0, 12];
  const pointerToExample = [0xc0, 16];
  const cname = [
    ...pointerToQuestion,
    ...[0, 5, 0, 1, 0, 0, 0, 60, 0, 6],
    ...[3, ...Buffer.from('cdn'), ...pointerToExample],
  ];
  const cnameAt = question.length + cname.length - 6; // where "cdn" starts
  const a1 = [0xc0, cnameAt, ...[0, 1, 0, 1, 0, 0, 0, 30, 0, 4], 192, 0, 2, 1];
  const a2 = [0xc0, cnameAt, ...[0, 1, 0, 1, 0, 0, 0, 20, 0, 4], 192, 0, 2, 2];
  const soa = [
    ...pointerToExample,
    ...[0, 6, 0, 1, 0, 0, 1, 0x2c, 0, 27],
    ...[2, ...Buffer.from('ns'), ...pointerToExample],
    ...pointerToExample,
    ...[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5],
  ];
  return Buffer.concat([question, Buffer.from([...cname, ...a1, ...a2, ...soa])]);
}

describe('the DNS wire codec', () => {
  it('encodes a query byte for byte as dns-packet does', () => {
    fc.assert(
      fc.property(
        dnsName,
        fc.constantFrom('A', 'AAAA' as const),
        fc.boolean(),
        (name, type, dot) => {
          const asked = dot ? `${name}.` : name;
          const reference = dnsPacket.encode({
            type: 'query',
            id: 0,
            flags: dnsPacket.RECURSION_DESIRED,
            questions: [{ type, class: 'IN', name: asked }],
          });
          expect(encodeQuery(asked, RecordTypeCode[type])).toEqual(reference);
        },
      ),
      { numRuns: 500 },
    );
    const utf8 = dnsPacket.encode({
      type: 'query',
      id: 0,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', class: 'IN', name: 'bücher.example' }],
    });
    expect(encodeQuery('bücher.example', RecordTypeCode.A)).toEqual(utf8);
  });

  it('refuses names that cannot go on the wire, counting octets', () => {
    const longest = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(encodeQuery(longest, RecordTypeCode.A)?.length).toBe(12 + 255 + 4);
    expect(encodeQuery(`${longest}d`, RecordTypeCode.A)).toBeNull();
    expect(encodeQuery('a'.repeat(64), RecordTypeCode.A)).toBeNull();
    expect(encodeQuery('ü'.repeat(32), RecordTypeCode.A)).toBeNull(); // 64 octets
    expect(encodeQuery('a..b', RecordTypeCode.A)).toBeNull();
    expect(encodeQuery('.a', RecordTypeCode.A)).toBeNull();
    expect(encodeQuery('', RecordTypeCode.A)).toBeNull();
    expect(encodeQuery('.', RecordTypeCode.A)).toBeNull();
  });

  it('reads every response dns-packet builds as dns-packet reads it', () => {
    fc.assert(
      fc.property(response, (packet) => {
        const bytes = dnsPacket.encode({ type: 'response', ...packet } as dnsPacket.Packet);
        expect(decodeResponse(bytes)).toEqual(expectedFrom(dnsPacket.decode(bytes)));
      }),
      { numRuns: 2000 },
    );
  });

  it('follows compression pointers, and lower-cases names', () => {
    expect(decodeResponse(compressedResponse())).toEqual({
      id: 0x1234,
      isResponse: true,
      truncated: false,
      rcode: 0,
      question: { name: 'www.example.com', type: 1 },
      answers: [
        { name: 'www.example.com', type: 5, ttl: 60, data: 'cdn.example.com' },
        { name: 'cdn.example.com', type: 1, ttl: 30, data: '192.0.2.1' },
        { name: 'cdn.example.com', type: 1, ttl: 20, data: '192.0.2.2' },
      ],
      soa: { ttl: 300, minimum: 5 },
    });
    expect(expectedFrom(dnsPacket.decode(compressedResponse()))).toEqual(
      decodeResponse(compressedResponse()),
    );
  });

  it('writes IPv6 answers as RFC 5952 text', () => {
    for (const [written, text] of [
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['1:0:0:0:0:0:0:0', '1::'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
      ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
      ['fe80:0:0:0:abcd:0:0:1', 'fe80::abcd:0:0:1'],
    ] as const) {
      const bytes = dnsPacket.encode({
        type: 'response',
        id: 1,
        answers: [{ type: 'AAAA', name: 'v6.example', ttl: 1, data: written }],
      });
      expect(decodeResponse(bytes)?.answers[0]?.data).toBe(text);
    }
  });

  it('refuses pointer loops, forward pointers, extended labels and records cut short', () => {
    const header = [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
    const selfPointer = Buffer.from([...header, 0xc0, 12, 0, 1, 0, 1]);
    const forwardPointer = Buffer.from([...header, 0xc0, 14, 1, 0x61, 0, 0, 1, 0, 1]);
    // 0x41 is an extended label type (01 in the top bits), not a label of 65 octets.
    const extendedLabel = Buffer.from([
      ...header,
      0x41,
      ...Buffer.from('a'.repeat(65)),
      0,
      0,
      1,
      0,
      1,
    ]);
    expect(decodeResponse(Buffer.from([...header, 0x01, 0x61, 0, 0, 0, 1, 0, 1]))).not.toBeNull();
    expect(decodeResponse(selfPointer)).toBeNull();
    expect(decodeResponse(forwardPointer)).toBeNull();
    expect(decodeResponse(extendedLabel)).toBeNull();
    const whole = compressedResponse();
    for (let length = 0; length < whole.length; length++) {
      expect(decodeResponse(whole.subarray(0, length))).toBeNull();
    }
    // An A record whose data is not four octets is not an address.
    const oneAnswer = [0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0];
    const threeOctets = [0, ...[0, 1, 0, 1], ...[0, 0, 0, 1], ...[0, 3], 1, 2, 3];
    const shortA = Buffer.from([...oneAnswer, ...threeOctets]);
    expect(decodeResponse(shortA)).toBeNull();
  });

  it('refuses names over 255 octets, also when pointers assemble them', () => {
    const labels = (count: number) =>
      Array.from({ length: count }, () => [63, ...Buffer.from('x'.repeat(63))]).flat();
    const question = (name: number[]) =>
      Buffer.from([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, ...name, 0, 1, 0, 1]);
    // 4 × 64 octets + the root: 257. Three labels and one of 61: 255, the most there may be.
    expect(decodeResponse(question([...labels(4), 0]))).toBeNull();
    expect(
      decodeResponse(question([...labels(3), 61, ...Buffer.from('y'.repeat(61)), 0])),
    ).not.toBeNull();
    // An answer whose owner is a label and a pointer to the question's three: 257 octets.
    const answer = [...labels(1), 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4];
    const message = Buffer.concat([question([...labels(3), 0]), Buffer.from(answer)]);
    message.writeUInt16BE(1, 6);
    expect(decodeResponse(message)).toBeNull();
  });

  it('refuses a chain of more pointers than a name has labels, and decodes a name once', () => {
    // A record of type NULL (not read) whose data is the root name, then names that are
    // each a pointer to the one before; the A record's owner points at the last of them.
    const hops = (count: number) => {
      const chain = [0];
      let previous = 23; // 12 header octets, the root owner, 10 of type, class, TTL, length
      for (let i = 0; i < count; i++) {
        chain.push(0xc0 | (previous >> 8), previous & 0xff);
        previous = 23 + chain.length - 2;
      }
      const nullRecord = [0, 0, 10, 0, 1, 0, 0, 0, 1, chain.length >> 8, chain.length & 0xff];
      const owner = [0xc0 | (previous >> 8), previous & 0xff];
      const a = [...owner, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4];
      return Buffer.from([0, 1, 0x81, 0x80, 0, 0, 0, 2, 0, 0, 0, 0, ...nullRecord, ...chain, ...a]);
    };
    expect(decodeResponse(hops(126))?.answers).toEqual([
      { name: '', type: 1, ttl: 1, data: '1.2.3.4' },
    ]);
    expect(decodeResponse(hops(200))).toBeNull();
    // 2,000 answers whose owner points at one 253-character name: every one reads it.
    const long = [...labels253()];
    const many = [0, 1, 0x81, 0x80, 0, 0, 0x07, 0xd0, 0, 0, 0, 0];
    const nameAt = many.length + 0;
    const first = [...long, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 10, 0, 0, 1];
    const rest = [0xc0 | (nameAt >> 8), nameAt & 0xff, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 10, 0, 0, 2];
    const bytes = Buffer.from([
      ...many,
      ...first,
      ...Array.from({ length: 1999 }, () => rest).flat(),
    ]);
    const decoded = decodeResponse(bytes);
    expect(decoded?.answers).toHaveLength(2000);
    expect(new Set(decoded?.answers.map((a) => a.name)).size).toBe(1);
    expect(decoded?.answers[1999]?.name).toHaveLength(253);
  });

  it('refuses CNAME and SOA data that does not end where its length says', () => {
    const header = [0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0];
    const cname = (extra: number[]) =>
      Buffer.from([
        ...header,
        1,
        0x61,
        0,
        0,
        5,
        0,
        1,
        0,
        0,
        0,
        1,
        0,
        3 + extra.length,
        1,
        0x62,
        0,
        ...extra,
      ]);
    expect(decodeResponse(cname([]))?.answers[0]?.data).toBe('b');
    expect(decodeResponse(cname([0xff]))).toBeNull();
    const soaHeader = [0, 1, 0x81, 0x83, 0, 0, 0, 0, 0, 1, 0, 0];
    const soa = (extra: number[]) =>
      Buffer.from([
        ...soaHeader,
        ...[0, 0, 6, 0, 1, 0, 0, 0, 9, 0, 22 + extra.length],
        ...[0, 0], // MNAME, RNAME: the root
        ...[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5],
        ...extra,
      ]);
    expect(decodeResponse(soa([]))?.soa).toEqual({ ttl: 9, minimum: 5 });
    expect(decodeResponse(soa([0]))).toBeNull();
  });

  it('lowers ASCII letters only, as DNS compares names (RFC 4343)', () => {
    const bytes = dnsPacket.encode({
      type: 'response',
      id: 1,
      questions: [{ type: 'A', class: 'IN', name: 'ΑΣ.Example' }],
      answers: [{ type: 'A', name: 'ΑΣ.Example', ttl: 1, data: '192.0.2.1' }],
    });
    const decoded = decodeResponse(bytes)!;
    expect(decoded.question?.name).toBe('ΑΣ.example');
    expect(answersQuestion(decoded, 'ΑΣ.EXAMPLE', 'A')).toBe(true);
    expect(readAnswer(decoded, 'ΑΣ.example.', 'A', 8)).toMatchObject({ addresses: ['192.0.2.1'] });
  });

  it('decodes or refuses any bytes, never throwing', () => {
    const base = compressedResponse();
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 600 }),
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), {
          maxLength: 8,
        }),
        (random, flips) => {
          const mutated = Buffer.from(base);
          for (const [at, value] of flips) mutated[at] = value;
          for (const bytes of [Buffer.from(random), mutated]) {
            const decoded = decodeResponse(bytes);
            if (decoded === null) continue;
            for (const answer of decoded.answers) {
              if (answer.type === readTypes.A) expect(isIP(answer.data)).toBe(4);
              if (answer.type === readTypes.AAAA) expect(isIP(answer.data)).toBe(6);
            }
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
