// The results page under a big job: time to the first row and until the table shows all N
// results of an N-target job on the loopback target, measured in Debian's Chromium (from the
// Probe click to the row count reading "N of N"), beside the same job read by curl over
// NDJSON (from submit to its first and last line). Interleaved rep by rep; one service process
// (`node dist/src/server.js`, as npm start runs it) serves both.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { findRoot, log } from '../shared/bench-env.js';
import { ChildSet, startDelayedTarget } from '../shared/bench-processes.js';
import { median } from '../shared/bench-report.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../shared/chromium.js';
import { serviceEnvironment, startService } from '../shared/service-process.js';
import { hostUrls } from '../shared/url-lists.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: process.env.N ?? '10000' },
    concurrency: { type: 'string', default: process.env.CONCURRENCY ?? '500' },
    reps: { type: 'string', default: process.env.REPS ?? '3' },
    chromium: { type: 'string', default: process.env.CHROMIUM ?? CHROMIUM },
  },
});
const n = Number(values.n);
const concurrency = Number(values.concurrency);
const reps = Number(values.reps);

const root = findRoot(path.dirname(new URL(import.meta.url).pathname));
const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const out = path.join(root, 'bench', 'results', `${stamp}-page`);
const state = path.join(out, 'state');
mkdirSync(state, { recursive: true });

const children = new ChildSet();
process.once('exit', () => children.killNow());

/** Run in the page: sets the text area's value and fires the input event a paste fires. */
const PASTE = (area: unknown, text: string) => {
  const element = area as { value: string; dispatchEvent(event: unknown): boolean };
  const { Event } = globalThis as unknown as { Event: new (type: string, init: object) => unknown };
  element.value = text;
  element.dispatchEvent(new Event('input', { bubbles: true }));
};

/**
 * Run in the page: clicks Probe and resolves, in seconds from the click, when the table first
 * shows a row and when its count reads "N of N shown" (checked once per animation frame).
 */
const IN_PAGE_TIMER = `new Promise((resolve) => {
  const started = performance.now();
  let first = 0;
  const check = () => {
    const count = document.querySelector('[data-testid=row-count]')?.textContent ?? '';
    const shown = Number(/^(\\d+) of/.exec(count)?.[1] ?? 0);
    if (first === 0 && shown > 0) first = performance.now();
    if (count === 'TOTAL of TOTAL shown') {
      resolve({ first: (first - started) / 1000, all: (performance.now() - started) / 1000 });
    } else if (performance.now() - started > 120000) {
      resolve({ stuck: count, status: document.querySelector('[data-testid=job-status]')?.textContent });
    } else requestAnimationFrame(check);
  };
  document.querySelector('button[type=submit]').click();
  requestAnimationFrame(check);
})`;

/**
 * Run in the page once every row is in: clicks the "Total ms" header and resolves, in
 * seconds, at the first frame after the table is sorted by it (its aria-sort set).
 */
const IN_PAGE_SORT = `new Promise((resolve) => {
  const header = [...document.querySelectorAll('th')].find((th) => th.textContent === 'Total ms');
  const started = performance.now();
  header.querySelector('button').click();
  const check = () => {
    if (header.getAttribute('aria-sort') === 'ascending') {
      requestAnimationFrame(() => resolve((performance.now() - started) / 1000));
    } else if (performance.now() - started > 30000) resolve(-1);
    else requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})`;

/** submit → first and last NDJSON line, in seconds, with curl reading the stream. */
async function curlRun(base: string, targets: string[]): Promise<{ first: number; all: number }> {
  const started = performance.now();
  const submitted = await fetch(`${base}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ targets }),
  });
  const { id } = (await submitted.json()) as { id: string };
  const curl = spawn('curl', [
    '-sN',
    '-H',
    'Accept: application/x-ndjson',
    `${base}/v1/jobs/${id}/results`,
  ]);
  let first = 0;
  let lines = 0;
  curl.stdout.on('data', (chunk: Buffer) => {
    if (first === 0) first = performance.now();
    for (const byte of chunk) if (byte === 10) lines++;
  });
  await new Promise((resolve) => curl.once('close', resolve));
  if (lines !== targets.length) throw new Error(`curl read ${lines} of ${targets.length} lines`);
  return { first: (first - started) / 1000, all: (performance.now() - started) / 1000 };
}

async function main() {
  const target = await startDelayedTarget(children, root, state, 0, 3600);
  const service = await startService(
    children,
    root,
    serviceEnvironment(concurrency),
    path.join(out, 'service'),
  );
  const base = `http://127.0.0.1:${service.port}`;
  const targets = hostUrls(n, target.port);
  const browser = await chromium.launch({ executablePath: values.chromium, args: CHROMIUM_ARGS });
  const page: Record<'first' | 'all', number[]> = { first: [], all: [] };
  const curl: Record<'first' | 'all', number[]> = { first: [], all: [] };
  const sorts: number[] = [];
  try {
    for (let rep = 1; rep <= reps; rep++) {
      const tab = await browser.newPage();
      await tab.goto(`${base}/`);
      // Pasted at once (Playwright's fill types 250 kB too slowly): the page sees one input.
      await tab.locator('#targets').evaluate(PASTE, targets.join('\n'));
      // The clock starts in the page at the click and stops when the table says so.
      const times = (await tab.evaluate(IN_PAGE_TIMER.replaceAll('TOTAL', String(n)))) as {
        first: number;
        all: number;
        stuck?: string;
      };
      if (times.stuck !== undefined)
        throw new Error(`the page stopped at ${JSON.stringify(times)}`);
      sorts.push((await tab.evaluate(IN_PAGE_SORT)) as number);
      await tab.close();
      page.first.push(times.first);
      page.all.push(times.all);
      log(
        `page rep ${rep}: first row ${times.first.toFixed(2)} s, all ${times.all.toFixed(2)} s, ` +
          `sort by total ${(sorts.at(-1)! * 1000).toFixed(0)} ms`,
      );
      const read = await curlRun(base, targets);
      curl.first.push(read.first);
      curl.all.push(read.all);
      log(`curl rep ${rep}: first line ${read.first.toFixed(2)} s, all ${read.all.toFixed(2)} s`);
    }
  } finally {
    await browser.close();
    await children.close();
  }
  const row = (name: string, run: Record<'first' | 'all', number[]>) =>
    `| ${name} | ${median(run.first).toFixed(2)} | ${median(run.all).toFixed(2)} | ${Math.round(n / median(run.all)).toLocaleString('en')} |`;
  console.log(
    `\n### Results page: N=${n}, C=${concurrency}, fast target (${target.kind}), median of ${reps}\n`,
  );
  console.log('| reader | first row s | all rows s | hosts/s |\n|---|---:|---:|---:|');
  console.log(row('results page (Chromium)', page));
  console.log(row('curl, NDJSON', curl));
  console.log(
    `\npage ÷ curl, time to all rows: ×${(median(page.all) / median(curl.all)).toFixed(2)}`,
  );
  console.log(
    `sorting the ${n} rows by total time, from the click to the next frame: ` +
      `${(median(sorts) * 1000).toFixed(0)} ms (median)`,
  );
  console.log(`results: ${path.relative(root, out)}`);
}

main().catch(async (error) => {
  console.error(error);
  await children.close();
  process.exit(1);
});
