// The DNS wire format, only as far as a stub resolver needs it: the one-question query it
// sends, and the parts of a response it reads (header, question, A/AAAA/CNAME answers, the
// authority's SOA). Our own because the general codec (dns-packet) builds an object for
// every part of every record: a name's two queries and answers cost it ~13 µs of the event
// loop, this ~4 µs (`npm run bench:micro`, section 4), for every name of a bulk job.
// test/probe/dns-wire.test.ts holds it to dns-packet's results.
// Everything read is bounds-checked: a hostile datagram is an undecodable one, never a throw
// that escapes, an out-of-range read or a loop.

import ipaddr from 'ipaddr.js';

export const RecordTypeCode = { A: 1, CNAME: 5, SOA: 6, AAAA: 28 } as const;

/** A record of the answer section that the resolver reads: A, AAAA or CNAME. */
export interface WireRecord {
  /** Lower case, without the trailing dot. */
  readonly name: string;
  readonly type: number;
  readonly ttl: number;
  /** The address (A, AAAA) or the alias target, lower case (CNAME). */
  readonly data: string;
}

export interface WireResponse {
  readonly id: number;
  /** The QR bit: a response, not a query. */
  readonly isResponse: boolean;
  /** The TC bit: the answer did not fit and must be asked again over TCP. */
  readonly truncated: boolean;
  /** The low four bits of the flags (RFC 1035 §4.1.1). */
  readonly rcode: number;
  /** The first question (lower case, no trailing dot), or null when the section is empty. */
  readonly question: { readonly name: string; readonly type: number } | null;
  readonly answers: readonly WireRecord[];
  /** The first SOA of the authority section: a negative answer's TTL comes from it. */
  readonly soa: { readonly ttl: number; readonly minimum: number } | null;
}

const HEADER_BYTES = 12;
const FLAG_QR = 0x8000;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
/** RFC 1035 §2.3.4: 63 octets a label, 255 a name on the wire. */
const MAX_LABEL_BYTES = 63;
const MAX_NAME_BYTES = 255;
/** A name has at most 127 labels, so no honest name needs more pointers than that. */
const MAX_POINTER_HOPS = 127;

class Malformed extends Error {}
const MALFORMED = new Malformed('malformed DNS message');

/**
 * The query for (name, type) with recursion desired and id 0 (the client writes its own), or
 * null when the name cannot be one on the wire (empty, an empty or over-long label, over 255
 * octets).
 */
export function encodeQuery(name: string, type: number): Buffer | null {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  const nameBytes = Buffer.byteLength(bare, 'utf8') + 2;
  if (bare.length === 0 || nameBytes > MAX_NAME_BYTES) return null;
  const packet = Buffer.allocUnsafe(HEADER_BYTES + nameBytes + 4);
  packet.writeUInt32BE(FLAG_RD, 0); // id 0, flags
  packet.writeUInt32BE(0x00010000, 4); // one question, no answers
  packet.writeUInt32BE(0, 8); // no authority, no additional records
  // The name's text one octet to the right, then each dot replaced by its label's length.
  let lengthAt = HEADER_BYTES;
  packet.write(bare, HEADER_BYTES + 1, 'utf8');
  const end = HEADER_BYTES + nameBytes - 1;
  for (let at = HEADER_BYTES + 1; at <= end; at++) {
    if (at < end && packet[at] !== 0x2e) continue;
    const length = at - lengthAt - 1;
    if (length === 0 || length > MAX_LABEL_BYTES) return null;
    packet[lengthAt] = length;
    lengthAt = at;
  }
  packet[end] = 0;
  packet.writeUInt16BE(type, end + 1);
  packet.writeUInt16BE(1, end + 3); // class IN
  return packet;
}

/** The response in `message`, or null when it is not a well-formed DNS message. */
export function decodeResponse(message: Buffer): WireResponse | null {
  try {
    return new WireReader(message).response();
  } catch (error) {
    if (error instanceof Malformed) return null;
    throw error;
  }
}

class WireReader {
  #at = HEADER_BYTES;
  /** Set by #nameAt: where the octets of the name it read end. */
  #nameEnd = 0;
  /**
   * Names pointers lead to, by offset: each decoded once per message. Most answers point at
   * one name (the question's), kept in the first pair; a map only for a second target.
   */
  #firstTarget = -1;
  #firstSuffix: DecodedName | null = null;
  #suffixes: Map<number, DecodedName> | null = null;

  constructor(private readonly buf: Buffer) {}

  response(): WireResponse {
    const buf = this.buf;
    if (buf.length < HEADER_BYTES) throw MALFORMED;
    const flags = buf.readUInt16BE(2);
    const questions = buf.readUInt16BE(4);
    const answerCount = buf.readUInt16BE(6);
    const authorityCount = buf.readUInt16BE(8);
    let question: WireResponse['question'] = null;
    for (let i = 0; i < questions; i++) {
      const name = this.#name();
      const type = this.#u16();
      this.#u16(); // class
      if (i === 0) question = { name, type };
    }
    const answers: WireRecord[] = [];
    for (let i = 0; i < answerCount; i++) {
      const record = this.#answer();
      if (record !== null) answers.push(record);
    }
    let soa: WireResponse['soa'] = null;
    for (let i = 0; i < authorityCount && soa === null; i++) soa = this.#soa();
    // The additional section (EDNS options, glue) says nothing a stub resolver uses.
    return {
      id: buf.readUInt16BE(0),
      isResponse: (flags & FLAG_QR) !== 0,
      truncated: (flags & FLAG_TC) !== 0,
      rcode: flags & 0xf,
      question,
      answers,
      soa,
    };
  }

  /** One resource record's header, leaving #at at its data; the data's end is returned. */
  #recordHeader(): { name: string; type: number; ttl: number; end: number } {
    const name = this.#name();
    const type = this.#u16();
    this.#u16(); // class
    const ttl = this.#u32();
    const length = this.#u16();
    const end = this.#at + length;
    if (end > this.buf.length) throw MALFORMED;
    return { name, type, ttl, end };
  }

  #answer(): WireRecord | null {
    const { name, type, ttl, end } = this.#recordHeader();
    const length = end - this.#at;
    let data: string | null = null;
    if (type === RecordTypeCode.A && length === 4) data = ipv4At(this.buf, this.#at);
    else if (type === RecordTypeCode.AAAA && length === 16) data = ipv6At(this.buf, this.#at);
    else if (type === RecordTypeCode.CNAME) {
      data = this.#name();
      if (this.#at !== end) throw MALFORMED;
    } else if (type === RecordTypeCode.A || type === RecordTypeCode.AAAA) throw MALFORMED;
    this.#at = end;
    return data === null ? null : { name, type, ttl, data };
  }

  #soa(): WireResponse['soa'] {
    const { type, ttl, end } = this.#recordHeader();
    if (type !== RecordTypeCode.SOA) {
      this.#at = end;
      return null;
    }
    this.#name(); // MNAME
    this.#name(); // RNAME
    this.#at += 16; // SERIAL, REFRESH, RETRY, EXPIRE
    const minimum = this.#u32();
    if (this.#at !== end) throw MALFORMED;
    return { ttl, minimum };
  }

  #u16(): number {
    const at = this.#at;
    if (at + 2 > this.buf.length) throw MALFORMED;
    this.#at = at + 2;
    return this.buf.readUInt16BE(at);
  }

  #u32(): number {
    const at = this.#at;
    if (at + 4 > this.buf.length) throw MALFORMED;
    this.#at = at + 4;
    return this.buf.readUInt32BE(at);
  }

  /** A domain name at #at, lower case without the trailing dot ('' for the root). */
  #name(): string {
    const { text } = this.#nameAt(this.#at, 0);
    this.#at = this.#nameEnd;
    return text;
  }

  /**
   * The name whose labels start at `from`; #nameEnd is left after its octets there. A
   * pointer must point before the labels that hold it (RFC 1035 §4.1.4: "a prior
   * occurrence"), at most 127 hops, and the name a pointer leads to is decoded once per
   * message: a crafted message cannot make its names cost more than its size.
   */
  #nameAt(from: number, hops: number): DecodedName {
    const buf = this.buf;
    let at = from;
    let text = '';
    let wireBytes = 1;
    for (;;) {
      if (at >= buf.length) throw MALFORMED;
      const length = buf[at]!;
      if (length === 0) {
        this.#nameEnd = at + 1;
        return { text, wireBytes };
      }
      if ((length & 0xc0) === 0xc0) {
        if (at + 2 > buf.length) throw MALFORMED;
        const target = buf.readUInt16BE(at) & 0x3fff;
        if (target >= from || hops === MAX_POINTER_HOPS) throw MALFORMED;
        const suffix = this.#suffixAt(target, hops + 1);
        this.#nameEnd = at + 2;
        wireBytes += suffix.wireBytes - 1;
        if (wireBytes > MAX_NAME_BYTES) throw MALFORMED;
        if (text.length === 0) return suffix;
        return { text: suffix.text.length === 0 ? text : `${text}.${suffix.text}`, wireBytes };
      }
      if ((length & 0xc0) !== 0) throw MALFORMED; // extended label types (RFC 6891 §5)
      wireBytes += length + 1;
      if (wireBytes > MAX_NAME_BYTES || at + 1 + length > buf.length) throw MALFORMED;
      const label = labelAt(buf, at + 1, length);
      text = text.length === 0 ? label : `${text}.${label}`;
      at += 1 + length;
    }
  }

  #suffixAt(target: number, hops: number): DecodedName {
    if (target === this.#firstTarget) return this.#firstSuffix!;
    const known = this.#suffixes?.get(target);
    if (known !== undefined) return known;
    const suffix = this.#nameAt(target, hops);
    if (this.#firstTarget === -1) {
      this.#firstTarget = target;
      this.#firstSuffix = suffix;
    } else {
      this.#suffixes ??= new Map();
      this.#suffixes.set(target, suffix);
    }
    return suffix;
  }
}

interface DecodedName {
  readonly text: string;
  /** Octets on the wire, the root's included: 255 at most. */
  readonly wireBytes: number;
}

/**
 * A label as text, its ASCII letters in lower case (DNS names compare case-insensitively in
 * ASCII only, RFC 4343); octets beyond ASCII as UTF-8, as dns-packet reads them.
 */
function labelAt(buf: Buffer, from: number, length: number): string {
  let ascii = '';
  for (let i = from; i < from + length; i++) {
    const byte = buf[i]!;
    if (byte >= 0x80) return asciiLowerCase(buf.toString('utf8', from, from + length));
    ascii += String.fromCharCode(byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte);
  }
  return ascii;
}

const ASCII_UPPER = /[A-Z]+/g;

/** `text` with A–Z lowered and nothing else touched (String#toLowerCase is Unicode's). */
export function asciiLowerCase(text: string): string {
  return text.replace(ASCII_UPPER, (upper) => upper.toLowerCase());
}

function ipv4At(buf: Buffer, at: number): string {
  return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
}

/** RFC 5952 text (the first longest zero run as ::), as the WHATWG URL serializer writes it. */
function ipv6At(buf: Buffer, at: number): string {
  const parts: number[] = [];
  for (let i = 0; i < 8; i++) parts.push(buf.readUInt16BE(at + 2 * i));
  return new ipaddr.IPv6(parts).toRFC5952String();
}
