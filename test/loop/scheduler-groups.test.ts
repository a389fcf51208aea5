// Groups (callers): turns go round the groups first, then round each group's jobs, and one
// group's running tasks are capped, so a caller with slow work cannot hold every slot.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp, runToEnd, setup } from './scheduler-harness.js';

afterEach(cleanUp);

describe('Scheduler groups', () => {
  it('holds a group to its cap across its jobs, so another group starts at once', async () => {
    const { scheduler, harness } = setup(10, { groupConcurrency: 8 });
    // Caller A's two jobs of tasks that never end by themselves want every slot.
    scheduler.submit({ ...harness.job('a1', 50), group: 'A' });
    scheduler.submit({ ...harness.job('a2', 50), group: 'A' });
    const runningOf = (prefix: string) =>
      harness.pending.filter((started) => started.task.jobId.startsWith(prefix)).length;
    expect(runningOf('a')).toBe(8);
    // Caller B's small job arrives while A holds its 8: it takes the 2 slots left, at once.
    const small = scheduler.submit({ ...harness.job('b', 2), group: 'B' });
    expect(runningOf('b')).toBe(2);
    await harness.release((started) => started.task.jobId === 'b');
    await harness.release((started) => started.task.jobId === 'b');
    await small.done;
    // A slot a group frees goes to a group below its cap: A is at 8, so its slots stay free.
    expect(runningOf('a')).toBe(8);
    expect(scheduler.snapshot().running).toBe(8);
  });

  it('takes turns by group, then by job: one job of one caller gets every other slot', async () => {
    const { scheduler, harness } = setup(1);
    for (const id of ['a1', 'a2', 'a3']) scheduler.submit({ ...harness.job(id, 4), group: 'A' });
    const b = scheduler.submit({ ...harness.job('b', 4), group: 'B' });
    await runToEnd(harness, b.done);
    // The slot b's last task frees goes on to A; the first 8 starts tell the order.
    const order = harness.started.slice(0, 8).map((started) => started.task.jobId);
    // a1 had started before B's job was submitted; then B alternates with A's jobs in turn.
    expect(order).toEqual(['a1', 'b', 'a2', 'b', 'a3', 'b', 'a1', 'b']);
  });

  it('treats jobs without a group as groups of their own (round-robin by job)', async () => {
    const { scheduler, harness } = setup(1);
    scheduler.submit(harness.job('x', 3));
    const y = scheduler.submit(harness.job('y', 3));
    await runToEnd(harness, y.done);
    expect(harness.started.slice(0, 6).map((started) => started.task.jobId)).toEqual([
      'x',
      'y',
      'x',
      'y',
      'x',
      'y',
    ]);
  });
});
