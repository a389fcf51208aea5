// Asks nameservers one question at a time, many at once, without blocking anything: UDP with
// random ids on connected sockets that are replaced every few hundred queries (so a spoofer
// must guess the port as well as the id), the next server on a timeout or a failure rcode,
// TCP when an answer comes back truncated, and a global cap on queries in flight. A query
// waiting for a slot has no timer running: only time on the wire can become a timeout. A
// query nobody waits for any more (its probes ended) is dropped instead of sent or retried.
import { randomFillSync } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { DeadlineQueue, type DeadlineTicket } from './deadline-queue.js';
import {
  answersQuestion,
  decodeResponse,
  encodeQuery,
  type QueryOutcome,
  type RecordType,
  readAnswer,
} from './dns-message.js';
import type { WireResponse } from './dns-wire.js';
import type { DnsServerAddress } from './resolv-conf.js';
import { queryOverTcp } from './tcp-query.js';

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

const DEFAULT_MAX_ADDRESSES = 64;
/** Queries one UDP socket carries before a fresh one (a new random source port) takes over. */
const QUERIES_PER_SOCKET = 256;
const RETRY_RCODES = new Set(['SERVFAIL', 'REFUSED', 'NOTIMP', 'FORMERR']);
const CLOSED: QueryOutcome = { kind: 'error', message: 'resolver closed' };
const UNWANTED: QueryOutcome = { kind: 'error', message: 'no longer wanted' };

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

interface PendingQuery {
  readonly name: string;
  readonly type: RecordType;
  readonly packet: Buffer;
  readonly done: (outcome: QueryOutcome) => void;
  /** False once every asker has gone: the query is then dropped, not sent or retried. */
  readonly wanted: () => boolean;
  /** Tries made so far; the server of try i is servers[(start + i) % n]. */
  tries: number;
  readonly start: number;
  lastRcode: string | null;
  lastError: string | null;
  id: number;
  /** The id it was last sent with: a query queued twice for one send goes out once. */
  sentId: number;
  channel: UdpChannel | null;
  /** Its timeout on the wire, while it has one. */
  deadline: DeadlineTicket | null;
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
    private readonly client: DnsClient,
  ) {
    // A burst of answers must not overflow the default receive buffer (the kernel may cap this).
    this.socket = createSocket({
      type: server.family === 6 ? 'udp6' : 'udp4',
      recvBufferSize: 1 << 20,
    });
    this.socket.unref();
    this.socket.on('message', (message: Buffer) => client.onMessage(this, message));
    this.socket.on('error', (error) => client.onBroken(this, error));
    this.socket.connect(server.port, server.host, () => {
      this.ready = true;
      for (const query of this.queued.splice(0)) client.outbox.push(query);
    });
  }

  /** True once this socket has carried its share and should take no new queries. */
  get retired(): boolean {
    return this.sent >= QUERIES_PER_SOCKET || this.broken || this.closed;
  }

  add(query: PendingQuery): void {
    // An id not in use on this socket: a reply is matched by (socket, id), then its question.
    let id = randomId();
    while (this.pending.has(id)) id = randomId();
    query.id = id;
    query.packet.writeUInt16BE(id, 0);
    query.channel = this;
    this.pending.set(id, query);
    this.sent++;
    if (this.ready) this.client.outbox.push(query);
    else this.queued.push(query);
  }

  transmit(query: PendingQuery): void {
    const id = query.id;
    if (query.sentId === id || this.pending.get(id) !== query) return;
    query.sentId = id;
    this.socket.send(query.packet, (error) => {
      // Not sent (an ICMP error from an earlier datagram, say): the next try, at once.
      if (error && this.pending.get(id) === query) this.client.onSendFailed(query, error);
    });
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

/** Items pushed during one turn of the event loop, handed to `flush` together after it. */
class Outbox<T> {
  #items: T[] = [];
  #scheduled = false;

  constructor(private readonly flush: (item: T) => void) {}

  push(item: T): void {
    this.#items.push(item);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#drain);
  }

  readonly #drain = (): void => {
    this.#scheduled = false;
    const items = this.#items;
    this.#items = [];
    for (const item of items) this.flush(item);
  };
}

export class DnsClient {
  readonly #servers: readonly DnsServerAddress[];
  readonly #timeoutMs: number;
  readonly #tries: number;
  readonly #maxInFlight: number;
  readonly #rotate: boolean;
  readonly #maxAddresses: number;
  /** Every query's timeout on the wire, under one timer. */
  readonly #deadlines: DeadlineQueue<PendingQuery>;
  /** The socket that takes new queries, per server. */
  readonly #channels = new Map<DnsServerAddress, UdpChannel>();
  /** Retired sockets still waiting for answers; closed when their last query ends. */
  readonly #draining = new Set<UdpChannel>();
  /** Queries being asked over TCP (after a truncated answer). */
  readonly #overTcp = new Set<PendingQuery>();
  /** Queries waiting for a slot, oldest first from #waitingHead. */
  #waiting: PendingQuery[] = [];
  #waitingHead = 0;
  #inFlight = 0;
  #nextStart = 0;
  #closed = false;
  /**
   * Queries to send, flushed once per event-loop turn. Sent back to back, a burst wakes the
   * nameserver's process once instead of once per query: on a loaded machine a wake-up per
   * datagram cost ~20 µs of the sender's time, several times the send itself.
   */
  readonly outbox = new Outbox<PendingQuery>((query) => query.channel?.transmit(query));
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
    this.#deadlines = new DeadlineQueue(options.timeoutMs, (query) => this.#onTimeout(query));
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get waiting(): number {
    return this.#waiting.length - this.#waitingHead;
  }

  /** Never rejects. `wanted` is asked before the query is sent and before every retry. */
  query(name: string, type: RecordType, wanted: () => boolean = () => true): Promise<QueryOutcome> {
    if (this.#closed) return Promise.resolve(CLOSED);
    const packet = encodeQuery(name, type);
    if (packet === null) {
      return Promise.resolve({ kind: 'error', message: 'not a valid DNS name' });
    }
    return new Promise((resolve) => {
      const start = this.#rotate ? this.#nextStart++ % this.#servers.length : 0;
      const query: PendingQuery = {
        name,
        type,
        packet,
        done: resolve,
        wanted,
        tries: 0,
        start,
        lastRcode: null,
        lastError: null,
        id: 0,
        sentId: -1,
        channel: null,
        deadline: null,
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
    if (!query.wanted()) {
      this.#finish(query, UNWANTED);
      return;
    }
    const server = this.#serverOf(query);
    this.sent[query.type]++;
    this.#channelFor(server).add(query);
    query.deadline = this.#deadlines.add(query);
  }

  #channelFor(server: DnsServerAddress): UdpChannel {
    let channel = this.#channels.get(server);
    if (channel === undefined || channel.retired) {
      if (channel !== undefined) this.#retire(channel);
      channel = new UdpChannel(server, this);
      this.#channels.set(server, channel);
    }
    return channel;
  }

  #retire(channel: UdpChannel): void {
    if (channel.pending.size === 0) channel.close();
    else this.#draining.add(channel);
  }

  /** A datagram on one of our sockets: only the right id with the right question counts. */
  onMessage(channel: UdpChannel, message: Buffer): void {
    if (message.length < 12) return;
    const query = channel.pending.get(message.readUInt16BE(0));
    if (query === undefined) return;
    const response = decodeResponse(message);
    if (response === null) {
      this.#retry(query, null, 'undecodable DNS response');
      return;
    }
    // An answer to another question is not ours; keep waiting.
    if (!answersQuestion(response, query.name, query.type)) return;
    if (response.truncated) {
      this.#askOverTcp(query);
      return;
    }
    this.#conclude(query, response);
  }

  /** A socket that fails takes no more queries; its pending ones go to their next try now. */
  onBroken(channel: UdpChannel, error: Error): void {
    if (this.#channels.get(channel.server) === channel) this.#channels.delete(channel.server);
    channel.broken = true;
    const code = (error as NodeJS.ErrnoException).code ?? 'socket error';
    for (const query of [...channel.pending.values()]) {
      this.#retry(query, null, `DNS server unreachable (${code})`);
    }
    this.#retire(channel);
  }

  onSendFailed(query: PendingQuery, error: Error): void {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    this.#retry(query, null, `DNS query could not be sent (${code})`);
  }

  #askOverTcp(query: PendingQuery): void {
    const server = this.#serverOf(query);
    this.#detach(query);
    this.tcpFallbacks++;
    this.sent[query.type]++;
    this.#overTcp.add(query);
    // The TCP exchange has a timeout of its own: the UDP try was answered in time.
    queryOverTcp(server, query.packet, this.#timeoutMs).then((reply) => {
      // Ended meanwhile (the client closed): nothing more to do with it.
      if (!this.#overTcp.delete(query)) return;
      if (!reply.ok) {
        this.#retry(query, null, reply.timedOut ? null : reply.message);
        return;
      }
      const response = decodeResponse(reply.message);
      if (
        response === null ||
        response.id !== query.id ||
        !answersQuestion(response, query.name, query.type)
      ) {
        this.#retry(query, null, 'DNS response over TCP that does not answer the query');
        return;
      }
      this.#conclude(query, response);
    });
  }

  #conclude(query: PendingQuery, response: WireResponse): void {
    const outcome = readAnswer(response, query.name, query.type, this.#maxAddresses);
    if (outcome.kind === 'rcode' && RETRY_RCODES.has(outcome.rcode)) {
      this.#retry(query, outcome.rcode, null);
      return;
    }
    this.#finish(query, outcome);
  }

  #onTimeout(query: PendingQuery): void {
    query.deadline = null;
    this.#retry(query, null, null);
  }

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
    else if (query.lastError !== null) {
      this.#finish(query, { kind: 'error', message: query.lastError });
    } else {
      this.timeouts++;
      this.#finish(query, { kind: 'timeout', queriesSent: query.tries });
    }
  }

  /** Unhooks the query from its timer and socket, closing a retired socket it was the last on. */
  #detach(query: PendingQuery): void {
    if (query.deadline !== null) this.#deadlines.cancel(query.deadline);
    query.deadline = null;
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
    // Taken entries leave holes at the front; drop them once they are half the array.
    if (this.#waitingHead > 1024 && this.#waitingHead * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#waitingHead);
      this.#waitingHead = 0;
    }
  }

  /** Ends every query as an error and closes the sockets. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (let i = this.#waitingHead; i < this.#waiting.length; i++) this.#waiting[i]!.done(CLOSED);
    this.#waiting = [];
    this.#waitingHead = 0;
    for (const query of this.#overTcp) this.#finish(query, CLOSED);
    this.#overTcp.clear();
    const channels = [...this.#channels.values(), ...this.#draining];
    for (const channel of channels) {
      for (const query of [...channel.pending.values()]) this.#finish(query, CLOSED);
      channel.close();
    }
    this.#channels.clear();
    this.#draining.clear();
    this.#deadlines.clear();
  }
}
