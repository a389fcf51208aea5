// /metrics and /v1/loop: what an operator watches.
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp } from '../helper.js';
import { normalResponse, respondWith, startTcpServer } from '../support/servers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((close) => close()));
});

describe('observability', () => {
  it('exposes Prometheus metrics for requests, jobs, targets, probe phases, the loop and the process', async () => {
    const app = await startApp();
    const server = await startTcpServer(respondWith(normalResponse));
    cleanups.push(() => server.close());
    await request(app.server)
      .post('/v1/jobs')
      .set('Prefer', 'wait=10')
      .send({ targets: [`127.0.0.1:${server.port}`, `127.0.0.1:${server.port}`, 'ftp://x'] })
      .expect(200);
    const metrics = await request(app.server).get('/metrics').expect(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = metrics.text;
    expect(text).toContain('headprobe_jobs_total{status="succeeded"} 1');
    expect(text).toContain('headprobe_targets_total{outcome="ok"} 2');
    expect(text).toContain('headprobe_targets_total{outcome="invalid_target"} 1');
    for (const phase of ['tcp', 'wait', 'total']) {
      expect(text).toContain(`headprobe_probe_duration_seconds_count{phase="${phase}"} 2`);
    }
    // Plain http to an address: no TLS and no lookup happened, so none is observed as 0 s.
    expect(text).not.toMatch(/headprobe_probe_duration_seconds_count\{phase="(tls|dns)"\}/);
    expect(text).toContain('headprobe_probe_duration_seconds_bucket{le="120",phase="total"} 2');
    // promtool refuses gauges named like counters.
    expect(text).not.toMatch(/^# TYPE \S+_total gauge$/m);
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="POST",route="\/v1\/jobs",status_code="200"\} 1/,
    );
    expect(text).toContain('headprobe_targets_queued 0');
    expect(text).toContain('headprobe_targets_running 0');
    expect(text).toContain('headprobe_http_pending_body_bytes 0');
    expect(text).toContain('headprobe_result_streams_open 0');
    expect(text).toContain('headprobe_http_connections_refused_total 0');
    expect(text).toContain('headprobe_resource_exhaustions_total 0');
    expect(text).toContain('headprobe_shedding_load 0');
    expect(text).toMatch(/headprobe_http_connections_open \d/);
    expect(text).toMatch(/headprobe_event_loop_utilization_ratio \d/);
    expect(text).toContain('nodejs_eventloop_lag_p99_seconds');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('shows the shared loop: caps, running and queued per job, event-loop delay', async () => {
    const app = await startApp({ HEADPROBE_CONCURRENCY: '4' });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived!: () => void;
    const twoArrived = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    let count = 0;
    const server = await startTcpServer((socket) => {
      socket.once('data', () => {
        if (++count === 2) arrived();
        void released.then(() => socket.end(normalResponse));
      });
    });
    cleanups.push(() => server.close());
    const job = await request(app.server)
      .post('/v1/jobs')
      .send({ targets: Array(5).fill(`127.0.0.1:${server.port}`), options: { concurrency: 2 } });
    await twoArrived;
    const loop = await request(app.server).get('/v1/loop').expect(200);
    expect(loop.body).toMatchObject({
      concurrency: 4,
      running: 2,
      queued: 3,
      draining: false,
      jobs: [{ jobId: job.body.id, total: 5, running: 2, queued: 3, done: 0, concurrency: 2 }],
    });
    expect(loop.body.eventLoop.delayMs.p99).toBeGreaterThanOrEqual(0);
    expect(loop.body.eventLoop.utilization).toBeGreaterThanOrEqual(0);
    release();
  });
});
