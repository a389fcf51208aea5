// Host names through the service: one shared cache for every target of every job, DNS figures
// in /metrics and /v1/loop, and politeness per destination — a target server that counts its
// concurrent connections never sees more than the cap.
import type { Socket } from 'node:net';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp } from '../helper.js';
import { startDnsServer } from '../support/dns-server.js';
import { normalResponse, startTcpServer } from '../support/servers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((close) => close()));
});

/**
 * A target that holds every request until released (then answers each 5 ms after it came),
 * and counts connections open at once and requests in progress at once (received, not yet
 * answered). A connection the client has closed is seen closed a moment later, so after the
 * release only requests in progress are a strict measure of what the client has in flight.
 */
async function countingTarget() {
  let open = 0;
  let maxOpen = 0;
  let serving = 0;
  let maxServing = 0;
  let released = false;
  const waiting: Socket[] = [];
  let onWaiting: (() => void) | null = null;
  let waitingFor = 0;
  const answer = (socket: Socket) => {
    serving--;
    socket.end(normalResponse);
  };
  const server = await startTcpServer((socket) => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    socket.once('close', () => open--);
    socket.once('data', () => {
      serving++;
      maxServing = Math.max(maxServing, serving);
      if (released) {
        setTimeout(answer, 5, socket);
        return;
      }
      waiting.push(socket);
      if (onWaiting !== null && waiting.length >= waitingFor) onWaiting();
    });
  });
  cleanups.push(() => server.close());
  return {
    port: server.port,
    get open() {
      return open;
    },
    get maxServing() {
      return maxServing;
    },
    get maxOpen() {
      return maxOpen;
    },
    /** Resolves once `count` requests are waiting for an answer. */
    requestsWaiting(count: number): Promise<void> {
      waitingFor = count;
      return waiting.length >= count
        ? Promise.resolve()
        : new Promise((resolve) => {
            onWaiting = () => {
              onWaiting = null;
              resolve();
            };
          });
    },
    release(): void {
      released = true;
      for (const socket of waiting.splice(0)) answer(socket);
    },
  };
}

async function waitForJob(app: Awaited<ReturnType<typeof startApp>>, id: string) {
  await app.jobControl.waitForEnd(id, 10_000);
  return (await request(app.server).get(`/v1/jobs/${id}`).expect(200)).body;
}

describe('politeness per destination', () => {
  it('never opens more than the cap to one host:port, across jobs, and other hosts go on', async () => {
    const app = await startApp();
    const busy = await countingTarget();
    const other = await countingTarget();
    const busyTargets = Array.from({ length: 12 }, (_, i) => `http://127.0.0.1:${busy.port}/p${i}`);
    const first = await request(app.server)
      .post('/v1/jobs')
      .send({
        targets: [...busyTargets, ...Array(4).fill(`127.0.0.1:${other.port}`)],
        options: { concurrencyPerDestination: 3 },
      })
      .expect(202);
    // The other host's four targets run at once although the busy host's queue is ahead.
    await other.requestsWaiting(3);
    await busy.requestsWaiting(3);
    const second = await request(app.server)
      .post('/v1/jobs')
      .send({ targets: busyTargets, options: { concurrencyPerDestination: 3 } })
      .expect(202);

    const loop = await request(app.server).get('/v1/loop').expect(200);
    expect(loop.body.waitingForDestination).toBeGreaterThan(0);
    // Held: three connections, and no fourth was even dialled.
    expect(busy.open).toBe(3);
    expect(busy.maxOpen).toBe(3);
    const metrics = await request(app.server).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/headprobe_targets_waiting_for_destination [1-9]/);

    other.release();
    busy.release();
    const [firstJob, secondJob] = await Promise.all([
      waitForJob(app, first.body.id),
      waitForJob(app, second.body.id),
    ]);
    expect(firstJob.progress).toMatchObject({ total: 16, ok: 16 });
    expect(secondJob.progress).toMatchObject({ total: 12, ok: 12 });
    expect(busy.maxServing).toBe(3);
    expect(other.maxServing).toBe(3);
    expect(firstJob.options.concurrencyPerDestination).toBe(3);
  });

  it('applies the server default, and lowers a job that asks for more than the maximum', async () => {
    const app = await startApp({
      HEADPROBE_CONCURRENCY_PER_DESTINATION: '2',
      HEADPROBE_MAX_CONCURRENCY_PER_DESTINATION: '4',
    });
    const plain = await request(app.server)
      .post('/v1/jobs')
      .send({ targets: ['127.0.0.1:9'] })
      .expect(202);
    expect(plain.body.options.concurrencyPerDestination).toBe(2);
    const greedy = await request(app.server)
      .post('/v1/jobs')
      .send({ targets: ['127.0.0.1:9'], options: { concurrencyPerDestination: 50 } })
      .expect(202);
    expect(greedy.body.options.concurrencyPerDestination).toBe(4);
  });
});

describe('names through the service', () => {
  it('resolves a job of many URLs on one name with one A and one AAAA query', async () => {
    const target = await countingTarget();
    const dns = await startDnsServer({ 'app.test': { A: ['127.0.0.1'] } });
    cleanups.push(() => dns.close());
    const app = await startApp({ HEADPROBE_DNS_SERVERS: dns.server });
    const targets = Array.from({ length: 20 }, (_, i) => `http://app.test:${target.port}/${i}`);
    // supertest sends on then(): start the request now, read its answer later.
    const submitted = request(app.server)
      .post('/v1/jobs')
      .set('Prefer', 'wait=10')
      .send({ targets, options: { concurrencyPerDestination: 20 } })
      .then((response) => response);
    await target.requestsWaiting(20);
    target.release();
    const job = (await submitted).body;
    expect(job.progress).toMatchObject({ total: 20, ok: 20 });
    expect(dns.queries.map((q) => q.type).sort()).toEqual(['A', 'AAAA']);
    expect(job.results[0].dns).toMatchObject({
      name: 'app.test',
      addresses: [{ address: '127.0.0.1' }],
    });

    const again = await request(app.server)
      .post('/v1/jobs')
      .set('Prefer', 'wait=10')
      .send({ targets: [`app.test:${target.port}`] });
    expect((await again).body.results[0].dns.source).toBe('cache');
    expect(dns.queries).toHaveLength(2);

    const metrics = (await request(app.server).get('/metrics').expect(200)).text;
    expect(metrics).toContain('headprobe_dns_queries_total{type="A"} 1');
    expect(metrics).toContain('headprobe_dns_queries_total{type="AAAA"} 1');
    expect(metrics).toContain('headprobe_dns_cache_lookups_total{result="hit"} 2');
    expect(metrics).toContain('headprobe_dns_cache_entries 2');
    const loop = await request(app.server).get('/v1/loop').expect(200);
    expect(loop.body.dns).toEqual({ queriesInFlight: 0, queriesWaiting: 0, cacheEntries: 2 });
  });
});
