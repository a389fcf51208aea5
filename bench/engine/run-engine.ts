// The headprobe engine as a bench contender: probe every URL of a list through the
// shared Scheduler, exactly as the service will, and print one RESULT line (with the HTTP
// versions the ok results spoke, e.g. `versions=2:5000`).
//   node dist-bench/bench/engine/run-engine.js --urls FILE --concurrency C [--method GET|HEAD]
//     [--http-version auto|2|1.1|1.0] [--findings on|off] [--tls-verify on|off] [--waits OUT]
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Scheduler } from '../../src/loop/index.js';
import { createDnsResolver, probeTarget } from '../../src/probe/index.js';
import { ProbeOptions } from '../../src/schemas/probe-options.js';
import type { ProbeResult } from '../../src/schemas/probe-result.js';

const { values } = parseArgs({
  options: {
    urls: { type: 'string' },
    concurrency: { type: 'string', default: '500' },
    method: { type: 'string', default: 'GET' },
    'http-version': { type: 'string', default: 'auto' },
    findings: { type: 'string', default: 'on' },
    'tls-verify': { type: 'string', default: 'on' },
    waits: { type: 'string' },
  },
});
if (values.urls === undefined) throw new Error('--urls FILE is required');

function onOff(flag: string, value: string): boolean {
  if (value !== 'on' && value !== 'off') throw new Error(`--${flag}: on or off, not ${value}`);
  return value === 'on';
}

const targets = readFileSync(values.urls, 'utf8').split('\n').filter(Boolean);
const options = ProbeOptions.parse({
  method: values.method,
  timeoutMs: 30_000,
  httpVersion: values['http-version'],
  findings: onOff('findings', values.findings),
  tlsVerify: onOff('tls-verify', values['tls-verify']),
});
const resolver = createDnsResolver();
const scheduler = new Scheduler<string, ProbeResult>({
  concurrency: Number(values.concurrency),
  // The task is its own cancellation signal: no AbortController per target.
  runTask: (task) => probeTarget(task.input, options, { resolver, signal: task }),
  isFailure: (result) => !result.ok,
});

let ok = 0;
let failed = 0;
const errors = new Map<string, number>();
const versions = new Map<string, number>();
const waits: number[] = [];
const start = performance.now();
const job = scheduler.submit({
  jobId: 'bench',
  inputs: targets,
  onTaskEnd: (_task, result) => {
    if (result?.ok && result.status === 200) {
      ok++;
      const version = result.httpVersion ?? 'none';
      versions.set(version, (versions.get(version) ?? 0) + 1);
      if (values.waits !== undefined && result.timing.phases.wait !== null) {
        waits.push(result.timing.phases.wait);
      }
    } else {
      failed++;
      const code = result?.error?.code ?? `status-${result?.status ?? 'none'}`;
      errors.set(code, (errors.get(code) ?? 0) + 1);
    }
  },
});
await job.done;
const elapsed = (performance.now() - start) / 1000;
await scheduler.drain();
if (values.waits !== undefined) writeFileSync(values.waits, `${waits.join('\n')}\n`);
const list = (counts: Map<string, number>) =>
  [...counts].map(([key, count]) => `${key}:${count}`).join(',') || '-';
console.log(
  `RESULT ok=${ok} fail=${failed} versions=${list(versions)} elapsed=${elapsed.toFixed(3)} ` +
    `errors=${list(errors)}`,
);
