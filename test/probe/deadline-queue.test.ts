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

  it('times an item from its own add when the head before it was cancelled, and not late', async () => {
    const delayMs = 100;
    const queue = new DeadlineQueue<string>(delayMs, (item) => due.get(item)?.());
    const due = new Map<string, () => void>();
    const comesDue = (item: string) =>
      new Promise<number>((resolve) => {
        const addedAt = performance.now();
        due.set(item, () => resolve(performance.now() - addedAt));
        queue.add(item);
      });
    const head = queue.add('head');
    queue.cancel(head);
    // The next item comes 50 ms after the cancelled head (this wait only builds the case): the
    // timer armed for the head fires first and must re-arm for the rest of the item's delay.
    await new Promise<void>((resolve) => setTimeout(resolve, 50));
    const later = comesDue('later');
    // Three delays bound the lateness: a re-arm for several times the rest would miss it.
    let bound: NodeJS.Timeout | undefined;
    const tooLate = new Promise<'late'>((resolve) => {
      bound = setTimeout(() => resolve('late'), 3 * delayMs);
    });
    const outcome = await Promise.race([later, tooLate]);
    clearTimeout(bound);
    expect(outcome).not.toBe('late');
    expect(outcome as number).toBeGreaterThanOrEqual(delayMs - TIMER_SLACK_MS);
  });

  /** Runs `body` in a child with a DeadlineQueue in scope; resolves to its exit code. */
  async function exitCodeOf(body: string): Promise<number | null> {
    const script = `import { DeadlineQueue } from './src/probe/dns/deadline-queue.ts';\n${body}`;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    try {
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    } finally {
      child.kill('SIGKILL'); // a child that outlived a failed test
    }
  }

  it('does not keep the process alive once every item is cancelled', async () => {
    // Items of 60 s, cancelled at once: the child must exit as soon as its script ends.
    const code = await exitCodeOf(`
      const queue = new DeadlineQueue(60_000, () => process.exit(3));
      queue.cancel(queue.add('x'));
      queue.cancel(queue.add('y'));
    `);
    expect(code).toBe(0);
  }, 20_000);

  it('keeps the process alive while an item is pending, also after the queue was emptied', async () => {
    // Exit 7 only comes from onDue: a child that exits 0 ended with an item still pending.
    expect(await exitCodeOf(`new DeadlineQueue(50, () => process.exit(7)).add('x');`)).toBe(7);
    // Emptied, its timer no longer holds the process; the next item must hold it again.
    const afterEmptied = await exitCodeOf(`
      const queue = new DeadlineQueue(50, (item) => item === 'y' && process.exit(7));
      queue.cancel(queue.add('x'));
      queue.add('y');
    `);
    expect(afterEmptied).toBe(7);
  }, 20_000);
});
