// Wire shapes of the job API. They validate requests, type handlers, serialise responses
// and are the OpenAPI document: one schema per shape.
import { z } from 'zod';
import { MAX_TARGET_LENGTH } from '../probe/target.js';
import { Grade } from './findings.js';
import { ProbeOptions } from './probe-options.js';
import { ProbeErrorCode, ProbeResult } from './probe-result.js';

export const jobStatuses = ['queued', 'running', 'succeeded', 'cancelled', 'failed'] as const;
export const JobStatus = z
  .enum(jobStatuses)
  .describe(
    'queued → running → succeeded | cancelled. A job succeeds when every target has a result, ' +
      'whatever the results say; failed means the job itself broke.',
  );
export type JobStatus = z.infer<typeof JobStatus>;

/** A final status: the job has ended and nothing about it changes any more. */
export function isFinished(status: JobStatus): boolean {
  return status === 'succeeded' || status === 'cancelled' || status === 'failed';
}

export const JobOptions = ProbeOptions.extend({
  concurrency: z
    .int()
    .min(1)
    .optional()
    .describe('Targets of this job in flight at once; at most the server-wide cap (the default).'),
  concurrencyPerDestination: z
    .int()
    .min(1)
    .optional()
    .describe(
      'Targets in flight at once to one host:port, counted across every job of the service. ' +
        'Default HEADPROBE_CONCURRENCY_PER_DESTINATION; larger than ' +
        'HEADPROBE_MAX_CONCURRENCY_PER_DESTINATION is lowered to it.',
    ),
}).meta({ id: 'JobOptions' });
export type JobOptions = z.infer<typeof JobOptions>;
export type JobOptionsInput = z.input<typeof JobOptions>;

// Lone surrogates (from \ud800 escapes) and U+FFFD (what invalid UTF-8 in the body decodes
// to) are never part of a host or URL.
const isValidUnicode = (target: string) => target.isWellFormed() && !target.includes('\ufffd');
const NOT_UNICODE = 'not valid Unicode (invalid UTF-8 or a lone surrogate)';

/** Why a submission with `target` in it is refused whole (400), or null: the two checks below. */
export function refusedTarget(target: string): string | null {
  if (target.length > MAX_TARGET_LENGTH) return `longer than ${MAX_TARGET_LENGTH} characters`;
  return isValidUnicode(target) ? null : NOT_UNICODE;
}

export const JobSubmission = z
  .strictObject({
    targets: z
      .array(
        z
          .string()
          .max(MAX_TARGET_LENGTH)
          // Refused by index: the caller learns which line it was.
          .refine(isValidUnicode, { message: NOT_UNICODE }),
      )
      .min(1)
      .describe('host, host:port, [v6]:port, http://… or https://…; duplicates are kept in order.'),
    options: JobOptions.optional(),
  })
  .meta({ id: 'JobSubmission' });
export type JobSubmission = z.infer<typeof JobSubmission>;

/** Request bodies as the README sends them; the document carries them, and a test checks each. */
export const jobSubmissionExamples = [
  { targets: ['127.0.0.1:8080', 'http://127.0.0.1:8080/hello', '127.0.0.1:9'] },
  {
    targets: ['127.0.0.1:8080', 'http://127.0.0.1:8080/hello', '127.0.0.1:9'],
    options: { method: 'GET', timeoutMs: 5000 },
  },
];

export const JobProgress = z
  .object({
    total: z.int(),
    done: z.int().describe('Targets with a result.'),
    ok: z.int().describe('Results with a status line and headers.'),
    failed: z.int().describe('Results with an error (cancelled ones included).'),
  })
  .meta({ id: 'JobProgress' });
export type JobProgress = z.infer<typeof JobProgress>;

export const JobCounts = z
  .object({
    errors: z.partialRecord(ProbeErrorCode, z.int()).describe('Results per error.code.'),
    grades: z
      .partialRecord(Grade, z.int())
      .describe('Results per security grade; results without a grade are not counted.'),
    findings: z
      .record(z.string(), z.int())
      .describe('Results per finding id; a result counts once per id.'),
  })
  .describe('Counts of the results so far; absent keys are 0.')
  .meta({ id: 'JobCounts' });
export type JobCounts = z.infer<typeof JobCounts>;

export const JobResult = z
  .object({
    index: z.int().describe('Position of the target in the submitted list.'),
    ...ProbeResult.shape,
  })
  .meta({ id: 'JobResult' });
export type JobResult = z.infer<typeof JobResult>;

const timestamp = z.iso.datetime().nullable();

export const Job = z
  .object({
    id: z.string(),
    status: JobStatus,
    progress: JobProgress,
    counts: JobCounts,
    createdAt: z.iso.datetime(),
    startedAt: timestamp,
    finishedAt: timestamp,
    options: JobOptions,
    links: z.object({
      self: z.string(),
      results: z.string(),
      events: z.string(),
      cancel: z.string(),
    }),
    results: z
      .array(JobResult)
      .describe('Results finished so far, in input order, up to the inline cap.'),
    resultsTruncated: z
      .boolean()
      .describe('True when more results exist than are inline: page through links.results.'),
  })
  .meta({ id: 'Job' });
export type Job = z.infer<typeof Job>;

export const JobSummary = Job.omit({ results: true, resultsTruncated: true }).meta({
  id: 'JobSummary',
});

export const JobList = z
  .object({
    jobs: z.array(JobSummary),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: 'JobList' });

export const ResultPage = z
  .object({
    results: z.array(JobResult).describe('In completion order.'),
    nextCursor: z
      .string()
      .nullable()
      .describe(
        'Pass as ?cursor= for the next page; null once the job has ended and all are read.',
      ),
  })
  .meta({ id: 'ResultPage' });

export const JobIdParams = z.object({ id: z.string().min(1).max(64) });

export const ListJobsQuery = z.object({
  status: JobStatus.optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const resultFormats = ['json', 'ndjson', 'csv', 'har'] as const;

export const ResultsQuery = z.object({
  cursor: z
    .string()
    .max(32)
    .optional()
    .describe('json and ndjson: resume after this sequence number (`nextCursor`).'),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('json: results per page.'),
  finding: z
    .string()
    .max(100)
    .regex(/^[a-z0-9-]+$/, 'a finding id: lowercase letters, digits and dashes')
    .optional()
    .describe('Only results with this finding id (README, "Findings").'),
  grade: z
    // A `+` in a query string decodes to a space: `?grade=A+` arrives as "A ".
    .preprocess((value) => (typeof value === 'string' ? value.replace(/ $/, '+') : value), Grade)
    .optional()
    .describe('Only results with this security grade (A+ may be sent as A+ or A%2B).'),
  error: ProbeErrorCode.optional().describe('Only results that failed with this error code.'),
  format: z
    .enum(resultFormats)
    .optional()
    .describe(
      'Overrides the Accept header: json (a page), ndjson (a stream), csv or har (the whole ' +
        'finished job as one download).',
    ),
});
