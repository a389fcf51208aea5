import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { DeadlineQueue } from '../../src/probe/dns/deadline-queue.js';

/** Node's timers may fire up to a millisecond before performance.now() says the delay is up. */
const TIMER_SLACK_MS = 1.5;

describe('DeadlineQueue', () => {
  it('hands items out once their delay is up, in the order they were added', async () => {
    const delayMs = 40;
    const due: Array<{ item: string; afterMs: number }> = [];
    const addedAt = new Map<string, number>();
    const allDue = new Promise<void>((resolve) => {
      const queue = new DeadlineQueue<string>(delayMs, (item) => {
        due.push({ item, afterMs: performance.now() - addedAt.get(item)! });
        if (due.length === 3) resolve();
      });
      for (const item of ['a', 'b', 'c']) {
        addedAt.set(item, performance.now());
        queue.add(item);
      }
      expect(queue.size).toBe(3);
    });
    await allDue;
    expect(due.map((d) => d.item)).toEqual(['a', 'b', 'c']);
    for (const { afterMs } of due) expect(afterMs).toBeGreaterThanOrEqual(delayMs - TIMER_SLACK_MS);
  });

  it('never hands out a cancelled item, and times a later item from when it was added', async () => {
    const delayMs = 30;
    const due: string[] = [];
    let lateAddedAt = 0;
    let lateDueAfter = 0;
    await new Promise<void>((resolve) => {
      const queue = new DeadlineQueue<string>(delayMs, (item) => {
        due.push(item);
        if (item === 'kept') {
          // Added while the queue hands items out: it gets a delay of its own.
          lateAddedAt = performance.now();
          queue.add('late');
        }
        if (item === 'late') {
          lateDueAfter = performance.now() - lateAddedAt;
          resolve();
        }
      });
      const cancelled = queue.add('cancelled');
      queue.add('kept');
      queue.cancel(cancelled);
      queue.cancel(cancelled); // twice is harmless
      expect(queue.size).toBe(1);
    });
    expect(due).toEqual(['kept', 'late']);
    expect(lateDueAfter).toBeGreaterThanOrEqual(delayMs - TIMER_SLACK_MS);
  });

  it('hands out nothing after clear()', async () => {
    const due: string[] = [];
    const queue = new DeadlineQueue<string>(10, (item) => due.push(item));
    queue.add('dropped');
    queue.clear();
    expect(queue.size).toBe(0);
    // A second queue's item, added later with a longer delay, comes due after the first's would.
    await new Promise<void>((resolve) =>
      new DeadlineQueue<string>(30, () => resolve()).add('marker'),
    );
    expect(due).toEqual([]);
  });

  it('does not keep the process alive once every item is cancelled', async () => {
    // A child with one item of 60 s, cancelled at once: it must exit as soon as its script ends.
    const script = `
      import { DeadlineQueue } from './src/probe/dns/deadline-queue.ts';
      const queue = new DeadlineQueue(60_000, () => process.exit(3));
      queue.cancel(queue.add('x'));
      queue.cancel(queue.add('y'));
    `;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  }, 20_000);
});
