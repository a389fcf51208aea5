// Asks nameservers one question at a time, many at once, without blocking anything: UDP with
// random ids on connected sockets that are replaced every few hundred queries (so a spoofer
// must guess the port as well as the id), the next server on a timeout or a failure rcode,
// TCP when an answer comes back truncated, and a global cap on queries in flight. A query
// waiting for a slot has no timer running: only time on the wire can become a timeout.
import { randomFillSync } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Answer, DecodedPacket } from 'dns-packet';
import dnsPacket from 'dns-packet';
import type { DnsServerAddress } from './resolv-conf.js';
import { queryOverTcp } from './tcp-query.js';

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
  | { readonly kind: 'error'; readonly message: string };

export interface DnsClientOptions {
  readonly servers: readonly DnsServerAddress[];
  /** Per try, from the moment the query is sent. */
  readonly timeoutMs: number;
  /** Tries per server; every try goes to the next server in turn. */
  readonly attempts: number;
  /** Queries on the wire at once, across servers; more wait for a slot. */
  readonly maxInFlight: number;
  /** Start each question at the next server instead of the first (`options rotate`). */
  readonly rotate?: boolean;
  /** Addresses kept per answer. */
  readonly maxAddresses?: number;
}

const MAX_CNAME_CHAIN = 16;
const DEFAULT_MAX_ADDRESSES = 64;
/** Queries one UDP socket carries before a fresh one (a new random source port) takes over. */
const QUERIES_PER_SOCKET = 256;
const RETRY_RCODES = new Set(['SERVFAIL', 'REFUSED', 'NOTIMP', 'FORMERR']);
const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** The response code's name (RFC 1035 §4.1.1), from the low four bits of the flags. */
function rcodeOf(response: DecodedPacket): string {
  const code = (response.flags ?? 0) & 0xf;
  return RCODE_NAMES[code] ?? `RCODE${code}`;
}

// Ids come from the CSPRNG in batches: one randomFillSync per 4096 queries, not one per query.
const idPool = new Uint16Array(4096);
let idPoolAt = idPool.length;
function randomId(): number {
  if (idPoolAt === idPool.length) {
    randomFillSync(idPool);
    idPoolAt = 0;
  }
  return idPool[idPoolAt++]!;
}

function lower(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** Reads the addresses for `name` out of a response, following its CNAME chain. */
export function readAnswer(
  response: DecodedPacket,
  name: string,
  type: RecordType,
  maxAddresses: number,
): QueryOutcome {
  const rcode = rcodeOf(response);
  if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') return { kind: 'rcode', rcode };
  const answers = response.answers ?? [];
  const cnames: string[] = [];
  let owner = lower(name);
  let ttl = Number.POSITIVE_INFINITY;
  for (let hop = 0; hop < MAX_CNAME_CHAIN; hop++) {
    const alias = answers.find(
      (a): a is Answer & { type: 'CNAME'; data: string } =>
        a.type === 'CNAME' && lower(a.name) === owner,
    );
    if (alias === undefined) break;
    owner = lower(alias.data);
    cnames.push(owner);
    ttl = Math.min(ttl, alias.ttl ?? 0);
  }
  const family = type === 'A' ? 4 : 6;
  const addresses: string[] = [];
  let truncated = false;
  for (const record of answers) {
    if (record.type !== type || lower(record.name) !== owner) continue;
    const address = record.data as string;
    if (isIP(address) !== family) continue;
    if (addresses.length === maxAddresses) {
      truncated = true;
      break;
    }
    addresses.push(address);
    ttl = Math.min(ttl, record.ttl ?? 0);
  }
  if (addresses.length === 0) {
    // RFC 2308: a negative answer lives for min(SOA TTL, SOA MINIMUM).
    const soa = (response.authorities ?? []).find((a) => a.type === 'SOA');
    const soaTtl =
      soa === undefined ? null : Math.min(soa.ttl ?? 0, (soa.data as { minimum: number }).minimum);
    return { kind: 'answer', rcode, addresses, cnames, ttl: soaTtl, truncated };
  }
  return { kind: 'answer', rcode, addresses, cnames, ttl, truncated };
}

interface PendingQuery {
  readonly name: string;
  readonly type: RecordType;
  readonly packet: Buffer;
  readonly done: (outcome: QueryOutcome) => void;
  /** Tries made so far; the server of try i is servers[(start + i) % n]. */
  tries: number;
  readonly start: number;
  lastRcode: string | null;
  lastError: string | null;
  id: number;
  channel: UdpChannel | null;
  timer: NodeJS.Timeout | null;
}

/** One connected UDP socket to one server: only that server's datagrams reach it. */
class UdpChannel {
  readonly socket: UdpSocket;
  readonly pending = new Map<number, PendingQuery>();
  sent = 0;
  ready = false;
  /** The socket reported an error: it takes no new queries. */
  broken = false;
  closed = false;
  /** Added before the socket was connected; sent once it is. */
  readonly queued: PendingQuery[] = [];

  constructor(
    readonly server: DnsServerAddress,
    private readonly onMessage: (channel: UdpChannel, message: Buffer) => void,
    private readonly onBroken: (channel: UdpChannel, error: Error) => void,
  ) {
    // A burst of answers must not overflow the default receive buffer (the kernel may cap this).
    this.socket = createSocket({
      type: server.family === 6 ? 'udp6' : 'udp4',
      recvBufferSize: 1 << 20,
    });
    this.socket.unref();
    this.socket.on('message', (message) => this.onMessage(this, message));
    this.socket.on('error', (error) => this.onBroken(this, error));
    this.socket.connect(server.port, server.host, () => {
      this.ready = true;
      for (const query of this.queued.splice(0)) this.transmit(query);
    });
  }

  /** True once this socket has carried its share and should take no new queries. */
  get retired(): boolean {
    return this.sent >= QUERIES_PER_SOCKET || this.broken || this.closed;
  }

  add(query: PendingQuery): void {
    // An id not in use on this socket: a reply is matched by (socket, id) alone.
    let id = randomId();
    while (this.pending.has(id)) id = randomId();
    query.id = id;
    query.packet.writeUInt16BE(id, 0);
    query.channel = this;
    this.pending.set(id, query);
    this.sent++;
    if (this.ready) this.transmit(query);
    else this.queued.push(query);
  }

  private transmit(query: PendingQuery): void {
    // A send error (ECONNREFUSED from an earlier ICMP, say) shows up on the socket or here;
    // either way the query's own timer ends it, so nothing more is done with it.
    this.socket.send(query.packet, () => {});
  }

  remove(query: PendingQuery): void {
    if (this.pending.get(query.id) === query) this.pending.delete(query.id);
    query.channel = null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.socket.close();
    } catch {
      // Already closed by an error.
    }
  }
}

export class DnsClient {
  readonly #servers: readonly DnsServerAddress[];
  readonly #timeoutMs: number;
  readonly #tries: number;
  readonly #maxInFlight: number;
  readonly #rotate: boolean;
  readonly #maxAddresses: number;
  /** The socket that takes new queries, per server. */
  readonly #channels = new Map<DnsServerAddress, UdpChannel>();
  /** Retired sockets still waiting for answers; closed when their last query ends. */
  readonly #draining = new Set<UdpChannel>();
  readonly #waiting: PendingQuery[] = [];
  #waitingHead = 0;
  #inFlight = 0;
  #nextStart = 0;
  #closed = false;
  readonly sent = { A: 0, AAAA: 0 };
  timeouts = 0;
  tcpFallbacks = 0;

  constructor(options: DnsClientOptions) {
    if (options.servers.length === 0) throw new RangeError('a DNS client needs a server');
    this.#servers = options.servers;
    this.#timeoutMs = options.timeoutMs;
    this.#tries = Math.max(1, options.attempts) * options.servers.length;
    this.#maxInFlight = options.maxInFlight;
    this.#rotate = options.rotate ?? false;
    this.#maxAddresses = options.maxAddresses ?? DEFAULT_MAX_ADDRESSES;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get waiting(): number {
    return this.#waiting.length - this.#waitingHead;
  }

  /** Never rejects. */
  query(name: string, type: RecordType): Promise<QueryOutcome> {
    if (this.#closed) return Promise.resolve({ kind: 'error', message: 'resolver closed' });
    let packet: Buffer;
    try {
      packet = dnsPacket.encode({
        type: 'query',
        id: 0,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ type, class: 'IN', name }],
      });
    } catch {
      return Promise.resolve({
        kind: 'error',
        message: 'name cannot be encoded as a DNS question',
      });
    }
    return new Promise((resolve) => {
      const start = this.#rotate ? this.#nextStart++ % this.#servers.length : 0;
      const query: PendingQuery = {
        name,
        type,
        packet,
        done: resolve,
        tries: 0,
        start,
        lastRcode: null,
        lastError: null,
        id: 0,
        channel: null,
        timer: null,
      };
      if (this.#inFlight < this.#maxInFlight) this.#begin(query);
      else this.#waiting.push(query);
    });
  }

  #begin(query: PendingQuery): void {
    this.#inFlight++;
    this.#send(query);
  }

  #serverOf(query: PendingQuery): DnsServerAddress {
    return this.#servers[(query.start + query.tries) % this.#servers.length]!;
  }

  #send(query: PendingQuery): void {
    const server = this.#serverOf(query);
    this.sent[query.type]++;
    this.#channelFor(server).add(query);
    query.timer = setTimeout(this.#onTimeout, this.#timeoutMs, query);
  }

  #channelFor(server: DnsServerAddress): UdpChannel {
    let channel = this.#channels.get(server);
    if (channel === undefined || channel.retired) {
      if (channel !== undefined) this.#retire(channel);
      channel = new UdpChannel(server, this.#onMessage, this.#onBroken);
      this.#channels.set(server, channel);
    }
    return channel;
  }

  #retire(channel: UdpChannel): void {
    if (channel.pending.size === 0) channel.close();
    else this.#draining.add(channel);
  }

  readonly #onMessage = (channel: UdpChannel, message: Buffer): void => {
    if (message.length < 12) return;
    const query = channel.pending.get(message.readUInt16BE(0));
    if (query === undefined) return;
    let response: DecodedPacket;
    try {
      response = dnsPacket.decode(message);
    } catch {
      this.#retry(query, null, 'undecodable DNS response');
      return;
    }
    const question = response.questions?.[0];
    // An answer to another question (or not an answer) is not ours; keep waiting.
    if (
      response.type !== 'response' ||
      question === undefined ||
      question.type !== query.type ||
      lower(question.name) !== lower(query.name)
    ) {
      return;
    }
    if (response.flag_tc) {
      this.#askOverTcp(query);
      return;
    }
    this.#conclude(query, response);
  };

  readonly #onBroken = (channel: UdpChannel, error: Error): void => {
    // A socket that fails (a send error the kernel reports, say) takes no more queries, and
    // its pending ones go to the next try at once instead of waiting out their timers.
    if (this.#channels.get(channel.server) === channel) this.#channels.delete(channel.server);
    channel.broken = true;
    const code = (error as NodeJS.ErrnoException).code ?? 'socket error';
    for (const query of [...channel.pending.values()]) {
      this.#retry(query, null, `DNS server unreachable (${code})`);
    }
    this.#retire(channel);
  };

  #askOverTcp(query: PendingQuery): void {
    const server = this.#serverOf(query);
    this.#detach(query);
    this.tcpFallbacks++;
    this.sent[query.type]++;
    // The TCP exchange has a timeout of its own: the UDP try was answered in time.
    queryOverTcp(server, query.packet, this.#timeoutMs).then((reply) => {
      if (!reply.ok) {
        this.#retry(query, null, reply.timedOut ? null : reply.message);
        return;
      }
      let response: DecodedPacket;
      try {
        response = dnsPacket.decode(reply.message);
      } catch {
        this.#retry(query, null, 'undecodable DNS response over TCP');
        return;
      }
      if (response.id !== query.id || response.type !== 'response') {
        this.#retry(query, null, 'DNS response over TCP for another query');
        return;
      }
      this.#conclude(query, response);
    });
  }

  #conclude(query: PendingQuery, response: DecodedPacket): void {
    const outcome = readAnswer(response, query.name, query.type, this.#maxAddresses);
    if (outcome.kind === 'rcode' && RETRY_RCODES.has(outcome.rcode)) {
      this.#retry(query, outcome.rcode, null);
      return;
    }
    this.#finish(query, outcome);
  }

  readonly #onTimeout = (query: PendingQuery): void => {
    query.timer = null;
    this.#retry(query, null, null);
  };

  /** The next try goes to the next server; after the last, the most telling failure wins. */
  #retry(query: PendingQuery, rcode: string | null, error: string | null): void {
    this.#detach(query);
    if (rcode !== null) query.lastRcode = rcode;
    if (error !== null) query.lastError = error;
    query.tries++;
    if (query.tries < this.#tries && !this.#closed) {
      this.#send(query);
      return;
    }
    // A server that answered, even with a failure, beats silence: that is not a timeout.
    if (query.lastRcode !== null) this.#finish(query, { kind: 'rcode', rcode: query.lastRcode });
    else if (query.lastError !== null)
      this.#finish(query, { kind: 'error', message: query.lastError });
    else {
      this.timeouts++;
      this.#finish(query, { kind: 'timeout', queriesSent: query.tries });
    }
  }

  /** Unhooks the query from its timer and socket, closing a retired socket it was the last on. */
  #detach(query: PendingQuery): void {
    if (query.timer !== null) clearTimeout(query.timer);
    query.timer = null;
    const channel = query.channel;
    if (channel === null) return;
    channel.remove(query);
    if (channel.pending.size === 0 && this.#draining.delete(channel)) channel.close();
  }

  #finish(query: PendingQuery, outcome: QueryOutcome): void {
    this.#detach(query);
    this.#inFlight--;
    query.done(outcome);
    // The freed slot goes to the oldest waiting query.
    while (
      !this.#closed &&
      this.#inFlight < this.#maxInFlight &&
      this.#waitingHead < this.#waiting.length
    ) {
      const next = this.#waiting[this.#waitingHead]!;
      this.#waiting[this.#waitingHead++] = undefined as unknown as PendingQuery;
      this.#begin(next);
    }
    if (this.#waitingHead === this.#waiting.length) {
      this.#waiting.length = 0;
      this.#waitingHead = 0;
    }
  }

  /** Ends every query as an error and closes the sockets. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (let i = this.#waitingHead; i < this.#waiting.length; i++) {
      this.#waiting[i]!.done({ kind: 'error', message: 'resolver closed' });
    }
    this.#waiting.length = 0;
    this.#waitingHead = 0;
    const channels = [...this.#channels.values(), ...this.#draining];
    for (const channel of channels) {
      for (const query of [...channel.pending.values()]) {
        this.#finish(query, { kind: 'error', message: 'resolver closed' });
      }
      channel.close();
    }
    this.#channels.clear();
    this.#draining.clear();
  }
}
