// Why probes settle later than they finish: a probe's clock stops inside the socket callback
// that ends it, but building its result, closing its socket and everything its promise sets
// off (the scheduler starting the next target, the service storing and streaming the result)
// costs a hundred microseconds or more. Done in that callback, it delays every other socket
// callback of the same loop turn, and a burst of 200 replies would stamp the last one's first
// byte 20 ms late. So the callback only stamps and enqueues; settling runs after the poll
// phase, in slices of about SLICE_MS, and the next poll stamps whatever arrived meanwhile.
// A probe whose name has just resolved waits here to dial, for the same reason.

/** Something whose costly second half can wait a little. */
export interface Settleable {
  settle(): void;
}

/** Budget of one slice: how late, at most, a stamp can be because of settling work. */
const SLICE_MS = 0.5;

const pending: (Settleable | undefined)[] = [];
let head = 0;
let scheduled = false;

/** Runs `item.settle()` soon, after the current poll phase, in first-in first-out order. */
export function settleSoon(item: Settleable): void {
  pending.push(item);
  if (!scheduled) {
    scheduled = true;
    setImmediate(runSlice);
  }
}

/**
 * Settles queued items until the slice's budget is spent. Each `await` lets the microtasks a
 * settled item set off run before the clock is read again, so the budget covers them too.
 */
async function runSlice(): Promise<void> {
  const sliceEnd = performance.now() + SLICE_MS;
  do {
    const item = pending[head]!;
    pending[head++] = undefined;
    try {
      item.settle();
    } catch (error) {
      // settle() must not throw; if one does anyway, the rest of the queue still settles.
      process.emitWarning(error instanceof Error ? error : new Error(String(error)));
    }
    await undefined;
  } while (head < pending.length && performance.now() < sliceEnd);
  if (head === pending.length) {
    pending.length = 0;
    head = 0;
    scheduled = false;
  } else {
    if (head > 1024) {
      pending.splice(0, head);
      head = 0;
    }
    setImmediate(runSlice);
  }
}
