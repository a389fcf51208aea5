// The results page in Debian's Chromium (playwright-core): submit a list against loopback
// targets and see every row, sort and filter, open a target (headers, certificate,
// waterfall), reload the job's URL, cancel a running job, export CSV and HAR and parse them,
// a field error from the API next to its field, the API key flow, and an axe-core audit.
// Without /usr/bin/chromium the file is skipped with a message saying so.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parse as parseCsv } from 'csv-parse/sync';
import harValidator from 'har-validator';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildPage,
  hasChromium,
  launchBrowser,
  pageErrors,
  screenshot,
  startPageService,
} from '../support/browser.js';
import { makeSelfSignedCertificate } from '../support/certs.js';
import { onCleanup, track } from '../support/cleanup.js';
import { cuttingProxy } from '../support/cutting-proxy.js';
import {
  normalResponse,
  respondWith,
  type ServerHandle,
  startDelayServer,
  startTcpServer,
  startTlsServer,
} from '../support/servers.js';

if (!hasChromium) {
  console.warn('skipped: the results page tests need Debian’s Chromium at /usr/bin/chromium');
}

describe.skipIf(!hasChromium)('the results page', () => {
  let web: { dir: string; remove: () => void };
  let browser: Browser;
  beforeAll(async () => {
    [web, browser] = await Promise.all([buildPage(), launchBrowser()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    web?.remove();
  });

  async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({ acceptDownloads: true });
    onCleanup(() => context.close());
    const page = await context.newPage();
    const errors = pageErrors(page);
    await page.goto(url);
    return { page, errors };
  }

  async function submit(page: Page, targets: string[], options: Record<string, string> = {}) {
    await page.getByLabel(/^Targets, one per line/).fill(targets.join('\n'));
    for (const [label, value] of Object.entries(options)) await page.getByLabel(label).fill(value);
    await page.getByRole('button', { name: 'Probe' }).click();
  }

  const rowCount = (page: Page) => page.getByTestId('row-count');
  const firstColumn = (page: Page) =>
    page
      .locator('table.results tbody tr[data-index]')
      .evaluateAll((rows) =>
        rows.map((row) => (row as unknown as { dataset: Record<string, string> }).dataset.index),
      );

  it('shows every result of a submitted list, sorts, filters, and opens one target', async () => {
    const { url } = await startPageService(web.dir);
    const ok: ServerHandle = await track(startTcpServer(respondWith(normalResponse)));
    const { key, cert } = await makeSelfSignedCertificate({
      commonName: 'localhost',
      ipAddresses: ['127.0.0.1'],
    });
    const tls = await track(startTlsServer(respondWith(normalResponse) as never, { key, cert }));
    const { page, errors } = await openPage(url);
    const targets = [
      `127.0.0.1:${ok.port}`,
      '127.0.0.1:1',
      `https://127.0.0.1:${tls.port}/`,
      'not a target',
      `http://127.0.0.1:${ok.port}/two`,
    ];
    await page.getByLabel('Verify TLS certificates').uncheck();
    await submit(page, targets);

    await page.waitForURL(/\/jobs\/[^/]+$/);
    await expect.poll(() => page.getByTestId('job-status').textContent()).toBe('succeeded');
    await expect.poll(() => rowCount(page).textContent()).toBe('5 of 5 shown');
    expect(await page.getByTestId('counts').textContent()).toBe('5 of 5 done: 3 ok, 2 failed');
    await expect
      .poll(() => page.getByTestId('status-counts').locator('li').allTextContents())
      .toEqual(['200 3', 'no response 2']);
    await screenshot(page, 'results');

    // Sort by status, descending on a second click; empty statuses stay last.
    await page.getByRole('button', { name: 'Status', exact: true }).click();
    expect(await firstColumn(page)).toEqual(['0', '2', '4', '1', '3']);
    await page.getByRole('button', { name: 'Status', exact: true }).click();
    expect(
      await page
        .getByRole('columnheader', { name: 'Status', exact: true })
        .getAttribute('aria-sort'),
    ).toBe('descending');

    // Filters: no response, then one error code, then free text.
    await page.getByLabel('Status', { exact: true }).selectOption('none');
    await expect.poll(() => rowCount(page).textContent()).toBe('2 of 5 shown');
    await page.getByLabel('Status', { exact: true }).selectOption('all');
    await page.getByLabel('Error', { exact: true }).selectOption('connection_refused');
    expect(await firstColumn(page)).toEqual(['1']);
    await page.getByLabel('Error', { exact: true }).selectOption('all');
    // The self-signed certificate is a finding only the https target has.
    await page.getByLabel('Finding', { exact: true }).selectOption('tls-certificate-self-signed');
    expect(await firstColumn(page)).toEqual(['2']);
    await page.getByLabel('Finding', { exact: true }).selectOption('all');
    const grades = await page.getByTestId('grade-counts').locator('li').allTextContents();
    expect(grades.reduce((sum, text) => sum + Number(text.split(' ')[1]), 0)).toBe(3);
    await page.getByLabel('Search').fill('/two');
    expect(await firstColumn(page)).toEqual(['4']);
    await page.getByLabel('Search').fill('');

    // One target: its headers in wire order, its certificate, its waterfall.
    await page.getByRole('button', { name: `https://127.0.0.1:${tls.port}/` }).click();
    const detail = page.locator('section.detail');
    await expect
      .poll(() => detail.getByRole('heading', { level: 2 }).textContent())
      .toBe(`https://127.0.0.1:${tls.port}/`);
    const headerNames = await detail
      .locator('table.headers tbody tr td:first-child')
      .allTextContents();
    expect(headerNames.slice(0, 3)).toEqual(['Date', 'Server', 'Content-Type']);
    expect(await detail.locator('dl.facts').textContent()).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(await detail.getByTestId('grade').textContent()).toMatch(
      /^Grade [A-F][+-]? \(score \d+\)$/,
    );
    expect(await detail.locator('ul.findings code').allTextContents()).toContain(
      'tls-certificate-self-signed',
    );
    const bars = await detail.locator('[data-testid=waterfall] li').evaluateAll((items) =>
      items.map((item) => {
        type Styled = { style: Record<string, string>; dataset: Record<string, string> };
        const bar = item.querySelector('.bar') as unknown as Styled;
        return {
          phase: (item as unknown as Styled).dataset.phase,
          left: Number.parseFloat(bar.style.left ?? ''),
          width: Number.parseFloat(bar.style.width ?? ''),
        };
      }),
    );
    expect(bars.map((bar) => bar.phase)).toEqual([
      'dns',
      'tcp',
      'tls',
      'request',
      'wait',
      'transfer',
    ]);
    // Consecutive bars on one axis: each starts where the one before it ends, ending near 100%.
    for (let i = 1; i < bars.length; i++) {
      const [bar, before] = [bars[i]!, bars[i - 1]!];
      expect(bar.left).toBeCloseTo(before.left + before.width, 1);
    }
    const last = bars.at(-1)!;
    expect(last.left + last.width).toBeGreaterThan(99);
    expect(bars.find((bar) => bar.phase === 'tls')!.width).toBeGreaterThan(0);
    await screenshot(page, 'waterfall');

    // The job's URL survives a reload: the results come back from the service.
    await page.reload();
    await expect.poll(() => rowCount(page).textContent()).toBe('5 of 5 shown');
    expect(errors).toEqual([]);
  });

  it('exports the finished job as CSV and HAR through the export endpoints', async () => {
    const { url } = await startPageService(web.dir);
    const ok = await track(startTcpServer(respondWith(normalResponse)));
    const { page } = await openPage(url);
    await submit(page, [`127.0.0.1:${ok.port}`, '127.0.0.1:1']);
    await expect.poll(() => page.getByTestId('job-status').textContent()).toBe('succeeded');

    const save = async (name: string) => {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name, exact: true }).click(),
      ]);
      return readFileSync((await download.path())!, 'utf8');
    };
    const csv = parseCsv(await save('CSV'), { columns: true }) as Array<Record<string, string>>;
    expect(csv.map((row) => row.errorCode).sort()).toEqual(['', 'connection_refused']);
    const har = JSON.parse(await save('HAR'));
    await expect(harValidator.har(har)).resolves.toEqual(har);
    expect(har.log.entries).toHaveLength(2);
    const lines = (await save('JSON Lines')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line).index).sort()).toEqual([0, 1]);
  });

  it('resumes a job’s stream cut mid-job: every row once, none missed', async () => {
    const { url } = await startPageService(web.dir);
    // 24 targets, 2 at a time, 100 ms each: the job runs for over a second, so the cut
    // comes while it runs, whatever the page had already read.
    const target = await track(startDelayServer(100));
    const proxy = await track(cuttingProxy(Number(new URL(url).port), 3));
    const { page, errors } = await openPage(proxy.url);
    const targets = Array.from({ length: 24 }, (_, i) => `http://127.0.0.1:${target.port}/${i}`);
    await submit(page, targets, { "Concurrency (blank: the service's)": '2' });
    await expect
      .poll(() => page.getByTestId('job-status').textContent(), { timeout: 15_000 })
      .toBe('succeeded');
    await expect.poll(() => rowCount(page).textContent()).toBe('24 of 24 shown');
    expect(proxy.wasCut()).toBe(true);
    const streams = proxy.heads.filter((head) => head.includes('/events'));
    expect(streams.some((head) => /last-event-id: \d+/i.test(head))).toBe(true);
    const indexes = await firstColumn(page);
    expect(new Set(indexes).size).toBe(24);
    // The cut shows as a failed fetch in the console; nothing else may.
    expect(errors.filter((error) => !/network|ERR_|Failed to fetch/i.test(error))).toEqual([]);
  });

  it('cancels a running job from its page', async () => {
    const { url } = await startPageService(web.dir);
    const silent = await track(startTcpServer(() => {}));
    const { page } = await openPage(url);
    await submit(page, Array(4).fill(`127.0.0.1:${silent.port}`), {
      'Timeout per target (ms)': '60000',
    });
    await expect.poll(() => page.getByTestId('job-status').textContent()).toBe('running');
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await expect.poll(() => page.getByTestId('job-status').textContent()).toBe('cancelled');
    await expect.poll(() => rowCount(page).textContent()).toBe('4 of 4 shown');
  });

  it('takes a list from a file and is driven by the keyboard alone', async () => {
    const { url } = await startPageService(web.dir);
    const ok = await track(startTcpServer(respondWith(normalResponse)));
    const { page } = await openPage(url);
    await page.getByLabel('Or load a file').setInputFiles({
      name: 'hosts.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from(`# two targets\n127.0.0.1:${ok.port}\n\n127.0.0.1:1\n`),
    });
    await expect
      .poll(() => page.getByLabel(/^Targets, one per line/).inputValue())
      .toContain(`127.0.0.1:${ok.port}`);
    await page.getByRole('button', { name: 'Probe' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('job-status').textContent()).toBe('succeeded');
    await expect.poll(() => rowCount(page).textContent()).toBe('2 of 2 shown');
    // A sort header and a target are buttons: Enter works them, and focus goes to the target.
    await page.getByRole('button', { name: 'Total ms' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: '127.0.0.1:1' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate('document.activeElement.id')).toBe('detail-title');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('section.detail').count()).toBe(0);
  });

  it('shows a validation problem from the API next to the field it names', async () => {
    const { url } = await startPageService(web.dir);
    const { page } = await openPage(url);
    await submit(page, ['127.0.0.1:1'], { 'Timeout per target (ms)': '5' });
    const field = page.getByLabel('Timeout per target (ms)');
    await expect.poll(() => field.getAttribute('aria-invalid')).toBe('true');
    const message = page.locator(`#${await field.getAttribute('aria-describedby')}`);
    expect(await message.textContent()).toMatch(/100/);
    expect(page.url()).toBe(`${url}/`);
  });

  it('asks for the API key when keys are on, keeps it for the tab, and sends it', async () => {
    const key = 'a-key-for-the-results-page';
    const { url } = await startPageService(web.dir, { HEADPROBE_API_KEYS: key });
    const ok = await track(startTcpServer(respondWith(normalResponse)));
    const { page } = await openPage(url);
    const keyField = page.getByLabel('API key (kept for this tab only)');
    await keyField.waitFor();
    await submit(page, [`127.0.0.1:${ok.port}`]);
    await expect.poll(() => page.locator('#apiKey-error').textContent()).toMatch(/key/i);
    await keyField.fill(key);
    await page.getByRole('button', { name: 'Probe' }).click();
    await page.waitForURL(/\/jobs\//);
    await expect.poll(() => page.getByTestId('job-status').textContent()).toBe('succeeded');
    expect(await page.evaluate("sessionStorage.getItem('headprobe.apiKey')")).toBe(key);
    expect(page.url()).not.toContain(key);

    // The job's link opened in a fresh tab (no key in its session storage) asks for the key.
    const shared = await openPage(page.url());
    const askField = shared.page.getByLabel('API key (kept for this tab only)');
    await askField.fill(key);
    await shared.page.getByRole('button', { name: 'Open job' }).click();
    await expect.poll(() => shared.page.getByTestId('job-status').textContent()).toBe('succeeded');
  });

  it('has no serious or critical axe-core violations on the form and on a job', async () => {
    const { url } = await startPageService(web.dir);
    const ok = await track(startTcpServer(respondWith(normalResponse)));
    const { page } = await openPage(url);
    const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core'), 'utf8');
    const audit = async () => {
      // Through the DevTools protocol, which the page's CSP does not govern.
      await page.evaluate(axeSource);
      const found = await page.evaluate(async () => {
        const axe = (
          globalThis as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }
        ).axe;
        return (await axe.run()).violations as Array<{ id: string; impact: string }>;
      });
      return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    };
    await page.getByRole('heading', { name: 'Recent jobs' }).waitFor();
    expect(await audit()).toEqual([]);
    await submit(page, [`127.0.0.1:${ok.port}`, '127.0.0.1:1']);
    await expect.poll(() => page.getByTestId('job-status').textContent()).toBe('succeeded');
    await page.getByRole('button', { name: '127.0.0.1:1' }).click();
    expect(await audit()).toEqual([]);
  });
});
