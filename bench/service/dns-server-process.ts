// The names scenario's DNS server as a bench process: bench/service/delayed_dns.c compiled
// with the machine's cc (bench/service/dns-server.ts when there is none), started through ChildSet on
// 127.0.0.1:53 of the bench's network namespace, asked for its query counts over stdin before
// and after each run, and measured from /proc like the targets.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { builtBenchScript } from '../shared/bench-env.js';
import {
  type ChildSet,
  compileCProgram,
  processCpuSeconds,
  readyPort,
} from '../shared/bench-processes.js';

const countsWithinMs = 5_000;
/** Both servers count every name outside hN/wN.example under this key. */
const otherName = '(other)';

const DnsCounts = z.object({
  total: z.number(),
  malformed: z.number(),
  /** Answers sent early because the C server's ring of pending answers was full. */
  ringFull: z.number(),
  sendErrors: z.number(),
  byType: z.record(z.string(), z.number()),
  byName: z.record(z.string(), z.number()),
  udpReceiveBufferErrors: z.number().nullable(),
});
export type DnsCounts = z.infer<typeof DnsCounts>;

/** What the DNS server saw during one run: the difference of two counts, and its CPU. */
export interface DnsWindow {
  queries: number;
  byType: Record<string, number>;
  /** Distinct zone names (hN/wN.example) asked during the run, and the most queries one got. */
  namesAsked: number;
  maxPerName: number;
  /** Queries for names outside the zone's hN/wN (NXDOMAIN). */
  otherNames: number;
  /** Queries per zone name, when asked for (the few-names load; 10,000 entries otherwise). */
  byName: Record<string, number> | undefined;
  /**
   * Queries that got no answer: datagrams the namespace dropped for a full receive buffer
   * (undefined when /proc does not say) plus failed sends.
   */
  lost: number | undefined;
  /** Answers sent before the delay because the ring was full (never seen at these loads). */
  early: number;
  cpuS: number | undefined;
}

function difference(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const changed: Record<string, number> = {};
  for (const [key, count] of Object.entries(after)) {
    const delta = count - (before[key] ?? 0);
    if (delta > 0) changed[key] = delta;
  }
  return changed;
}

export class DnsServer {
  readonly pid: number;
  /** The UDP port it answers on, on 127.0.0.1. */
  readonly port: number;
  readonly delayMs: number;
  /** `c` (bench/service/delayed_dns.c) or `node` (bench/service/dns-server.ts). */
  readonly kind: 'c' | 'node';
  readonly #child: ChildProcess;
  readonly #waiting: ((line: string) => void)[] = [];

  constructor(
    child: ChildProcess,
    pid: number,
    port: number,
    delayMs: number,
    kind: DnsServer['kind'],
  ) {
    this.#child = child;
    this.pid = pid;
    this.port = port;
    this.delayMs = delayMs;
    this.kind = kind;
    if (child.stdout) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.startsWith('counts ')) this.#waiting.shift()?.(line.slice('counts '.length));
      });
    }
  }

  /** The server's counts so far; it answers requests in order, one line each. */
  counts(): Promise<DnsCounts> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`DNS server gave no counts within ${countsWithinMs} ms`)),
        countsWithinMs,
      );
      this.#waiting.push((json) => {
        clearTimeout(timer);
        try {
          resolve(DnsCounts.parse(JSON.parse(json)));
        } catch (err) {
          reject(err);
        }
      });
      this.#child.stdin?.write('counts\n');
    });
  }

  /** Runs `work` and returns what the server saw meanwhile beside its result. */
  async during<T>(work: () => Promise<T>, perName = false): Promise<{ result: T; dns: DnsWindow }> {
    const before = await this.counts();
    const cpuBefore = processCpuSeconds(this.pid);
    const result = await work();
    const cpuAfter = processCpuSeconds(this.pid);
    const after = await this.counts();
    const sendErrors = after.sendErrors - before.sendErrors;
    const lost =
      before.udpReceiveBufferErrors === null || after.udpReceiveBufferErrors === null
        ? undefined
        : after.udpReceiveBufferErrors - before.udpReceiveBufferErrors + sendErrors;
    const { [otherName]: other, ...byName } = difference(before.byName, after.byName);
    const perNameCounts = Object.values(byName);
    return {
      result,
      dns: {
        queries: after.total - before.total,
        byType: difference(before.byType, after.byType),
        namesAsked: perNameCounts.length,
        maxPerName: perNameCounts.reduce((most, count) => Math.max(most, count), 0),
        otherNames: other ?? 0,
        byName: perName ? byName : undefined,
        lost,
        early: after.ringFull - before.ringFull,
        cpuS: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
      },
    };
  }
}

/**
 * Starts the DNS server on 127.0.0.1, port 53 by default (the names scenario's namespace has
 * its resolv.conf point there); 0 picks a free port.
 */
export async function startDnsServer(
  children: ChildSet,
  root: string,
  stateDir: string,
  delayMs: number,
  maxSeconds: number,
  port = 53,
): Promise<DnsServer> {
  const args = [
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--delay-ms',
    String(delayMs),
    '--max-seconds',
    String(maxSeconds),
  ];
  const binary = compileCProgram(root, stateDir, 'service/delayed_dns.c');
  const [command, argv]: [string, string[]] =
    binary === undefined
      ? [process.execPath, [builtBenchScript(root, 'service/dns-server.js'), ...args]]
      : [binary, args];
  const child = children.spawn(command, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
  const listening = await readyPort(child, 'DNS server');
  if (child.pid === undefined) throw new Error('DNS server has no pid');
  return new DnsServer(child, child.pid, listening, delayMs, binary === undefined ? 'node' : 'c');
}

/** What the names tables say about the DNS server they were measured against. */
export function describeDnsServer(dns: DnsServer): string {
  return dns.kind === 'c'
    ? `DNS server: bench/service/delayed_dns.c (epoll + timerfd), answers after ${dns.delayMs} ms`
    : `**DNS server: the Node dns-server.ts (no C compiler found), answers after ${dns.delayMs} ` +
        'ms; its ~18 µs of CPU per query shares the two cores with the clients**';
}
