// A JobRecord as the API shows it: ISO times, links, and results inline up to a cap.
import type { Job, JobResult } from '../schemas/job.js';
import type { JobRecord, JobStore } from './job-store.js';
import { jobCounts } from './result-tallies.js';

function iso(epochMs: number | null): string | null {
  return epochMs === null ? null : new Date(epochMs).toISOString();
}

export function jobLinks(id: string): Job['links'] {
  const self = `/v1/jobs/${id}`;
  return { self, results: `${self}/results`, events: `${self}/events`, cancel: `${self}/cancel` };
}

export function jobSummary(job: JobRecord): Omit<Job, 'results' | 'resultsTruncated'> {
  return {
    id: job.id,
    status: job.status,
    progress: { ...job.progress },
    counts: jobCounts(job.tallies),
    createdAt: new Date(job.createdAt).toISOString(),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
    options: job.options,
    links: jobLinks(job.id),
  };
}

export async function jobView(job: JobRecord, store: JobStore, inlineCap: number): Promise<Job> {
  const inline = inlineCap > 0 ? await store.resultsInInputOrder(job.id, inlineCap) : [];
  return {
    ...jobSummary(job),
    results: inline.map((stored) => JSON.parse(stored.json) as JobResult),
    resultsTruncated: job.progress.done > inline.length,
  };
}
