// Which results a /results request asks for: those with a finding id, a grade and an error
// code (every one given must hold). Stored results are JSON text; a quick substring test
// turns most away before any is parsed.
import type { Grade } from '../schemas/findings.js';
import type { JobResult } from '../schemas/job.js';
import type { ProbeErrorCode } from '../schemas/probe-result.js';
import type { JobStore, StoredResult } from './job-store.js';

export interface ResultFilter {
  readonly finding?: string | undefined;
  readonly grade?: Grade | undefined;
  readonly error?: ProbeErrorCode | undefined;
}

/**
 * A filtered page looks at no more than this many stored results per request (a few MB of
 * JSON from the store), whatever `limit` is: a rare finding is paged through, not scanned for.
 */
export const FILTER_SCAN_LIMIT = 2_000;
const SCAN_PAGE = 500;

export function isFiltering(filter: ResultFilter): boolean {
  return filter.finding !== undefined || filter.grade !== undefined || filter.error !== undefined;
}

/** Does the stored result `json` pass `filter`? */
export function passesFilter(filter: ResultFilter, json: string): boolean {
  const { finding, grade, error } = filter;
  // JSON.stringify writes these values exactly so; absent text means no match.
  if (finding !== undefined && !json.includes(`"id":"${finding}"`)) return false;
  if (grade !== undefined && !json.includes(`"grade":"${grade}"`)) return false;
  if (error !== undefined && !json.includes(`"code":"${error}"`)) return false;
  const result = JSON.parse(json) as JobResult;
  if (finding !== undefined && !result.findings.some((f) => f.id === finding)) return false;
  if (grade !== undefined && result.grade !== grade) return false;
  if (error !== undefined && result.error?.code !== error) return false;
  return true;
}

export interface ResultsPage {
  readonly results: StoredResult[];
  /** The last sequence number looked at: where the next page starts. */
  readonly lastSeq: number;
}

/** The page of /results after `afterSeq`: `limit` stored results, or the filtered ones. */
export async function resultsPage(
  store: JobStore,
  id: string,
  afterSeq: number,
  limit: number,
  filter: ResultFilter,
): Promise<ResultsPage> {
  if (isFiltering(filter)) return filteredPage(store, id, afterSeq, limit, filter);
  const results = await store.resultsAfter(id, afterSeq, limit);
  return { results, lastSeq: results.at(-1)?.seq ?? afterSeq };
}

/**
 * Up to `limit` results after `afterSeq` that pass `filter`, looking at no more than
 * FILTER_SCAN_LIMIT stored ones: a page may hold fewer than `limit` (even none) while
 * `nextCursor` still leads on.
 */
async function filteredPage(
  store: JobStore,
  id: string,
  afterSeq: number,
  limit: number,
  filter: ResultFilter,
): Promise<ResultsPage> {
  const results: StoredResult[] = [];
  let lastSeq = afterSeq;
  for (let scanned = 0; scanned < FILTER_SCAN_LIMIT && results.length < limit; ) {
    const page = await store.resultsAfter(id, lastSeq, SCAN_PAGE);
    for (const stored of page) {
      lastSeq = stored.seq;
      if (passesFilter(filter, stored.json)) {
        results.push(stored);
        if (results.length === limit) break;
      }
    }
    scanned += page.length;
    if (page.length < SCAN_PAGE) break;
  }
  return { results, lastSeq };
}
