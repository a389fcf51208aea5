// What the name look-ahead gains where it can: a job of distinct names whose targets are far
// away (they answer after --target-delay-ms) at modest concurrency, so the run is bound by
// latency, not CPU, and every millisecond a target waits for its name is a millisecond its
// slot is idle. The job runner and probe run in this process, as a worker would run them;
// the DNS server (bench/service/delayed_dns.c, answering after --dns-delay-ms) and the target
// (bench/shared/precise_target.c) are processes of their own. Each rep runs the job twice,
// interleaved, with a fresh resolver each: with the look-ahead (the default) and without it
// (`dnsCache: false`, which turns it off; on distinct names the cache has nothing else to
// give, each name is asked for once either way).
//   npm run bench:lookahead -- [--n 3000] [--concurrency 100] [--target-delay-ms 50]
//                              [--dns-delay-ms 20] [--reps 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { JobRunner } from '../../src/jobs/job-runner.js';
import { MemoryJobStore } from '../../src/jobs/memory-job-store.js';
import { createDnsResolver, parseResolvConf } from '../../src/probe/dns/index.js';
import { JobOptions } from '../../src/schemas/job.js';
import type { ProbeResult } from '../../src/schemas/probe-result.js';
import {
  type DnsServer,
  describeDnsServer,
  startDnsServer,
} from '../service/dns-server-process.js';
import { findRoot, log } from '../shared/bench-env.js';
import {
  describeTarget,
  startDelayedTarget,
  superviseChildren,
} from '../shared/bench-processes.js';
import { median, percentile } from '../shared/bench-report.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '100' },
    'target-delay-ms': { type: 'string', default: '50' },
    'dns-delay-ms': { type: 'string', default: '20' },
    reps: { type: 'string', default: '3' },
  },
});
const N = Number(values.n);
const C = Number(values.concurrency);
const targetDelayMs = Number(values['target-delay-ms']);
const dnsDelayMs = Number(values['dns-delay-ms']);
const reps = Number(values.reps);

const variants = { lookahead: true, 'no look-ahead': false } as const;
type Variant = keyof typeof variants;

interface Run {
  hostsPerS: number;
  ok: number;
  queries: number;
  namelookupP50: number;
  namelookupP99: number;
  totalP50: number;
  fromCache: number;
}

async function runOnce(dns: DnsServer, port: number, useCache: boolean, id: string): Promise<Run> {
  const resolver = createDnsResolver({
    resolvConf: parseResolvConf(''),
    hosts: new Map(),
    servers: [`127.0.0.1:${dns.port}`],
  });
  const store = new MemoryJobStore({ maxJobs: 4, retentionMs: 600_000 });
  const runner = new JobRunner({ store, resolver, concurrency: C });
  await runner.start();
  const job = await store.create({
    id,
    createdAt: Date.now(),
    options: JobOptions.parse({
      timeoutMs: 30_000,
      dnsCache: useCache,
      concurrency: C,
      concurrencyPerDestination: C,
    }),
    // hN.example answers 127.0.A.B: every target its own name and its own destination.
    targets: Array.from({ length: N }, (_, i) => `h${i}.example:${port}`),
    caller: 'bench',
    owner: null,
    idempotencyKey: null,
    requestHash: null,
  });
  const { result: wallS, dns: window } = await dns.during(async () => {
    const start = performance.now();
    await runner.run(job);
    return (performance.now() - start) / 1000;
  });
  const results = (await store.resultsAfter(id, 0, N)).map(
    (stored) => JSON.parse(stored.json) as ProbeResult,
  );
  await runner.close();
  await resolver.close?.();
  const lookups = results.flatMap((r) => (r.ok ? [r.timing.namelookup ?? 0] : []));
  const totals = results.flatMap((r) => (r.ok ? [r.timing.total ?? 0] : []));
  return {
    hostsPerS: N / wallS,
    ok: results.filter((r) => r.ok).length,
    queries: window.queries,
    namelookupP50: median(lookups),
    namelookupP99: percentile(lookups, 99),
    totalP50: median(totals),
    fromCache: results.filter((r) => r.dns?.source === 'cache').length,
  };
}

async function main(): Promise<void> {
  const root = findRoot(path.dirname(new URL(import.meta.url).pathname));
  const stateDir = mkdtempSync(path.join(tmpdir(), 'headprobe-lookahead-'));
  const { children, hardStop } = superviseChildren(1800, log);
  try {
    const target = await startDelayedTarget(children, root, stateDir, targetDelayMs, 1800);
    const dns = await startDnsServer(children, root, stateDir, dnsDelayMs, 1800, 0);
    const runs: Record<Variant, Run[]> = { lookahead: [], 'no look-ahead': [] };
    for (let rep = 1; rep <= reps; rep++) {
      for (const [variant, useCache] of Object.entries(variants) as [Variant, boolean][]) {
        const run = await runOnce(dns, target.port, useCache, `${variant}-${rep}`);
        runs[variant].push(run);
        log(`rep ${rep} ${variant}: ${run.hostsPerS.toFixed(0)} hosts/s, ok ${run.ok}/${N}`);
      }
    }
    console.log(
      `\n### Name look-ahead: N=${N} distinct names, C=${C}, target answers after ` +
        `${targetDelayMs} ms, DNS after ${dnsDelayMs} ms, median of ${reps} reps\n`,
    );
    console.log(
      '| variant | hosts/s | ok | DNS queries | namelookup p50 / p99 ms | total p50 ms | dns.source cache |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const [variant, list] of Object.entries(runs) as [Variant, Run[]][]) {
      const m = (pick: (run: Run) => number) => median(list.map(pick));
      console.log(
        `| ${variant} | ${m((r) => r.hostsPerS).toFixed(0)} | ${m((r) => r.ok)} | ` +
          `${m((r) => r.queries)} | ${m((r) => r.namelookupP50).toFixed(1)} / ` +
          `${m((r) => r.namelookupP99).toFixed(1)} | ${m((r) => r.totalP50).toFixed(1)} | ` +
          `${m((r) => r.fromCache)} |`,
      );
    }
    const ratios = runs.lookahead.map((run, i) =>
      (run.hostsPerS / runs['no look-ahead'][i]!.hostsPerS).toFixed(2),
    );
    console.log(`\nlook-ahead ÷ none, per rep: ×${ratios.join(', ×')}`);
    console.log(`\n${describeDnsServer(dns)}. ${describeTarget(target)}.`);
  } finally {
    clearTimeout(hardStop);
    await children.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
