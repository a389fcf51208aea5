// Loopback DNS server for the names scenario, a stand-in for a slow recursive resolver: the
// Node twin of bench/service/delayed_dns.c (same answers, same control lines), used when there
// is no C compiler. It costs ~18 us of CPU per query, ~3.5x the C server, on the cores the
// service and the target share.
//   node dist-bench/bench/service/dns-server.js [--host H] [--port P] [--delay-ms D] [--ttl S] [--max-seconds S]
// `hN.example` and `wN.example` (N < 64,516) have one A record, 127.0.A.B as in url-lists.ts,
// so each name is its own destination; their AAAA (or any other type) is NODATA and any other
// name NXDOMAIN, both with an SOA whose minimum gives negative answers the same TTL. Every
// answer leaves --delay-ms after its query arrived, never sooner. Prints `ready PORT`; each
// `counts` line on stdin is answered with `counts {JSON}` (queries so far by type and by name,
// other names together as `(other)`, and the UDP receive-buffer drops of this network
// namespace). Exits on stdin EOF (the bench holds it open), SIGTERM/SIGINT, or after
// --max-seconds.
import * as dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import * as packet from 'dns-packet';
import { hostAddress, maxHosts } from '../shared/url-lists.js';

const zone = 'example';
const knownName = /^[hw](\d+)\.example$/;
const noError = 0;
const nxDomain = 3;
// Large enough for a burst of thousands of queries while the loop is busy (capped by rmem_max).
const receiveBufferBytes = 4 * 1024 * 1024;

interface ServerOptions {
  host: string;
  port: number;
  delayMs: number;
  ttl: number;
  maxSeconds: number;
}

function parseOptions(argv: string[]): ServerOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '53' },
      'delay-ms': { type: 'string', default: '20' },
      ttl: { type: 'string', default: '300' },
      'max-seconds': { type: 'string', default: '1800' },
    },
  });
  const options = {
    host: values.host,
    port: Number(values.port),
    delayMs: Number(values['delay-ms']),
    ttl: Number(values.ttl),
    maxSeconds: Number(values['max-seconds']),
  };
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new Error('--port: 0..65535');
  }
  if (!Number.isFinite(options.delayMs) || options.delayMs < 0) throw new Error('--delay-ms: >= 0');
  if (!Number.isInteger(options.ttl) || options.ttl < 0) throw new Error('--ttl: an integer >= 0');
  if (!Number.isFinite(options.maxSeconds) || options.maxSeconds <= 0) {
    throw new Error('--max-seconds: > 0');
  }
  return options;
}

/** The A record's address of a name of the zone, or undefined for a name that does not exist. */
function addressOf(name: string): string | undefined {
  const index = knownName.exec(name)?.[1];
  if (index === undefined) return undefined;
  const n = Number(index);
  return n < maxHosts && String(n) === index ? hostAddress(n) : undefined;
}

function answer(query: packet.Packet, ttl: number): Buffer {
  const question = query.questions?.[0];
  const flags = packet.AUTHORITATIVE_ANSWER | packet.RECURSION_AVAILABLE;
  const soa: packet.Answer = {
    type: 'SOA',
    name: zone,
    ttl,
    data: {
      mname: `ns.${zone}`,
      rname: `hostmaster.${zone}`,
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: ttl,
    },
  };
  // dns-packet encodes the RCODE only as the low four bits of `flags`; RD echoes the query's.
  const reply = (rcode: number, answers: packet.Answer[]) =>
    packet.encode({
      type: 'response',
      id: query.id ?? 0,
      flags: flags | ((query.flags ?? 0) & packet.RECURSION_DESIRED) | rcode,
      questions: query.questions ?? [],
      answers,
      authorities: answers.length === 0 ? [soa] : [],
    });
  if (question === undefined) return reply(noError, []);
  const name = question.name.toLowerCase();
  const address = addressOf(name);
  if (address === undefined) return reply(name === zone ? noError : nxDomain, []);
  if (question.type !== 'A') return reply(noError, []);
  return reply(noError, [{ type: 'A', name: question.name, ttl, data: address }]);
}

/** UDP datagrams this network namespace dropped for want of receive buffer (/proc/net/snmp). */
function udpReceiveBufferErrors(): number | undefined {
  try {
    const rows = readFileSync('/proc/self/net/snmp', 'utf8')
      .split('\n')
      .filter((row) => row.startsWith('Udp:'));
    const [names, values] = rows.map((row) => row.trim().split(/\s+/));
    const at = names?.indexOf('RcvbufErrors') ?? -1;
    return at < 0 ? undefined : Number(values?.[at]);
  } catch {
    return undefined;
  }
}

interface Pending {
  due: number;
  reply: Buffer;
  port: number;
  address: string;
}

function main(): void {
  const options = parseOptions(process.argv.slice(2));
  const byType = new Map<string, number>();
  const byName = new Map<string, number>();
  let total = 0;
  let malformed = 0;
  let sendErrors = 0;
  // Every answer waits the same delay, so answers fall due in arrival order: a FIFO and one
  // timer for its head, instead of a timer per query.
  const queue: Pending[] = [];
  let head = 0;
  let timer: NodeJS.Timeout | undefined;

  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: receiveBufferBytes });
  const flush = () => {
    timer = undefined;
    const now = performance.now();
    while (head < queue.length && queue[head]!.due <= now) {
      const due = queue[head++]!;
      socket.send(due.reply, due.port, due.address, (err) => {
        if (err) sendErrors++;
      });
    }
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    } else {
      schedule();
    }
  };
  // libuv timers may fire up to ~1 ms early; a late re-check keeps every answer at or past due.
  const schedule = () => {
    const next = queue[head];
    if (timer !== undefined || next === undefined) return;
    timer = setTimeout(flush, Math.max(1, Math.ceil(next.due - performance.now())));
  };

  socket.on('message', (message, remote) => {
    const arrived = performance.now();
    let query: packet.Packet;
    try {
      query = packet.decode(message);
    } catch {
      malformed++;
      return;
    }
    if (query.type === 'response') {
      malformed++;
      return;
    }
    total++;
    const question = query.questions?.[0];
    if (question !== undefined) {
      byType.set(question.type, (byType.get(question.type) ?? 0) + 1);
      const name = question.name.toLowerCase();
      const counted = addressOf(name) === undefined ? '(other)' : name;
      byName.set(counted, (byName.get(counted) ?? 0) + 1);
    }
    queue.push({
      due: arrived + options.delayMs,
      reply: answer(query, options.ttl),
      port: remote.port,
      address: remote.address,
    });
    schedule();
  });

  const stop = (code: number) => {
    socket.close();
    process.exit(code);
  };
  socket.on('error', (err) => {
    process.stderr.write(`dns-server: ${err.message}\n`);
    stop(1);
  });
  socket.bind(options.port, options.host, () => {
    process.stdout.write(`ready ${socket.address().port}\n`);
  });
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      if (line.trim() !== 'counts') return;
      const counts = {
        total,
        malformed,
        ringFull: 0,
        sendErrors,
        byType: Object.fromEntries(byType),
        byName: Object.fromEntries(byName),
        udpReceiveBufferErrors: udpReceiveBufferErrors() ?? null,
      };
      process.stdout.write(`counts ${JSON.stringify(counts)}\n`);
    })
    .on('close', () => stop(0));
  setTimeout(() => stop(0), options.maxSeconds * 1000).unref();
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
}

main();
