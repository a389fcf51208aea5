// /v1/jobs: submit a batch, follow it (poll, NDJSON, SSE), page or export its results (CSV,
// HAR), cancel, delete.
import { pipeline, Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../src/config.js';
import { CSV_MEDIA_TYPE } from '../src/exports/csv.js';
import { HAR_MEDIA_TYPE } from '../src/exports/har.js';
import { exportJob } from '../src/exports/job-export.js';
import { acceptsAny, NotAcceptableError, preferredMediaType } from '../src/http/accept.js';
import { onResponseDone } from '../src/http/response-done.js';
import { followJob } from '../src/jobs/follow-job.js';
import { JobNotFinishedError, JobNotFoundError } from '../src/jobs/job-errors.js';
import { InvalidCursorError, type JobRecord } from '../src/jobs/job-store.js';
import type { Submitted } from '../src/jobs/job-submissions.js';
import { jobSummary, jobView } from '../src/jobs/job-view.js';
import { type ResultFilter, resultsPage } from '../src/jobs/result-filter.js';
import {
  isFinished,
  Job,
  JobIdParams,
  JobList,
  JobSubmission,
  jobSubmissionExamples,
  ListJobsQuery,
  ResultPage,
  ResultsQuery,
  type resultFormats,
} from '../src/schemas/job.js';
import { Problem } from '../src/schemas/problem.js';
import { CoalescingStream } from '../src/streams/coalescing-stream.js';
import {
  closedSignal,
  ndjsonLines,
  resultPageJson,
  sseMessages,
} from '../src/streams/job-streams.js';

export interface JobRoutesOptions {
  readonly config: Config;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The job a request is about, for the request log line. */
    jobId: string | null;
  }
}

const NDJSON = 'application/x-ndjson';
const JSON_TYPE = 'application/json';
/** How soon a poller should look again while a job runs. */
const RETRY_AFTER_S = '1';

/** RFC 7240 `Prefer: wait=N` in seconds, capped; null when absent. */
export function preferredWaitSeconds(
  prefer: string | undefined,
  maxSeconds: number,
): number | null {
  const match = /(?:^|[,;\s])wait\s*=\s*"?(\d{1,6})"?/i.exec(prefer ?? '');
  return match === null ? null : Math.min(Number(match[1]), maxSeconds);
}

const PreferHeaders = z.object({
  prefer: z
    .string()
    .max(256)
    .optional()
    .describe('RFC 7240, e.g. `wait=10`: answer 200 with the finished job if it ends within 10 s.'),
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .optional()
    .describe('A retry with the same key and body returns the same job.'),
});

const problems = {
  400: Problem,
  401: Problem,
  404: Problem,
  413: Problem,
  422: Problem,
  429: Problem,
  503: Problem,
};

type ResultFormat = (typeof resultFormats)[number];

const RESULT_TYPES: Record<ResultFormat, string> = {
  json: JSON_TYPE,
  ndjson: NDJSON,
  csv: CSV_MEDIA_TYPE,
  har: HAR_MEDIA_TYPE,
};

/** ?format= wins; else what the Accept header prefers (a JSON page on a tie or a wildcard). */
function resultFormatOf(format: ResultFormat | undefined, accept: string | undefined) {
  if (format !== undefined) return format;
  const media = preferredMediaType(accept, Object.values(RESULT_TYPES));
  const found = Object.entries(RESULT_TYPES).find(([, type]) => type === media);
  return (found?.[0] ?? 'json') as ResultFormat;
}

/** A results cursor is a sequence number this server handed out (`nextCursor`). */
function resultsCursor(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\d{1,15}$/.test(value)) throw new InvalidCursorError();
  return Number(value);
}

/** Last-Event-ID is what a browser echoes: anything unreadable resumes from the start. */
function lastEventSeq(value: string | null | undefined): number {
  const seq = Number(value);
  return Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
}

const jobRoutes: FastifyPluginAsyncZod<JobRoutesOptions> = async (app, { config }) => {
  app.decorateRequest('jobId', null);
  // Every route here answers JSON (and /results NDJSON, CSV and HAR too, or the one its
  // ?format= names); /events negotiates for itself.
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url ?? '';
    if (route.endsWith('/events')) return;
    const format = (request.query as { format?: string }).format;
    const produces = !route.endsWith('/results')
      ? [JSON_TYPE]
      : Object.hasOwn(RESULT_TYPES, format ?? '')
        ? [RESULT_TYPES[format as ResultFormat]]
        : Object.values(RESULT_TYPES);
    if (!acceptsAny(request.headers.accept, produces)) throw new NotAcceptableError(produces);
  });
  const inlineCap = config.inlineResults;
  const targetRateLimit = app.targetRateLimit;
  const streams = app.streams;

  /** A stream slot for this request's caller, given back when the response closes. */
  function takeStreamSlot(request: FastifyRequest, reply: FastifyReply): void {
    onResponseDone(reply.raw, streams.take(request.caller));
  }
  const store = app.jobStore;

  /** The job, if this caller may see it: another key's job is as absent as an unknown one. */
  async function requireJob(id: string, request: FastifyRequest): Promise<JobRecord> {
    const job = await store.get(id);
    if (job === null || !(request.seesEveryJob || job.owner === request.owner)) {
      throw new JobNotFoundError(id);
    }
    return job;
  }

  app.post(
    '/v1/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Submit a batch of targets',
        description:
          'Every target becomes one probe on the shared loop. Answers 202 with the job and a ' +
          'Location to poll; with `Prefer: wait=N`, 200 with the finished job if it ends within N s.',
        headers: PreferHeaders,
        body: JobSubmission.extend({
          targets: JobSubmission.shape.targets.max(config.maxTargets),
        }).meta({ examples: jobSubmissionExamples }),
        response: { 200: Job, 202: Job, ...problems },
      },
    },
    async (request, reply) => {
      const key = request.headers['idempotency-key'] ?? null;
      const targets = request.body.targets.length;
      await targetRateLimit.take(request.caller, targets);
      // Only work accepted is charged: a refusal (full, overloaded, over a cap) or a replay of
      // an earlier submission gives the targets back.
      let submitted: Submitted;
      try {
        submitted = await app.jobSubmissions.submit(request.body, key, {
          caller: request.caller,
          owner: request.owner,
        });
      } catch (error) {
        await targetRateLimit.refund(request.caller, targets);
        throw error;
      }
      if (!submitted.created) await targetRateLimit.refund(request.caller, targets);
      const { job } = submitted;
      request.jobId = job.id;
      reply.header('Location', `/v1/jobs/${job.id}`);
      const waitS = preferredWaitSeconds(request.headers.prefer, config.maxWaitMs / 1000);
      let current = job;
      if (waitS !== null) {
        const waited = await app.jobControl.waitForEnd(job.id, waitS * 1000);
        // Deleted during the wait (by its owner, in another request): the job is gone, and
        // answering with the record from before the wait would describe a job that is not.
        if (waited === null) {
          reply.removeHeader('Location');
          throw new JobNotFoundError(job.id);
        }
        current = waited;
        reply.header('Preference-Applied', `wait=${waitS}`);
      }
      const finished = isFinished(current.status);
      if (!finished) reply.header('Retry-After', RETRY_AFTER_S);
      return reply
        .code(waitS !== null && finished ? 200 : 202)
        .send(await jobView(current, store, inlineCap));
    },
  );

  app.get(
    '/v1/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'List jobs, newest first',
        querystring: ListJobsQuery,
        response: { 200: JobList, 400: Problem },
      },
    },
    async (request) => {
      const page = await store.list(
        request.seesEveryJob ? request.query : { ...request.query, owner: request.owner },
      );
      return { jobs: page.jobs.map(jobSummary), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/jobs/:id',
    {
      schema: {
        tags: ['jobs'],
        summary: 'A job: status, progress and results so far',
        params: JobIdParams,
        response: { 200: Job, 404: Problem },
      },
    },
    async (request, reply) => {
      request.jobId = request.params.id;
      const job = await requireJob(request.params.id, request);
      if (!isFinished(job.status)) reply.header('Retry-After', RETRY_AFTER_S);
      return jobView(job, store, inlineCap);
    },
  );

  app.get(
    '/v1/jobs/:id/results',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Results in completion order: a JSON page, an NDJSON stream, CSV or HAR',
        description:
          'With `Accept: application/x-ndjson` (or `?format=ndjson`), one JobResult per line, ' +
          'streamed as targets finish until the job ends (`cursor` resumes after a sequence ' +
          'number). With `Accept: text/csv` or `application/har+json` (or `?format=csv`, ' +
          '`?format=har`), the whole finished job as one download: CSV with the columns of ' +
          "the README's table, or a HAR 1.2 log with an entry per request (redirect hops " +
          'included); a job that still runs answers 409 job_not_finished. Otherwise a page of ' +
          'at most `limit` results with `nextCursor`. `?format=` wins over Accept. `finding`, ' +
          '`grade` and `error` keep only the results that have them (every one given must ' +
          'hold), in every format; a filtered page looks at no more than 2,000 stored ' +
          'results, so it may hold fewer than `limit`, even none, while `nextCursor` leads on.',
        params: JobIdParams,
        querystring: ResultsQuery,
        response: {
          200: ResultPage,
          400: Problem,
          404: Problem,
          409: Problem,
          429: Problem,
          503: Problem,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      request.jobId = id;
      const job = await requireJob(id, request);
      const afterSeq = resultsCursor(request.query.cursor);
      const format = resultFormatOf(request.query.format, request.headers.accept);
      const { finding, grade, error } = request.query;
      const filter: ResultFilter = { finding, grade, error };
      // One URL, four representations: a cache must key them on Accept.
      reply.header('Vary', 'Accept');
      if (format === 'csv' || format === 'har') {
        if (!isFinished(job.status)) throw new JobNotFinishedError(id, format.toUpperCase());
        takeStreamSlot(request, reply);
        const document = exportJob(
          store,
          id,
          job.progress.done,
          job.options,
          format,
          filter,
          closedSignal(reply),
        );
        return reply
          .type(format === 'csv' ? `${CSV_MEDIA_TYPE}; charset=utf-8` : HAR_MEDIA_TYPE)
          .header('Content-Disposition', `attachment; filename="headprobe-${id}.${format}"`)
          .send(document as never);
      }
      if (format === 'ndjson') {
        takeStreamSlot(request, reply);
        // Lines are coalesced into a write every few milliseconds; pipeline() tears both
        // streams down together if the client goes away.
        const lines = new CoalescingStream();
        pipeline(
          Readable.from(ndjsonLines(followJob(store, id, afterSeq, closedSignal(reply)), filter)),
          lines,
          () => {},
        );
        // Node sends a response head with the first body write; a client following a job
        // whose targets are slow would see nothing at all until then. So the head goes out
        // as soon as Fastify pipes the stream into the response.
        reply.raw.once('pipe', () => reply.raw.flushHeaders());
        // A stream and a pre-serialised body are sent as they are; the schema documents them.
        // The connection ends with the stream: no idle keep-alive left to hold up a shutdown.
        return reply
          .type(NDJSON)
          .header('Connection', 'close')
          .send(lines as never);
      }
      const { results: page, lastSeq } = await resultsPage(
        store,
        id,
        afterSeq,
        request.query.limit,
        filter,
      );
      const allRead = isFinished(job.status) && lastSeq >= job.progress.done;
      const nextCursor = allRead ? null : String(lastSeq);
      return reply
        .type('application/json; charset=utf-8')
        .send(resultPageJson(page, nextCursor) as never);
    },
  );

  app.get(
    '/v1/jobs/:id/events',
    {
      sse: {
        kind: 'only',
        serializer: (data: unknown) => (typeof data === 'string' ? data : JSON.stringify(data)),
      },
      schema: {
        tags: ['jobs'],
        summary: 'Server-Sent Events: result, progress, done',
        description:
          'Each `result` event carries one JobResult and its sequence number as the event id; ' +
          '`progress` follows each burst of results; `done` ends the stream. Reconnect with ' +
          '`Last-Event-ID` to resume without gaps or repeats.',
        params: JobIdParams,
        response: { 404: Problem, 429: Problem, 503: Problem },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      request.jobId = id;
      await requireJob(id, request);
      takeStreamSlot(request, reply);
      reply.header('Connection', 'close');
      const afterSeq = lastEventSeq(reply.sse.lastEventId);
      await reply.sse.send(
        sseMessages(followJob(store, id, afterSeq, closedSignal(reply)), afterSeq),
      );
    },
  );

  app.post(
    '/v1/jobs/:id/cancel',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Cancel a job: queued and running targets end as cancelled',
        params: JobIdParams,
        response: { 200: Job, 404: Problem },
      },
    },
    async (request) => {
      request.jobId = request.params.id;
      await requireJob(request.params.id, request);
      const job = await app.jobControl.cancel(request.params.id);
      if (job === null) throw new JobNotFoundError(request.params.id);
      return jobView(job, store, inlineCap);
    },
  );

  app.delete(
    '/v1/jobs/:id',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Forget a job (cancelling it first)',
        params: JobIdParams,
        response: { 204: z.null().describe('Deleted'), 404: Problem },
      },
    },
    async (request, reply) => {
      request.jobId = request.params.id;
      await requireJob(request.params.id, request);
      if (!(await app.jobControl.delete(request.params.id)))
        throw new JobNotFoundError(request.params.id);
      // No body and so no Content-Type: send() with nothing (the schema documents 204 as empty).
      return reply.code(204).send(undefined as never);
    },
  );
};

export default jobRoutes;
