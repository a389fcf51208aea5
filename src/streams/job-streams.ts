// The wire forms of a followed job, for the routes: NDJSON lines, SSE messages, the JSON
// page spliced from stored results, and the signal that stops a follow when its client goes.
import type { FastifyReply } from 'fastify';
import { onResponseDone } from '../http/response-done.js';
import type { FollowEvent } from '../jobs/follow-job.js';
import type { StoredResult } from '../jobs/job-store.js';
import { isFiltering, passesFilter, type ResultFilter } from '../jobs/result-filter.js';

/** Aborts when the response is over or the client is gone: streams stop following then. */
export function closedSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  onResponseDone(reply.raw, () => controller.abort());
  return controller.signal;
}

export async function* ndjsonLines(
  batches: AsyncIterable<FollowEvent[]>,
  filter: ResultFilter = {},
): AsyncGenerator<string> {
  const filtering = isFiltering(filter);
  for await (const batch of batches) {
    let chunk = '';
    for (const event of batch) {
      if (event.type !== 'result') continue;
      if (filtering && !passesFilter(filter, event.result.json)) continue;
      chunk += `${event.result.json}\n`;
    }
    if (chunk !== '') yield chunk;
  }
}

export async function* sseMessages(batches: AsyncIterable<FollowEvent[]>, afterSeq: number) {
  // Every message carries the last result's sequence number, so Last-Event-ID always resumes right.
  let lastSeq = afterSeq;
  for await (const batch of batches) {
    for (const event of batch) {
      if (event.type === 'result') {
        lastSeq = event.result.seq;
        yield { id: String(lastSeq), event: 'result', data: event.result.json };
      } else if (event.type === 'progress') {
        yield { id: String(lastSeq), event: 'progress', data: event.progress };
      } else {
        yield {
          id: String(lastSeq),
          event: 'done',
          data: { status: event.status, progress: event.progress },
        };
      }
    }
  }
}

/** Stored results are JSON already: spliced into the page rather than parsed and re-serialised. */
export function resultPageJson(page: readonly StoredResult[], nextCursor: string | null): string {
  return `{"results":[${page.map((r) => r.json).join(',')}],"nextCursor":${JSON.stringify(nextCursor)}}`;
}
