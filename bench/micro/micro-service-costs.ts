// Micro-benchmarks of what the service spends per finished target on top of the probe engine:
// the metrics observer, the result's JSON, the address policy, and per looked-up name the DNS
// codec. Each pits the code as it
// was (a copy below; for the policy, the property test's oracle in test/support/reference/,
// used rather than a second copy of it) against the alternatives, alternating in one process;
// medians of ROUNDS.
// Run: npm run bench:micro   (about 12 s on one core)

import dnsPacket from 'dns-packet';
import fastJson from 'fast-json-stringify';
import { type Counter, Registry } from 'prom-client';
import { z } from 'zod';
import { serializeResult } from '../../src/jobs/result-json.js';
import { PHASES, targetMetrics } from '../../src/plugins/metrics.js';
import { createAddressPolicy } from '../../src/policy/address-policy.js';
import { decodeResponse, encodeQuery } from '../../src/probe/dns/dns-wire.js';
import { JobResult } from '../../src/schemas/job.js';
import type { ProbeResult } from '../../src/schemas/probe-result.js';
import { createAddressPolicy as createBlockListPolicy } from '../../test/support/reference/blocklist-address-policy.js';
import { cdnHeaders } from './typical-results.js';

const ROUNDS = 9;

/** ns per call of each variant: median over ROUNDS, the variants interleaved round by round. */
function compare(title: string, calls: number, variants: Record<string, () => void>): void {
  const entries = Object.entries(variants);
  const samples = new Map<string, number[]>(entries.map(([name]) => [name, []]));
  for (const [, run] of entries) run(); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of entries) {
      const start = process.hrtime.bigint();
      run();
      samples.get(name)!.push(Number(process.hrtime.bigint() - start) / calls);
    }
  }
  console.log(`\n${title}`);
  let baseline = 0;
  for (const [name] of entries) {
    const sorted = samples.get(name)!.sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    baseline ||= median;
    const range = `${sorted[0]!.toFixed(0)}–${sorted.at(-1)!.toFixed(0)}`;
    console.log(
      `  ${name.padEnd(50)} ${median.toFixed(0).padStart(6)} ns/call  (${range})  ${(baseline / median).toFixed(2)}x`,
    );
  }
}

// ---------------------------------------------------------------- results, as the probe builds them

const ms = (value: number) => Math.round(value * 1000) / 1000;

/** A plain-http ok result (17 headers, no TLS), or every tenth one a refused connection. */
function typicalResult(i: number): ProbeResult {
  const host = `host${i}.example.com`;
  const ok = i % 10 !== 9;
  const dns = ms(0.9 + (i % 13) / 7);
  const tcp = ok ? ms(10 + (i % 17) / 3) : null;
  const wait = ok ? ms(30 + (i % 29) / 3) : null;
  return {
    target: host,
    url: `http://${host}/`,
    ok,
    httpVersion: ok ? '1.1' : null,
    status: ok ? 200 : null,
    statusText: ok ? 'OK' : null,
    headers: ok ? cdnHeaders.map(([name, value]) => [name, value] as [string, string]) : [],
    informational: [],
    remote: ok ? { address: `93.184.${i & 255}.34`, port: 80, family: 'IPv4' } : null,
    dns: {
      source: i % 2 === 0 ? 'dns' : 'cache',
      name: host,
      cnames: [],
      addresses: [{ address: `93.184.${i & 255}.34`, family: 'IPv4' }],
      ttl: 300,
    },
    connectAttempts: [],
    tls: null,
    timing: {
      startedAt: new Date(1_795_000_000_000 + i).toISOString(),
      namelookup: dns,
      connect: tcp === null ? null : ms(dns + tcp),
      appconnect: tcp === null ? null : 0,
      pretransfer: tcp === null ? null : ms(dns + tcp + 0.05),
      starttransfer: wait === null ? null : ms(dns + tcp! + 0.05 + wait),
      total: ok ? ms(dns + tcp! + 0.05 + wait! + 0.3) : ms(dns + 0.2),
      phases: {
        dns,
        tcp,
        tls: tcp === null ? null : 0,
        request: tcp === null ? null : 0.05,
        wait,
        transfer: ok ? 0.3 : null,
      },
    },
    redirects: [],
    finalUrl: `http://${host}/`,
    error: ok ? null : { code: 'connection_refused', phase: 'connect', message: 'ECONNREFUSED' },
    findings: [],
    score: null,
    grade: null,
    technologies: [],
    altSvc: null,
  };
}

const results = Array.from({ length: 1000 }, (_, i) => typicalResult(i));

// ---------------------------------------------------------------- 1. metrics observer

/** src/plugins/metrics.ts as it runs: labels object per call. */
function labelsPerCallObserver() {
  const registry = new Registry();
  return { registry, targetEnded: targetMetrics(registry).targetEnded };
}

/**
 * Children bound once: histogram per phase, counter per outcome (cached in a Map). In
 * prom-client 15.1.3 a child's observe()/inc() still validates and hashes its labels on every
 * call, and most of observe() is its float-keyed bucket lookup, which no public call avoids.
 */
function boundChildrenObserver() {
  const registry = new Registry();
  const { targets, probeDuration } = targetMetrics(registry);
  const byPhase = PHASES.map((phase) => [phase, probeDuration.labels({ phase })] as const);
  const total = probeDuration.labels({ phase: 'total' });
  const byOutcome = new Map<string, Counter.Internal>();
  const targetEnded = (result: ProbeResult) => {
    const outcome = result.error?.code ?? 'ok';
    let counter = byOutcome.get(outcome);
    if (counter === undefined) {
      counter = targets.labels({ outcome });
      byOutcome.set(outcome, counter);
    }
    counter.inc();
    const phases = result.timing.phases;
    for (const [phase, child] of byPhase) {
      const ms = phases[phase];
      if (ms !== null) child.observe(ms / 1000);
    }
    if (result.ok) total.observe(result.timing.total / 1000);
  };
  return { registry, targetEnded };
}

{
  const perCall = labelsPerCallObserver();
  const bound = boundChildrenObserver();
  const loops = 40;
  const feed = (targetEnded: (result: ProbeResult) => void) => () => {
    for (let n = 0; n < loops; n++) for (const result of results) targetEnded(result);
  };
  compare('1. metrics: jobObserver.targetEnded, per result', loops * results.length, {
    'labels object per call (src)': feed(perCall.targetEnded),
    'bound children (labels() once)': feed(bound.targetEnded),
  });
  const same = (await perCall.registry.metrics()) === (await bound.registry.metrics());
  console.log(`  /metrics text identical: ${same}`);
}

// ---------------------------------------------------------------- 2. result JSON

/** src/jobs/result-json.ts serializeResult as it was. */
const sliceAfterStringify = (index: number, result: ProbeResult) =>
  `{"index":${index},${JSON.stringify(result).slice(1)}`;
const spreadIndexFirst = (index: number, result: ProbeResult) =>
  JSON.stringify({ index, ...result });
// fastify's own serializer (installed with fastify), compiled from the wire schema.
const compiled = fastJson(z.toJSONSchema(JobResult, { target: 'draft-7' }) as never);
const fastJsonStringify = (index: number, result: ProbeResult) => compiled({ index, ...result });

{
  for (const [index, result] of results.entries()) {
    const expected = sliceAfterStringify(index, result);
    for (const candidate of [serializeResult, spreadIndexFirst, fastJsonStringify]) {
      if (candidate(index, result) !== expected) throw new Error('serialisers disagree');
    }
  }
  const loops = 10;
  const serialize = (fn: (index: number, result: ProbeResult) => string) => () => {
    for (let n = 0; n < loops; n++)
      for (const [index, result] of results.entries()) fn(index, result);
  };
  // The store keeps the text as UTF-8 (utf8-slab-log): the write flattens what the
  // serialiser built, so a concatenated string pays there.
  const slab = Buffer.allocUnsafe(1 << 20);
  let at = 0;
  const serializeAndWrite = (fn: (index: number, result: ProbeResult) => string) => () => {
    for (let n = 0; n < loops; n++) {
      for (const [index, result] of results.entries()) {
        if (at > slab.length - 8192) at = 0;
        at += slab.write(fn(index, result), at, 'utf8');
      }
    }
  };
  const calls = loops * results.length;
  compare('2. result JSON: serializeResult(index, typical result)', calls, {
    '`{"index":N,` + JSON.stringify().slice(1) (src)': serialize(sliceAfterStringify),
    'JSON.stringify({ index, ...result })': serialize(spreadIndexFirst),
    'fast-json-stringify from z.toJSONSchema': serialize(fastJsonStringify),
  });
  compare('2b. result JSON, then written as UTF-8 like the store does', calls, {
    '`{"index":N,` + JSON.stringify().slice(1) (src)': serializeAndWrite(sliceAfterStringify),
    'JSON.stringify({ index, ...result })': serializeAndWrite(spreadIndexFirst),
    'fast-json-stringify from z.toJSONSchema': serializeAndWrite(fastJsonStringify),
  });
}

// ---------------------------------------------------------------- 3. address policy

{
  const distinct = (make: (i: number) => string) =>
    Array.from({ length: 10_000 }, (_, i) => make(i));
  const cases = [
    [
      '127.0.A.B, allow 127.0.0.0/8',
      ['127.0.0.0/8'],
      distinct((i) => `127.0.${i >> 8}.${i & 255}`),
    ],
    ['public IPv4, no allow list', [], distinct((i) => `93.${184 + (i >> 8)}.${i & 255}.34`)],
    ['10.0.A.B (denied), no allow list', [], distinct((i) => `10.0.${i >> 8}.${i & 255}`)],
    [
      'public IPv6, no allow list',
      [],
      distinct((i) => `2606:4700:${(i >> 8).toString(16)}::${i.toString(16)}`),
    ],
  ] as const;
  for (const [title, allowCidrs, addresses] of cases) {
    const before = createBlockListPolicy({ allowCidrs });
    const now = createAddressPolicy({ allowCidrs });
    for (const address of addresses) {
      if (JSON.stringify(before.check(address, 80)) !== JSON.stringify(now.check(address, 80))) {
        throw new Error(`policies disagree on ${address}`);
      }
    }
    const loops = 2;
    const checkAll = (policy: { check(address: string, port: number): unknown }) => () => {
      for (let n = 0; n < loops; n++) for (const address of addresses) policy.check(address, 80);
    };
    compare(`3. address policy: check(), ${title}`, loops * addresses.length, {
      'BlockList per range list (before)': checkAll(before),
      'ipaddr.js, parsed once (src)': checkAll(now),
    });
  }
}

// ---------------------------------------------------------------- 4. DNS codec

{
  // What a bulk lookup of hN.example sends and reads, as the names scenario's DNS server
  // answers: an A record, and for AAAA no data with the zone's SOA (uncompressed, as
  // dns-packet writes it; real servers compress, which costs our reader less, not more).
  const names = Array.from({ length: 2_000 }, (_, i) => `h${i}.example`);
  const soa = {
    type: 'SOA' as const,
    name: 'example',
    ttl: 300,
    data: {
      mname: 'ns.example',
      rname: 'hostmaster.example',
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: 300,
    },
  };
  const answers = names.flatMap((name, i) => [
    dnsPacket.encode({
      type: 'response',
      id: i,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: [{ type: 'A', class: 'IN', name }],
      answers: [{ type: 'A', name, ttl: 300, data: `127.0.${i >> 8}.${(i & 255) + 1}` }],
    }),
    dnsPacket.encode({
      type: 'response',
      id: i,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: [{ type: 'AAAA', class: 'IN', name }],
      authorities: [soa],
    }),
  ]);
  const loops = 5;
  const withDnsPacket = () => {
    for (let n = 0; n < loops; n++) {
      for (const [i, name] of names.entries()) {
        for (const type of ['A', 'AAAA'] as const) {
          dnsPacket.encode({
            type: 'query',
            id: 0,
            flags: dnsPacket.RECURSION_DESIRED,
            questions: [{ type, class: 'IN', name }],
          });
        }
        dnsPacket.decode(answers[2 * i]!);
        dnsPacket.decode(answers[2 * i + 1]!);
      }
    }
  };
  const withDnsWire = () => {
    for (let n = 0; n < loops; n++) {
      for (const [i, name] of names.entries()) {
        encodeQuery(name, 1);
        encodeQuery(name, 28);
        decodeResponse(answers[2 * i]!);
        decodeResponse(answers[2 * i + 1]!);
      }
    }
  };
  compare(
    '4. DNS codec: A and AAAA queries encoded, their answers decoded, per name',
    loops * names.length,
    {
      'dns-packet encode + decode (before)': withDnsPacket,
      'dns-wire.ts (src)': withDnsWire,
    },
  );
}
