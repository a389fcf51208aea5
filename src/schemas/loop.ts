// The shared loop's live state as GET /v1/loop shows it.
import { z } from 'zod';

export const LoopState = z
  .object({
    concurrency: z.int().describe('Global cap on targets in flight.'),
    running: z.int(),
    queued: z
      .int()
      .describe('Targets not started yet, those waiting for their destination included.'),
    waitingForDestination: z
      .int()
      .describe('Queued targets whose host:port is at its cap (concurrencyPerDestination).'),
    destinations: z.int().describe('Distinct host:port destinations with targets in flight.'),
    draining: z.boolean(),
    queue: z
      .object({
        waiting: z.int().describe('Chunks waiting for a worker, across the cluster.'),
        active: z.int().describe('Chunks a worker is running.'),
      })
      .nullable()
      .describe(
        'With Redis, on an API process: the chunk queue. Null without Redis, on a worker, and ' +
          'while Redis does not answer. The rest of this resource is this process only.',
      ),
    workers: z
      .array(
        z.object({
          id: z.string().describe('Random per worker process, new at each start.'),
          host: z.string(),
          pid: z.int(),
          concurrency: z.int().describe("The worker's global cap on targets in flight."),
          running: z.int(),
          queued: z.int(),
          waitingForDestination: z.int(),
          jobs: z.int().describe('Jobs (or chunks of them) on its loop.'),
          seenAt: z.iso.datetime().describe('Its last report (every 2 s; gone after 10 s).'),
        }),
      )
      .nullable()
      .describe(
        "With Redis: every process that runs chunks, and its loop's counts as it last " +
          'reported them. Null without Redis, while Redis does not answer, and for a caller ' +
          'whose key is not an operator key (when keys are on).',
      ),
    jobs: z.array(
      z.object({
        jobId: z.string(),
        total: z.int(),
        queued: z.int(),
        waitingForDestination: z.int(),
        running: z.int(),
        done: z.int(),
        failed: z.int(),
        cancelled: z.int(),
        concurrency: z.int().describe("This job's cap."),
      }),
    ),
    otherCallersJobs: z
      .object({ jobs: z.int(), running: z.int(), queued: z.int() })
      .describe(
        "Other callers' jobs, as totals only: with API keys a caller sees its own jobs above " +
          '(an operator key, or an open API, sees every job there and zeros here).',
      ),
    dns: z
      .object({
        queriesInFlight: z.int().describe('DNS queries on the wire.'),
        queriesWaiting: z
          .int()
          .describe('DNS queries waiting for a slot under HEADPROBE_DNS_MAX_QUERIES.'),
        cacheEntries: z.int().describe('Entries in the shared DNS cache.'),
      })
      .nullable()
      .describe("The builtin resolver's state; null with HEADPROBE_DNS=system."),
    eventLoop: z
      .object({
        delayMs: z.object({ p50: z.number(), p99: z.number(), max: z.number(), mean: z.number() }),
        utilization: z.number().describe('Share of the window spent running code, 0..1.'),
      })
      .describe('Measured over the window since the previous read of this resource.'),
  })
  .meta({ id: 'LoopState' });
