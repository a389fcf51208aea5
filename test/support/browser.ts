// The results page in a real browser: Debian's Chromium driven by playwright-core (never a
// browser download), the page built by Vite into a temporary folder, and the service started
// in the test process with that page and loopback targets allowed.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../../bench/shared/chromium.js';
import { startApp } from '../helper.js';

export const hasChromium = existsSync(CHROMIUM);
const ROOT = new URL('../..', import.meta.url).pathname;
/** Screenshots the tests leave for a person to look at (not committed). */
export const SCREENSHOTS = join(ROOT, 'test-results', 'page');

/** Builds the page once per test file; resolves with its folder. */
export async function buildPage(): Promise<{ dir: string; remove: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'headprobe-page-'));
  await promisify(execFile)(
    process.execPath,
    [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts'],
    { cwd: ROOT, env: { ...process.env, HEADPROBE_WEB_OUT: dir } },
  );
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startPageService(
  webRoot: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ app: FastifyInstance; url: string }> {
  const app = await startApp(env, { webRoot });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Every console error and uncaught exception of the page (a CSP violation is one). */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
