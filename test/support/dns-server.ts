// Loopback DNS server for resolver tests: answers A/AAAA (and CNAME chains) from a fixed zone
// over UDP and TCP, and can be told to fail with an rcode, stay silent, answer late, or
// truncate its UDP answers, so every path of a stub resolver is reproducible offline.
import { createSocket, type RemoteInfo } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { Answer, DecodedPacket, Question } from 'dns-packet';
import dnsPacket from 'dns-packet';

export interface DnsZoneEntry {
  A?: string[];
  AAAA?: string[];
  /** An alias: the answer is this CNAME, then the target's records when the zone has them. */
  CNAME?: string;
  /** TTL of this entry's records (default 60 s). */
  ttl?: number;
  /** Never answered: the client's only way out is its own timeout. */
  silent?: boolean;
  servfail?: boolean;
  refused?: boolean;
  /** UDP answers come back empty with TC set; the full answer only over TCP. */
  truncate?: boolean;
  /** Answered this long after the question arrived. */
  delayMs?: number;
}

/** Keys are names without the trailing dot, matched case-insensitively. */
export type DnsZone = Record<string, DnsZoneEntry>;

export interface DnsQuery {
  /** Lower-cased and without a trailing dot, so tests compare against zone keys. */
  readonly name: string;
  readonly type: string;
  readonly transport: 'udp' | 'tcp';
}

export interface DnsServerOptions {
  host?: string;
  /** Bind this port (53 inside a test's own network namespace); 0 picks a free one. */
  port?: number;
  /** Delay for every answer, unless the entry has its own. */
  delayMs?: number;
  /** SOA TTL and MINIMUM sent with negative answers (RFC 2308); default 60. */
  negativeTtl?: number;
}

export interface DnsServerHandle {
  readonly host: string;
  readonly port: number;
  /** `host:port` (`[host]:port` for IPv6), the form HEADPROBE_DNS_SERVERS takes. */
  readonly server: string;
  /** Every question received, answered or not, in arrival order. */
  readonly queries: DnsQuery[];
  close(): Promise<void>;
}

const defaultTtl = 60;
const rcodes = { noError: 0, servFail: 2, nxDomain: 3, refused: 5 } as const;
const maxChain = 8;

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** The answer records for a question, following CNAMEs through the zone. */
function answersFor(
  zone: ReadonlyMap<string, DnsZoneEntry>,
  question: Question,
): { answers: Answer[]; exists: boolean } {
  const answers: Answer[] = [];
  // Echo the name as asked: resolvers compare it with their question.
  let owner = question.name;
  let entry = zone.get(normalizeName(owner));
  const exists = entry !== undefined;
  for (let hop = 0; entry?.CNAME !== undefined && hop < maxChain; hop++) {
    answers.push({
      type: 'CNAME',
      class: 'IN',
      name: owner,
      ttl: entry.ttl ?? defaultTtl,
      data: entry.CNAME,
    });
    owner = entry.CNAME;
    entry = zone.get(normalizeName(owner));
  }
  const type = question.type;
  if (entry !== undefined && (type === 'A' || type === 'AAAA')) {
    for (const address of entry[type] ?? []) {
      answers.push({ type, class: 'IN', name: owner, ttl: entry.ttl ?? defaultTtl, data: address });
    }
  }
  return { answers, exists };
}

/** The reply to one query, or undefined when the zone says to stay silent. */
function reply(
  zone: ReadonlyMap<string, DnsZoneEntry>,
  query: DecodedPacket,
  transport: 'udp' | 'tcp',
  negativeTtl: number,
): Buffer | undefined {
  const question = query.questions?.[0];
  const entry = question ? zone.get(normalizeName(question.name)) : undefined;
  if (entry?.silent) return undefined;
  let rcode: number = rcodes.noError;
  let answers: Answer[] = [];
  let truncated = false;
  if (!question) rcode = rcodes.nxDomain;
  else if (entry?.servfail) rcode = rcodes.servFail;
  else if (entry?.refused) rcode = rcodes.refused;
  else if (entry?.truncate && transport === 'udp') truncated = true;
  else {
    const found = answersFor(zone, question);
    answers = found.answers;
    if (!found.exists) rcode = rcodes.nxDomain;
  }
  const negative = rcode === rcodes.nxDomain || (rcode === rcodes.noError && answers.length === 0);
  return dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    // dns-packet carries the rcode in the low four bits of the flags.
    flags:
      dnsPacket.AUTHORITATIVE_ANSWER |
      ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) |
      dnsPacket.RECURSION_AVAILABLE |
      (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0) |
      rcode,
    questions: question ? [question] : [],
    answers,
    authorities:
      negative && !truncated
        ? [
            {
              type: 'SOA',
              class: 'IN',
              name: 'test',
              ttl: negativeTtl,
              data: {
                mname: 'ns.test',
                rname: 'hostmaster.test',
                serial: 1,
                refresh: 3600,
                retry: 600,
                expire: 86400,
                minimum: negativeTtl,
              },
            },
          ]
        : [],
  });
}

function decodeQuery(message: Buffer): DecodedPacket | undefined {
  try {
    const packet = dnsPacket.decode(message);
    return packet.type === 'query' ? packet : undefined;
  } catch {
    // Garbage on the wire is a test input too; it just gets no reply.
    return undefined;
  }
}

export async function startDnsServer(
  zone: DnsZone,
  options: DnsServerOptions = {},
): Promise<DnsServerHandle> {
  // The TCP listener takes the UDP socket's port, which another process may hold for TCP.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(zone, options);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EADDRINUSE' || options.port || attempt === 5) throw error;
    }
  }
}

async function startOnce(zone: DnsZone, options: DnsServerOptions): Promise<DnsServerHandle> {
  const host = options.host ?? '127.0.0.1';
  const negativeTtl = options.negativeTtl ?? 60;
  const entries = new Map(
    Object.entries(zone).map(([name, entry]) => [normalizeName(name), entry]),
  );
  const queries: DnsQuery[] = [];
  const timers = new Set<NodeJS.Timeout>();

  /** Records the question and hands the reply to `send`, after the entry's delay. */
  const handle = (message: Buffer, transport: 'udp' | 'tcp', send: (b: Buffer) => void) => {
    const query = decodeQuery(message);
    if (!query) return;
    for (const question of query.questions ?? []) {
      queries.push({ name: normalizeName(question.name), type: question.type, transport });
    }
    const response = reply(entries, query, transport, negativeTtl);
    if (!response) return;
    const name = query.questions?.[0]?.name;
    const entry = name === undefined ? undefined : entries.get(normalizeName(name));
    const delay = entry?.delayMs ?? options.delayMs ?? 0;
    if (delay === 0) {
      send(response);
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      send(response);
    }, delay);
    timers.add(timer);
  };

  const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  udp.on('message', (message: Buffer, from: RemoteInfo) => {
    // A client that already gave up is not this server's problem.
    handle(message, 'udp', (response) => udp.send(response, from.port, from.address, () => {}));
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind({ address: host, port: options.port ?? 0 }, () => {
      udp.off('error', reject);
      resolve();
    });
  });
  // After binding, errors (e.g. ICMP port unreachable) must not crash the test run.
  udp.on('error', () => {});
  const { port } = udp.address();

  const connections = new Set<Socket>();
  const tcp: Server = createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const message = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + message.length);
        handle(message, 'tcp', (response) => {
          const length = Buffer.alloc(2);
          length.writeUInt16BE(response.length, 0);
          if (!socket.destroyed) socket.write(Buffer.concat([length, response]));
        });
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host, port }, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    server: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    queries,
    close() {
      closing ??= (async () => {
        for (const timer of timers) clearTimeout(timer);
        for (const socket of connections) socket.destroy();
        await Promise.all([
          new Promise<void>((resolve) => udp.close(() => resolve())),
          new Promise<void>((resolve) => tcp.close(() => resolve())),
        ]);
      })();
      return closing;
    },
  };
}
