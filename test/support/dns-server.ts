// Loopback UDP DNS server for resolver tests: answers A/AAAA from a fixed zone, and can be
// told to fail or stay silent, so every rcode and the timeout path are reproducible offline.
import { createSocket, type RemoteInfo } from 'node:dgram';
import type { Answer, DecodedPacket, Question } from 'dns-packet';
import dnsPacket from 'dns-packet';

export interface DnsZoneEntry {
  A?: string[];
  AAAA?: string[];
  /** Never answered: the client's only way out is its own timeout. */
  silent?: boolean;
  servfail?: boolean;
}

/** Keys are names without the trailing dot, matched case-insensitively. */
export type DnsZone = Record<string, DnsZoneEntry>;

export interface DnsQuery {
  /** Lower-cased and without a trailing dot, so tests compare against zone keys. */
  readonly name: string;
  readonly type: string;
}

export interface DnsServerHandle {
  readonly host: string;
  readonly port: number;
  /** `host:port` (`[host]:port` for IPv6), the form `dns.Resolver#setServers` accepts. */
  readonly server: string;
  /** Every question received, answered or not, in arrival order. */
  readonly queries: DnsQuery[];
  close(): Promise<void>;
}

const ttl = 60;
const rcodeNoError = 0;
const rcodeServFail = 2;
const rcodeNxDomain = 3;

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function answersFor(entry: DnsZoneEntry, question: Question): Answer[] {
  const type = question.type;
  if (type !== 'A' && type !== 'AAAA') return [];
  return (entry[type] ?? []).map((address) => ({
    type,
    class: 'IN' as const,
    // Echo the name as asked: resolvers compare it with their question byte for byte.
    name: question.name,
    ttl,
    data: address,
  }));
}

/** The reply for one query, or undefined when the zone says to stay silent. */
function reply(zone: ReadonlyMap<string, DnsZoneEntry>, query: DecodedPacket): Buffer | undefined {
  const question = query.questions?.[0];
  const entry = question ? zone.get(normalizeName(question.name)) : undefined;
  if (entry?.silent) return undefined;
  let rcode = rcodeNoError;
  let answers: Answer[] = [];
  if (!question || !entry) rcode = rcodeNxDomain;
  else if (entry.servfail) rcode = rcodeServFail;
  else answers = answersFor(entry, question);
  return dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    // dns-packet carries the rcode in the low four bits of the flags.
    flags:
      dnsPacket.AUTHORITATIVE_ANSWER |
      ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) |
      dnsPacket.RECURSION_AVAILABLE |
      rcode,
    questions: question ? [question] : [],
    answers,
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
  options: { host?: string } = {},
): Promise<DnsServerHandle> {
  const host = options.host ?? '127.0.0.1';
  const entries = new Map(
    Object.entries(zone).map(([name, entry]) => [normalizeName(name), entry]),
  );
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const queries: DnsQuery[] = [];

  socket.on('message', (message: Buffer, from: RemoteInfo) => {
    const query = decodeQuery(message);
    if (!query) return;
    for (const question of query.questions ?? []) {
      queries.push({ name: normalizeName(question.name), type: question.type });
    }
    const response = reply(entries, query);
    // A client that already gave up is not this server's problem.
    if (response) socket.send(response, from.port, from.address, () => {});
  });

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: host, port: 0 }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // After binding, errors (e.g. ICMP port unreachable) must not crash the test run.
  socket.on('error', () => {});

  const { port } = socket.address();
  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    server: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    queries,
    close() {
      closing ??= new Promise<void>((resolve) => socket.close(() => resolve()));
      return closing;
    },
  };
}
