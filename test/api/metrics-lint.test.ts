// /metrics as Prometheus's own linter sees it: `promtool check metrics` (Debian's prometheus
// package; .ci/run installs it) on a scrape taken after a job ran. Skipped, visibly, where
// promtool is not installed.
import { spawnSync } from 'node:child_process';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { startApp } from '../helper.js';

const promtool = spawnSync('promtool', ['--version']).status === 0;
if (!promtool) console.warn('skipping the promtool test: promtool is not installed');

describe('the /metrics exposition', () => {
  it.skipIf(!promtool)('passes promtool check metrics', async () => {
    const app = await startApp();
    await request(app.server)
      .post('/v1/jobs')
      .set('Prefer', 'wait=10')
      .send({ targets: ['127.0.0.1:9', 'ftp://x'] })
      .expect(200);
    const scrape = await request(app.server).get('/metrics').expect(200);
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: scrape.text });
    expect(`${checked.stdout}${checked.stderr}`).toBe('');
    expect(checked.status).toBe(0);
  });
});
