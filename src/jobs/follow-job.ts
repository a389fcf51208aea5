// Follows one job's results as they land: first what is stored after a given sequence
// number, then live events, each result exactly once, until the job ends. Streams (NDJSON,
// SSE) are built on it; a resuming client passes the last sequence number it saw.
import type { JobProgress, JobStatus } from '../schemas/job.js';
import { isFinished } from './job-service.js';
import type { JobEvent, JobStore, StoredResult } from './job-store.js';

const REPLAY_PAGE = 1000;

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
): AsyncGenerator<FollowEvent, void, undefined> {
  // Subscribe before reading what is stored, so nothing lands in between unseen.
  const live: JobEvent[] = [];
  let wake: (() => void) | null = null;
  const unsubscribe = store.subscribe(id, (event) => {
    live.push(event);
    wake?.();
  });
  const onStop = () => wake?.();
  stopped?.addEventListener('abort', onStop, { once: true });
  try {
    let lastSeq = afterSeq;
    for (;;) {
      const page = await store.resultsAfter(id, lastSeq, REPLAY_PAGE);
      if (page.length === 0) break;
      for (const result of page) {
        lastSeq = result.seq;
        yield { type: 'result', result };
      }
    }
    const job = await store.get(id);
    if (job === null) return;
    if (isFinished(job.status)) {
      // Results stored after the replay but before the job ended are in `live`.
      for (const event of live) {
        if (event.type === 'result' && event.result.seq > lastSeq) {
          lastSeq = event.result.seq;
          yield { type: 'result', result: event.result };
        }
      }
      yield { type: 'done', status: job.status, progress: { ...job.progress } };
      return;
    }
    yield { type: 'progress', progress: { ...job.progress } };
    for (;;) {
      if (live.length === 0) {
        if (stopped?.aborted) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
        continue;
      }
      // Take the whole backlog first: events that land while we yield wait in `live`.
      const batch = live.splice(0);
      let latest: JobProgress | null = null;
      for (const event of batch) {
        if (event.type === 'done') {
          yield event;
          return;
        }
        latest = event.progress;
        if (event.result.seq <= lastSeq) continue;
        lastSeq = event.result.seq;
        yield { type: 'result', result: event.result };
      }
      if (latest !== null) yield { type: 'progress', progress: latest };
    }
  } finally {
    stopped?.removeEventListener('abort', onStop);
    unsubscribe();
  }
}
