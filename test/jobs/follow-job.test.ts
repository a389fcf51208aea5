// followJob over a store whose live events can go missing, as Redis's pub/sub loses what is
// published while a subscriber reconnects: the follower still hands over every result once,
// in order, and sees the end, from the stored results and the stored job.
import { describe, expect, it } from 'vitest';
import { type FollowEvent, followJob } from '../../src/jobs/follow-job.js';
import type { JobEvent } from '../../src/jobs/job-store.js';
import { MemoryJobStore } from '../../src/jobs/memory-job-store.js';
import { JobOptions } from '../../src/schemas/job.js';

/** A memory store that drops the events `lost` picks before they reach subscribers. */
class LossyStore extends MemoryJobStore {
  constructor(private readonly lost: (event: JobEvent) => boolean) {
    super({ maxJobs: 10, retentionMs: 60_000 });
  }

  override subscribe(id: string, listener: (event: JobEvent) => void) {
    return super.subscribe(id, (event) => {
      if (!this.lost(event)) listener(event);
    });
  }
}

async function follow(store: MemoryJobStore, recheckMs?: number) {
  const job = await store.create({
    id: 'followed',
    createdAt: Date.now(),
    options: JobOptions.parse({}),
    targets: ['a', 'b', 'c', 'd'],
    caller: 'c',
    owner: null,
    idempotencyKey: null,
    requestHash: null,
  });
  const runJob = async () => {
    for (const index of [2, 0, 3, 1]) {
      await store.appendResult(job.id, index, true, `{"index":${index}}`);
    }
    await store.finish(job.id, 'succeeded', Date.now());
  };
  const events: FollowEvent[] = [];
  let running: Promise<void> | null = null;
  const following = (async () => {
    for await (const batch of followJob(store, job.id, 0, undefined, recheckMs)) {
      events.push(...batch);
      // The first batch (progress) says the follower is live: the job runs from here.
      if (running === null && batch.some((event) => event.type === 'progress')) running = runJob();
    }
  })();
  await following;
  await running;
  return events;
}

const seqs = (events: FollowEvent[]) =>
  events.flatMap((event) => (event.type === 'result' ? [event.result.seq] : []));

describe('followJob with lost events', () => {
  it('fills a gap in the sequence from the store', async () => {
    const store = new LossyStore((event) => event.type === 'result' && event.result.seq === 2);
    const events = await follow(store);

    expect(seqs(events)).toEqual([1, 2, 3, 4]);
    expect(events.at(-1)).toMatchObject({ type: 'done', status: 'succeeded' });
  });

  it('reads the last results and the end from the store when the done event is lost', async () => {
    const store = new LossyStore(
      (event) => event.type === 'done' || (event.type === 'result' && event.result.seq === 4),
    );
    const events = await follow(store, 50);

    expect(seqs(events)).toEqual([1, 2, 3, 4]);
    expect(events.at(-1)).toMatchObject({ type: 'done', status: 'succeeded' });
  });
});
