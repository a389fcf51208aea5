// For any mix of jobs, groups (callers), caps, destinations, completion orders, synchronous
// failures and cancels: no task starts above its job's destination cap or its group's cap,
// every input ends exactly once, every job completes, nothing of a destination is left
// behind, and whenever the scheduler is idle with a global slot free, no job with a slot of
// its own (and of its group's) has an input waiting at a destination below that job's cap:
// a job or a group held by its own cap must not hold a destination.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Scheduler, type Task } from '../../src/loop/index.js';

const destinationNames = ['a:443', 'b:443', 'c:80', null, 'throws'] as const;
type DestinationName = (typeof destinationNames)[number];

const cap = fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined });
// Job caps are mostly below the destination caps, so jobs held by their own cap are common.
const jobCap = fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined });
const destinationCap = fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined });

const scenario = fc.record({
  concurrency: fc.integer({ min: 1, max: 12 }),
  groupConcurrency: fc.integer({ min: 1, max: 12 }),
  destinationConcurrency: destinationCap,
  jobs: fc.array(
    fc.record({
      destinations: fc.array(fc.constantFrom(...destinationNames), { maxLength: 40 }),
      concurrency: fc.oneof(jobCap, cap),
      destinationConcurrency: destinationCap,
      group: fc.constantFrom('A', 'B', undefined),
    }),
    { minLength: 1, maxLength: 5 },
  ),
  // Each step settles the running task at `settle` (modulo how many run), rejecting it or
  // not; or cancels a job, now or from inside the next onTaskEnd.
  steps: fc.array(
    fc.oneof(
      { weight: 12, arbitrary: fc.record({ settle: fc.nat(), reject: fc.boolean() }) },
      { weight: 1, arbitrary: fc.record({ cancel: fc.nat(), fromOnTaskEnd: fc.boolean() }) },
    ),
    { maxLength: 200 },
  ),
  throwsOnStart: fc.array(fc.boolean(), { maxLength: 50 }),
});

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** Waits turns until one passes with no start, park or end: no pump is left to run. */
async function idle(scheduler: Scheduler<number, string>): Promise<void> {
  let before = JSON.stringify(scheduler.counts());
  for (;;) {
    await nextTurn();
    const after = JSON.stringify(scheduler.counts());
    if (after === before) return;
    before = after;
  }
}

describe('Scheduler destination and group caps (property)', () => {
  it('holds every cap, ends every input once, leaves nothing behind and holds no input back', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (plan) => {
        const destinationOfInput: DestinationName[] = [];
        const scanned = new Map<number, number>();
        const capOfJob = new Map<string, number>();
        const runningAt = new Map<string, number>();
        const runningOfJob = new Map<string, number>();
        const startedOrEnded = new Set<number>();
        const groupOfJob = new Map<string, string>();
        const runningOfGroup = new Map<string, number>();
        for (const [at, job] of plan.jobs.entries()) {
          groupOfJob.set(`j${at}`, job.group ?? `job:j${at}`);
        }
        const cancelled = new Set<string>();
        const pending: Array<{ task: Task<number>; resolve: () => void; reject: () => void }> = [];
        const violations: string[] = [];
        const heldBack: string[] = [];
        let inFlight = 0;
        let starts = 0;
        const keyOf = (input: number): string | null => {
          const name = destinationOfInput[input] ?? null;
          return name === 'throws' ? null : name;
        };
        const leave = (task: Task<number>) => {
          inFlight--;
          {
            const g = groupOfJob.get(task.jobId)!;
            runningOfGroup.set(g, (runningOfGroup.get(g) ?? 0) - 1);
          }
          runningOfJob.set(task.jobId, (runningOfJob.get(task.jobId) ?? 0) - 1);
          const key = keyOf(task.input);
          if (key !== null) runningAt.set(key, (runningAt.get(key) ?? 0) - 1);
        };
        const cancel = (jobId: string) => {
          cancelled.add(jobId);
          scheduler.cancelJob(jobId);
        };

        const scheduler = new Scheduler<number, string>({
          concurrency: plan.concurrency,
          groupConcurrency: plan.groupConcurrency,
          destinationConcurrency: plan.destinationConcurrency,
          destinationOf: (input) => {
            scanned.set(input, (scanned.get(input) ?? 0) + 1);
            if (destinationOfInput[input] === 'throws') throw new Error('unparseable');
            return keyOf(input);
          },
          runTask: (task) => {
            inFlight++;
            {
              const g = groupOfJob.get(task.jobId)!;
              const n = (runningOfGroup.get(g) ?? 0) + 1;
              runningOfGroup.set(g, n);
              if (n > Math.min(plan.groupConcurrency, plan.concurrency))
                violations.push(`group ${g} at ${n}`);
            }
            runningOfJob.set(task.jobId, (runningOfJob.get(task.jobId) ?? 0) + 1);
            startedOrEnded.add(task.input);
            const key = keyOf(task.input);
            if (key !== null) {
              const before = runningAt.get(key) ?? 0;
              if (before >= (capOfJob.get(task.jobId) ?? Number.POSITIVE_INFINITY)) {
                violations.push(`${task.id} started with ${before} running at ${key}`);
              }
              runningAt.set(key, before + 1);
            }
            if (plan.throwsOnStart[starts++ % 50] === true) {
              leave(task);
              throw new Error('sync');
            }
            return new Promise((resolve, reject) => {
              const settle = (then: () => void) => () => {
                leave(task);
                then();
              };
              pending.push({
                task,
                resolve: settle(() => resolve('ok')),
                reject: settle(() => reject(new Error('no'))),
              });
            });
          },
        });

        const ends = new Map<string, number>();
        const jobIds = plan.jobs.map((_, at) => `j${at}`);
        const inputsOfJob = new Map<string, number[]>();
        let cancelOnNextEnd: string | null = null;
        let total = 0;
        const handles = plan.jobs.map((job, at) => {
          const jobId = jobIds[at]!;
          const inputs = job.destinations.map((name) => destinationOfInput.push(name) - 1);
          inputsOfJob.set(jobId, inputs);
          total += inputs.length;
          capOfJob.set(
            jobId,
            job.destinationConcurrency ?? plan.destinationConcurrency ?? Number.POSITIVE_INFINITY,
          );
          return scheduler.submit({
            jobId,
            inputs,
            group: job.group,
            concurrency: job.concurrency,
            destinationConcurrency: job.destinationConcurrency,
            onTaskEnd: (task) => {
              ends.set(task.id, (ends.get(task.id) ?? 0) + 1);
              startedOrEnded.add(task.input);
              const jobToCancel = cancelOnNextEnd;
              cancelOnNextEnd = null;
              if (jobToCancel !== null) cancel(jobToCancel);
            },
          }).done;
        });
        let finished = false;
        const all = Promise.all(handles).then(() => {
          finished = true;
        });
        // Idle with a global slot free, a job below its own cap has every input not started
        // parked at a destination that is at that job's cap: no woken input holds a slot then.
        const checkNothingHeldBack = async () => {
          await idle(scheduler);
          if (inFlight >= plan.concurrency) return;
          plan.jobs.forEach((job, at) => {
            const jobId = jobIds[at]!;
            const jobCap = Math.min(job.concurrency ?? plan.concurrency, plan.concurrency);
            if (cancelled.has(jobId) || (runningOfJob.get(jobId) ?? 0) >= jobCap) return;
            if (
              (runningOfGroup.get(groupOfJob.get(jobId)!) ?? 0) >=
              Math.min(plan.groupConcurrency, plan.concurrency)
            )
              return;
            for (const input of inputsOfJob.get(jobId)!) {
              if (startedOrEnded.has(input)) continue;
              const key = keyOf(input);
              const running = key === null ? 0 : (runningAt.get(key) ?? 0);
              if (key === null || running < capOfJob.get(jobId)!) {
                heldBack.push(`${jobId} input ${input} waits with ${running} running at ${key}`);
              }
            }
          });
        };

        for (const step of plan.steps) {
          if (finished) break;
          if ('cancel' in step) {
            const jobId = jobIds[step.cancel % jobIds.length]!;
            if (step.fromOnTaskEnd) cancelOnNextEnd = jobId;
            else cancel(jobId);
          } else if (pending.length > 0) {
            const [settled] = pending.splice(step.settle % pending.length, 1);
            if (step.reject) settled!.reject();
            else settled!.resolve();
          }
          await checkNothingHeldBack();
        }
        while (!finished) {
          if (pending.length === 0) {
            await idle(scheduler);
            if (!finished && pending.length === 0) {
              throw new Error(`stuck: ${JSON.stringify(scheduler.snapshot().jobs)}`);
            }
          }
          pending.shift()?.resolve();
          heldBack.length = 0;
          await checkNothingHeldBack();
        }
        await all;

        expect(violations).toEqual([]);
        expect(heldBack).toEqual([]);
        expect(ends.size).toBe(total);
        expect([...ends.values()].every((count) => count === 1)).toBe(true);
        expect([...scanned.values()].every((count) => count === 1)).toBe(true);
        expect(scheduler.snapshot()).toMatchObject({
          running: 0,
          queued: 0,
          waitingForDestination: 0,
          destinations: 0,
          jobs: [],
        });
        await scheduler.drain();
      }),
      { numRuns: 300 },
    );
  });
});
