// Follows one job's results as they land: first what is stored after a given sequence
// number, then live events, each result exactly once, until the job ends. Streams (NDJSON,
// SSE) are built on it; a resuming client passes the last sequence number it saw.
import { isFinished, type JobProgress, type JobStatus } from '../schemas/job.js';
import type { JobEvent, JobStore, StoredResult } from './job-store.js';

const REPLAY_PAGE = 1000;
/**
 * While no event comes, how often the follower looks at the stored job itself: the one way to
 * see the end of a job whose `done` event was lost (Redis's pub/sub while it reconnects).
 */
const RECHECK_MS = 5_000;

/** A result, then (after each burst of results) where the job stands, then the end. */
export type FollowEvent =
  | { readonly type: 'result'; readonly result: StoredResult }
  | { readonly type: 'progress'; readonly progress: JobProgress }
  | { readonly type: 'done'; readonly status: JobStatus; readonly progress: JobProgress };

/**
 * `stopped` ends the follow early (the client went away) and releases the subscription at
 * once, rather than at the job's next event.
 */
export async function* followJob(
  store: JobStore,
  id: string,
  afterSeq: number,
  stopped?: AbortSignal,
  recheckMs = RECHECK_MS,
): AsyncGenerator<FollowEvent[], void, undefined> {
  // Subscribe before reading what is stored, so nothing lands in between unseen.
  const live: JobEvent[] = [];
  let wake: (() => void) | null = null;
  const unsubscribe = await store.subscribe(id, (event) => {
    live.push(event);
    wake?.();
  });
  const onStop = () => wake?.();
  stopped?.addEventListener('abort', onStop, { once: true });
  // Events come out in batches (whatever is ready), so a stream writes once per batch,
  // not once per result.
  const newResults = (events: readonly JobEvent[]): FollowEvent[] => {
    const out: FollowEvent[] = [];
    for (const event of events) {
      if (event.type !== 'result' || event.result.seq <= lastSeq) continue;
      lastSeq = event.result.seq;
      out.push({ type: 'result', result: event.result });
    }
    return out;
  };
  let lastSeq = afterSeq;
  /** What is stored after lastSeq, a page at a time. */
  async function* stored(): AsyncGenerator<FollowEvent[], void, undefined> {
    for (;;) {
      const page = await store.resultsAfter(id, lastSeq, REPLAY_PAGE);
      if (page.length === 0) return;
      lastSeq = page.at(-1)!.seq;
      yield page.map((result) => ({ type: 'result', result }));
    }
  }
  try {
    yield* stored();
    const job = await store.get(id);
    if (job === null) return;
    if (isFinished(job.status)) {
      // Every result is stored before the job ends, but one stored after the replay may not
      // have reached `live` yet (a networked store tells subscribers a moment later): read
      // the rest from the store.
      yield* stored();
      yield [{ type: 'done', status: job.status, progress: { ...job.progress } }];
      return;
    }
    yield [{ type: 'progress', progress: { ...job.progress } }];
    for (;;) {
      if (live.length === 0) {
        if (stopped?.aborted) return;
        let timer: NodeJS.Timeout | undefined;
        const heard = await new Promise<boolean>((resolve) => {
          wake = () => resolve(true);
          timer = setTimeout(() => resolve(false), recheckMs);
        });
        clearTimeout(timer);
        wake = null;
        if (heard || live.length > 0) continue;
        const now = await store.get(id);
        if (now === null) return;
        if (isFinished(now.status)) {
          yield* stored();
          yield [{ type: 'done', status: now.status, progress: { ...now.progress } }];
          return;
        }
        continue;
      }
      // Take the whole backlog: events that land while we yield wait in `live`.
      const backlog = live.splice(0);
      const done = backlog.findIndex((event) => event.type === 'done');
      // A networked store's events can be lost (Redis's pub/sub while it reconnects): a
      // sequence number that skips one, or the end, sends the follower to the stored results.
      const skipped = backlog.some(
        (event) => event.type === 'result' && event.result.seq > lastSeq + 1,
      );
      if (skipped || done !== -1) yield* stored();
      const ready = newResults(done === -1 ? backlog : backlog.slice(0, done));
      if (done !== -1) {
        yield [...ready, backlog[done] as FollowEvent];
        return;
      }
      const last = backlog.at(-1) as Extract<JobEvent, { type: 'result' }>;
      yield [...ready, { type: 'progress', progress: last.progress }];
    }
  } finally {
    stopped?.removeEventListener('abort', onStop);
    unsubscribe();
  }
}
