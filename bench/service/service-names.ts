// Scenario 7, names: scenario 1's job with host names instead of IP literals, resolved the way
// the service resolves by default (the system resolver, here the namespace's resolv.conf) by a
// DNS server that answers after --dns-delay-ms. Two loads: N distinct names, and N URLs over
// a few names; in the same namespace and rep, the IP-literal job for the ratio, and the peers
// on the same name lists. Every run records what the DNS server saw while it ran.

import { median, percentile, type RunRecord } from '../shared/bench-report.js';
import type { ContenderName } from '../shared/contenders.js';
import {
  type PeerContext,
  type PeerInputs,
  type PeerSelection,
  runPeer,
  selectPeers,
  writePeerInputs,
} from '../shared/peer-runs.js';
import { maxHosts } from '../shared/url-lists.js';
import { type DnsServer, type DnsWindow, startDnsServer } from './dns-server-process.js';
import { emptyTally } from './service-client.js';
import {
  type Running,
  type ServiceBenchContext,
  type ServiceRun,
  singleJob,
  targetsFor,
  withService,
} from './service-scenarios.js';

export const namesLoads = ['ip', 'distinct', 'spread'] as const;
export type NamesLoad = (typeof namesLoads)[number];
/** The loads with names, which the peers run too. */
export const nameLoads = ['distinct', 'spread'] as const;
export type NameLoad = (typeof nameLoads)[number];

/** The peers that resolve names the way a user's tool would; the others take IPs only. */
const namesPeers: readonly ContenderName[] = [
  'curl-chunked',
  'py-asyncio-wget',
  'py-asyncio-wget+uvloop',
];

export interface NamesServiceRun {
  load: NamesLoad;
  rep: number;
  run: ServiceRun;
  dns: DnsWindow;
  /** `timing.namelookup` over the results that have one (a failed lookup has none). */
  namelookup: { samples: number; medianMs: number | undefined; p99Ms: number | undefined };
  /** `dns.source` of each result (`absent` when the service does not report it). */
  sources: Record<string, number>;
  /** Error codes of the results that were not a 200 (dns_timeout among them). */
  errorCodes: Record<string, number>;
}

export interface NamesPeerRun {
  load: NameLoad;
  rep: number;
  record: RunRecord;
  dns: DnsWindow;
}

export interface NamesSetup {
  readonly dns: DnsServer;
  readonly peers: PeerSelection;
  readonly inputs: Readonly<Record<NameLoad, PeerInputs>>;
  readonly targets: Readonly<Record<NamesLoad | 'warmup', readonly string[]>>;
}

/** `hN.example:PORT`, offset ≤ N < offset + count: every target a name of its own. */
function distinctNameTargets(count: number, port: number, offset = 0): string[] {
  return Array.from({ length: count }, (_, i) => `h${offset + i}.example:${port}`);
}

/**
 * `http://wK.example:PORT/pathN` with K = N mod spread: round robin, so the first C targets in
 * flight already ask for every name at once, which a resolver that merges concurrent lookups
 * of one name answers with one query each.
 */
function spreadNameUrls(count: number, spread: number, port: number): string[] {
  return Array.from({ length: count }, (_, i) => `http://w${i % spread}.example:${port}/path${i}`);
}

/**
 * The warm-up job of every names load: half IP literals, half names no load asks for
 * (`hN.example`, N from the distinct load's N up). Warmed on IP literals alone, the resolver's
 * code was cold in the first measured job of names and the probe's was trained on results
 * without DNS facts: on 2026-12-04 that cost a fresh service ~1 s of CPU per 10,000 names
 * over a second job of new names in the same process (bench/README.md, Names).
 */
export function namesWarmup(count: number, n: number): { ip: number; names: number } {
  const names = Math.min(Math.floor(count / 2), Math.max(0, maxHosts - n));
  return { ip: count - names, names };
}

function namesWarmupTargets(count: number, n: number, port: number): string[] {
  const { ip, names } = namesWarmup(count, n);
  return [...targetsFor(ip, port), ...distinctNameTargets(names, port, n)];
}

/** Starts the DNS server and writes every load's lists; only inside the bench namespace. */
export async function prepareNames(
  ctx: ServiceBenchContext,
  peerCtx: PeerContext,
): Promise<NamesSetup> {
  const { options } = ctx;
  const dns = await startDnsServer(
    ctx.children,
    ctx.root,
    peerCtx.stateDir,
    options.dnsDelayMs,
    options.benchMaxS + 30,
  );
  ctx.log(`names: DNS server (${dns.kind}) pid ${dns.pid} on 127.0.0.1:53`);
  const port = ctx.fast.port;
  const targets = {
    warmup: namesWarmupTargets(options.warmup, options.n, port),
    ip: targetsFor(options.n, port),
    distinct: distinctNameTargets(options.n, port),
    spread: spreadNameUrls(options.n, options.namesSpread, port),
  };
  const wanted = options.peers.filter((name) => namesPeers.includes(name));
  return {
    dns,
    peers: selectPeers(peerCtx, wanted),
    inputs: {
      distinct: await writePeerInputs(
        peerCtx,
        targets.distinct.map((t) => `http://${t}/`),
        options.curlChunk,
        'names-distinct',
      ),
      spread: await writePeerInputs(peerCtx, targets.spread, options.curlChunk, 'names-spread'),
    },
    targets,
  };
}

function countsOf(counts: ReadonlyMap<string, number>): Record<string, number> {
  return Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b)));
}

function dnsText(dns: DnsWindow): string {
  const types = Object.entries(dns.byType).map(([type, count]) => `${type} ${count}`);
  return `${dns.queries} queries${types.length ? ` (${types.join(', ')})` : ''}`;
}

async function serviceRun(
  ctx: ServiceBenchContext,
  setup: NamesSetup,
  load: NamesLoad,
  rep: number,
): Promise<NamesServiceRun> {
  return withService(
    ctx,
    `names-${load}.${rep}`,
    (running) => measuredRun(ctx, setup, load, rep, running),
    setup.targets.warmup,
  );
}

async function measuredRun(
  ctx: ServiceBenchContext,
  setup: NamesSetup,
  load: NamesLoad,
  rep: number,
  running: Running,
): Promise<NamesServiceRun> {
  const tally = emptyTally(true);
  const { result: run, dns } = await setup.dns.during(
    () =>
      singleJob(
        ctx,
        running,
        ctx.fast,
        `names-${load}`,
        rep,
        setup.targets[load],
        ctx.options.c,
        false,
        tally,
      ),
    load === 'spread',
  );
  const lookups = tally.names?.namelookups ?? [];
  const result: NamesServiceRun = {
    load,
    rep,
    run,
    dns,
    namelookup: {
      samples: lookups.length,
      medianMs: lookups.length ? median(lookups) : undefined,
      p99Ms: lookups.length ? percentile(lookups, 99) : undefined,
    },
    sources: countsOf(tally.names?.sources ?? new Map()),
    errorCodes: countsOf(tally.errors),
  };
  ctx.log(
    `${`names-${load}`.padEnd(22)} rep ${rep}  dns: ${dnsText(dns)}, lost ${dns.lost ?? '?'}, ` +
      `server CPU ${dns.cpuS?.toFixed(2) ?? '-'} s; namelookup median ` +
      `${result.namelookup.medianMs?.toFixed(1) ?? '-'} p99 ${result.namelookup.p99Ms?.toFixed(1) ?? '-'} ms ` +
      `(${lookups.length}); dns.source ${JSON.stringify(result.sources)}; errors ${run.errors}`,
  );
  return result;
}

/**
 * One rep, interleaved like scenario 1: the service on the IP literals, on the distinct
 * names and on the spread names (a fresh service each, so no cache carries over), then every
 * peer on both name loads.
 */
export async function runNamesRep(
  ctx: ServiceBenchContext,
  peerCtx: PeerContext,
  setup: NamesSetup,
  rep: number,
  settle: () => Promise<void>,
): Promise<{ service: NamesServiceRun[]; peers: NamesPeerRun[] }> {
  const service: NamesServiceRun[] = [];
  for (const load of namesLoads) {
    await settle();
    service.push(await serviceRun(ctx, setup, load, rep));
  }
  const peers: NamesPeerRun[] = [];
  for (const contender of setup.peers.selected) {
    for (const load of nameLoads) {
      await settle();
      const { result: record, dns } = await setup.dns.during(
        () => runPeer(peerCtx, setup.inputs[load], contender, rep, ctx.options.c, ctx.fast),
        load === 'spread',
      );
      ctx.log(
        `${`${contender.name}.names-${load}`.padEnd(22)} rep ${rep}  dns: ${dnsText(dns)}, ` +
          `lost ${dns.lost ?? '?'}, server CPU ${dns.cpuS?.toFixed(2) ?? '-'} s`,
      );
      peers.push({ load, rep, record, dns });
    }
  }
  return { service, peers };
}
