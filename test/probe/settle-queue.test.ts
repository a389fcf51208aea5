import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { settleSoon } from '../../src/probe/settle-queue.js';

function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // burn CPU like the costly half of a probe would
  }
}

describe('settleSoon', () => {
  it('settles after the current callback, in first-in first-out order', async () => {
    const order: number[] = [];
    const all = new Promise<void>((resolve) => {
      for (let i = 0; i < 5; i++) {
        settleSoon({
          settle: () => {
            order.push(i);
            if (i === 4) resolve();
          },
        });
      }
    });
    expect(order).toEqual([]);
    await all;
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('hands the loop back between slices, so I/O waiting meanwhile is not held up', async () => {
    const count = 40;
    let settled = 0;
    const all = new Promise<void>((resolve) => {
      for (let i = 0; i < count; i++) {
        settleSoon({
          settle: () => {
            busyFor(0.25); // 40 × 0.25 ms: ten times one slice's budget
            if (++settled === count) resolve();
          },
        });
      }
    });
    // Queued behind the first slice, this runs before the second one.
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBeGreaterThan(0);
    expect(settled).toBeLessThan(count);
    await all;
    expect(settled).toBe(count);
  });

  it('a settle that throws is reported and does not stop the rest', async () => {
    const warning = once(process, 'warning');
    const later = new Promise<string>((resolve) => {
      settleSoon({
        settle: () => {
          throw new Error('broken settle');
        },
      });
      settleSoon({ settle: () => resolve('settled') });
    });
    await expect(later).resolves.toBe('settled');
    const [emitted] = (await warning) as [Error];
    expect(emitted.message).toBe('broken settle');
  });
});
