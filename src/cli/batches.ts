// The command's input, a batch at a time: a full batch as soon as it is full, a partial one
// once no target has come for `idleMs` (a `tail -f`, an enumerator that trickles), and
// nothing more once `stopped` settles (Ctrl-C must not wait for a line that is slow to come).
// Nothing is read while the consumer holds a batch: its pace is the input's.

const IDLE = Symbol('idle');

async function* batchesOf(
  targets: AsyncIterable<string>,
  size: number,
  idleMs: number,
  stopped: Promise<null>,
): AsyncGenerator<string[]> {
  const iterator = targets[Symbol.asyncIterator]();
  let batch: string[] = [];
  // One timer per partial batch, not one per line.
  let idle: Promise<typeof IDLE> | null = null;
  let timer: NodeJS.Timeout | null = null;
  const calm = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    idle = null;
  };
  let next = iterator.next();
  try {
    for (;;) {
      idle ??=
        batch.length === 0
          ? null
          : new Promise((resolve) => {
              timer = setTimeout(() => resolve(IDLE), idleMs);
            });
      const step = await Promise.race(idle === null ? [next, stopped] : [next, stopped, idle]);
      if (step === null) return;
      if (step === IDLE) {
        calm();
        const full = batch;
        batch = [];
        yield full;
        continue;
      }
      if (step.done === true) break;
      batch.push(step.value);
      next = iterator.next();
      if (batch.length === size) {
        calm();
        const full = batch;
        batch = [];
        yield full;
      }
    }
    calm();
    if (batch.length > 0) yield batch;
  } finally {
    calm();
    // Stopped mid-read: the input is let go (a file closed, stdin no longer read).
    void iterator.return?.();
  }
}

export interface BatchRun {
  readonly size: number;
  readonly idleMs: number;
  readonly stopped: Promise<null>;
  readonly isStopped: () => boolean;
  /** Settles once the batch is done with; never rejects. */
  readonly submit: (batch: string[], offset: number) => Promise<unknown>;
  readonly onTargetsRead?: (count: number, complete: boolean) => void;
}

/**
 * Hands each batch to `submit` with the index of its first target, two out at a time (so the
 * caps stay busy across a boundary): the next is read once the older of the two is done.
 */
export async function submitInBatches(
  targets: AsyncIterable<string>,
  run: BatchRun,
): Promise<void> {
  const out: Array<Promise<unknown>> = [];
  let read = 0;
  for await (const batch of batchesOf(targets, run.size, run.idleMs, run.stopped)) {
    out.push(run.submit(batch, read));
    read += batch.length;
    run.onTargetsRead?.(read, false);
    while (out.length >= 2) await out.shift();
  }
  run.onTargetsRead?.(read, !run.isStopped());
  await Promise.all(out);
}
