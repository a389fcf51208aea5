// The page's one way to the service: a client typed from the committed OpenAPI document
// (openapi-typescript generates ./generated/api.ts at build time), the API key from session
// storage (never the URL), and a job's SSE stream read with fetch, so the key can go in a
// header, resumed with Last-Event-ID after a dropped connection.
import { createParser } from 'eventsource-parser';
import createClient from 'openapi-fetch';
import type { components, paths } from './generated/api';

export type Job = components['schemas']['Job'];
export type JobResult = components['schemas']['JobResult'];
export type JobProgress = components['schemas']['JobProgress'];
export type JobSummary = components['schemas']['JobSummary'];
export type Problem = components['schemas']['Problem'];
export type JobSubmissionBody = NonNullable<
  paths['/v1/jobs']['post']['requestBody']
>['content']['application/json'];

const KEY = 'headprobe.apiKey';

export const apiKey = {
  get: (): string => sessionStorage.getItem(KEY) ?? '',
  set: (value: string): void => {
    if (value === '') sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, value);
  },
};

function authorization(): Record<string, string> {
  const key = apiKey.get();
  return key === '' ? {} : { authorization: `Bearer ${key}` };
}

export const api = createClient<paths>({ baseUrl: location.origin });
api.use({
  onRequest({ request }) {
    for (const [name, value] of Object.entries(authorization())) request.headers.set(name, value);
    return request;
  },
});

export type JobEvent =
  | { type: 'result'; result: JobResult }
  | { type: 'progress'; progress: JobProgress }
  | { type: 'done'; status: string; progress: JobProgress }
  | { type: 'reconnecting' };

/** Follows job `id` from the start until `done` or until `signal` aborts. */
export async function followJob(
  id: string,
  onEvent: (event: JobEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  // Moved by the parser's callback: a holder, so the loop reads its latest value.
  const seen: { lastEventId: string | null } = { lastEventId: null };
  for (let tries = 0; !signal.aborted; tries++) {
    let done = false;
    try {
      const response = await fetch(`/v1/jobs/${encodeURIComponent(id)}/events`, {
        headers: {
          accept: 'text/event-stream',
          ...authorization(),
          ...(seen.lastEventId === null ? {} : { 'last-event-id': seen.lastEventId }),
        },
        signal,
      });
      if (!response.ok || response.body === null) {
        if (response.status !== 429 && response.status < 500) {
          throw new Error(`the job cannot be followed (${response.status})`);
        }
      } else {
        const parser = createParser({
          onEvent: (message) => {
            const data = JSON.parse(message.data);
            if (message.event === 'result') onEvent({ type: 'result', result: data });
            else if (message.event === 'progress') onEvent({ type: 'progress', progress: data });
            else if (message.event === 'done') {
              done = true;
              onEvent({ type: 'done', status: data.status, progress: data.progress });
            }
            if (message.id !== undefined) seen.lastEventId = message.id;
          },
        });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done: ended } = await reader.read();
          if (ended) break;
          parser.feed(value);
          tries = 0;
          if (done) {
            await reader.cancel();
            break;
          }
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof Error && error.message.startsWith('the job cannot')) throw error;
    }
    if (done || signal.aborted) return;
    onEvent({ type: 'reconnecting' });
    await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** tries, 4_000)));
  }
}

export type ExportFormat = 'jsonl' | 'csv' | 'har';

/** Saves the finished job's results through the service's export endpoints. */
export async function downloadExport(id: string, format: ExportFormat): Promise<void> {
  const query = format === 'jsonl' ? '' : `?format=${format}`;
  const accept = format === 'jsonl' ? 'application/x-ndjson' : '*/*';
  const response = await fetch(`/v1/jobs/${encodeURIComponent(id)}/results${query}`, {
    headers: { accept, ...authorization() },
  });
  if (!response.ok) throw new Error(`export failed (${response.status})`);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = `headprobe-${id}.${format}`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
