// DNS messages as the stub resolver sends and reads them (dns-wire.ts does the wire format):
// the question for a name, whether a response answers it, and what the answer says — the
// addresses at the end of its CNAME chain, or why there are none.
import {
  asciiLowerCase,
  encodeQuery as encodeWireQuery,
  RecordTypeCode,
  type WireResponse,
} from './dns-wire.js';

export { decodeResponse } from './dns-wire.js';

export type RecordType = 'A' | 'AAAA';

/** What one question came to, after every retry it was owed. */
export type QueryOutcome =
  | {
      /** NOERROR (addresses may be empty: no data) or NXDOMAIN. */
      readonly kind: 'answer';
      readonly rcode: 'NOERROR' | 'NXDOMAIN';
      readonly addresses: readonly string[];
      /** CNAME targets from the name asked to the canonical name, in order. */
      readonly cnames: readonly string[];
      /** Seconds: the smallest TTL of the chain, or the negative TTL from the SOA (RFC 2308). */
      readonly ttl: number | null;
      /** More addresses came than are kept. */
      readonly truncated: boolean;
    }
  /** Every server that answered said this (SERVFAIL, REFUSED, …). */
  | { readonly kind: 'rcode'; readonly rcode: string }
  /** Sent, and no server answered in time. */
  | { readonly kind: 'timeout'; readonly queriesSent: number }
  /** An unusable answer (a CNAME loop, say), or the query could not be made or was dropped. */
  | { readonly kind: 'error'; readonly message: string };

const MAX_CNAME_CHAIN = 16;
const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
/** RFC 1035 §2.3.4: labels of 1–63 octets, 253 characters in all (without the root dot). */
const DNS_NAME = /^(?=.{1,253}$)[^.]{1,63}(?:\.[^.]{1,63})*$/;

/** ASCII lower case without the trailing dot: how names are compared and cached. */
export function normalizeName(name: string): string {
  const lower = asciiLowerCase(name);
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

export function isDnsName(name: string): boolean {
  return DNS_NAME.test(name.endsWith('.') ? name.slice(0, -1) : name);
}

/** The query for (name, type) with id 0 (the client writes its own), or null if not a name. */
export function encodeQuery(name: string, type: RecordType): Buffer | null {
  // isDnsName counts characters and refuses line breaks; the wire counts octets.
  if (!isDnsName(name)) return null;
  return encodeWireQuery(name, RecordTypeCode[type]);
}

/** The response code's name (RFC 1035 §4.1.1). */
export function rcodeOf(response: WireResponse): string {
  return RCODE_NAMES[response.rcode] ?? `RCODE${response.rcode}`;
}

/**
 * Whether `response` answers the question (name, type). A failure rcode with no question
 * section (some servers drop it from FORMERR and REFUSED) counts: it matched the id.
 */
export function answersQuestion(response: WireResponse, name: string, type: RecordType): boolean {
  if (!response.isResponse) return false;
  const question = response.question;
  if (question === null) return response.rcode !== 0;
  return question.type === RecordTypeCode[type] && question.name === normalizeName(name);
}

/** Reads the addresses for `name` out of a response, following its CNAME chain. */
export function readAnswer(
  response: WireResponse,
  name: string,
  type: RecordType,
  maxAddresses: number,
): QueryOutcome {
  const rcode = rcodeOf(response);
  if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') return { kind: 'rcode', rcode };
  const answers = response.answers;
  const asked = normalizeName(name);
  const cnames: string[] = [];
  let owner = asked;
  let ttl = Number.POSITIVE_INFINITY;
  for (;;) {
    const alias = answers.find((a) => a.type === RecordTypeCode.CNAME && a.name === owner);
    if (alias === undefined) break;
    owner = alias.data;
    if (owner === asked || cnames.includes(owner)) {
      return { kind: 'error', message: 'CNAME loop in the answer' };
    }
    if (cnames.length === MAX_CNAME_CHAIN) {
      return { kind: 'error', message: `CNAME chain longer than ${MAX_CNAME_CHAIN}` };
    }
    cnames.push(owner);
    ttl = Math.min(ttl, alias.ttl);
  }
  const typeCode = RecordTypeCode[type];
  const addresses: string[] = [];
  let truncated = false;
  for (const record of answers) {
    if (record.type !== typeCode || record.name !== owner) continue;
    if (addresses.length === maxAddresses) {
      truncated = true;
      break;
    }
    addresses.push(record.data);
    ttl = Math.min(ttl, record.ttl);
  }
  if (addresses.length === 0) {
    // RFC 2308: a negative answer lives for min(SOA TTL, SOA MINIMUM).
    const soa = response.soa;
    const soaTtl = soa === null ? null : Math.min(soa.ttl, soa.minimum);
    return { kind: 'answer', rcode, addresses, cnames, ttl: soaTtl, truncated };
  }
  return { kind: 'answer', rcode, addresses, cnames, ttl, truncated };
}
