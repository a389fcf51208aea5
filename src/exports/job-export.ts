// A finished job's results as a CSV or HAR document, for GET /v1/jobs/{id}/results. Read
// from the store a page at a time and written as they are read: a job of 100,000 results is
// never held whole, and a slow reader holds the reading back.
import { pipeline, Readable } from 'node:stream';
import type { JobStore } from '../jobs/job-store.js';
import { isFiltering, passesFilter, type ResultFilter } from '../jobs/result-filter.js';
import type { ProbeOptions } from '../schemas/probe-options.js';
import type { ProbeResult } from '../schemas/probe-result.js';
import { createCsvStringifier } from './csv.js';
import { HAR_LOG_TAIL, HarEntriesText, harLogHead } from './har.js';
import { resultRow } from './result-row.js';

export const EXPORT_FORMATS = ['csv', 'har'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const PAGE = 500;

/**
 * Every stored result of job `id`, in completion order, parsed back. A job deleted or expired
 * mid-export reads as an early end: that throws, so the response is cut off instead of
 * ending as a whole-looking document that lacks results.
 */
async function* storedResults(
  store: JobStore,
  id: string,
  expected: number,
  filter: ResultFilter,
  signal: AbortSignal,
): AsyncGenerator<{ index: number; result: ProbeResult }> {
  const filtering = isFiltering(filter);
  let read = 0;
  for (let afterSeq = 0; !signal.aborted; ) {
    const page = await store.resultsAfter(id, afterSeq, PAGE);
    for (const stored of page) {
      if (filtering && !passesFilter(filter, stored.json)) continue;
      yield { index: stored.index, result: JSON.parse(stored.json) };
    }
    read += page.length;
    if (page.length < PAGE) break;
    afterSeq = page.at(-1)!.seq;
  }
  if (read < expected && !signal.aborted)
    throw new Error(`job ${id} went away after ${read} of ${expected} results`);
}

async function* harText(
  results: AsyncIterable<{ index: number; result: ProbeResult }>,
  options: ProbeOptions,
): AsyncGenerator<string> {
  yield harLogHead();
  const text = new HarEntriesText(options);
  for await (const { index, result } of results) yield text.entries(index, result);
  yield HAR_LOG_TAIL;
}

async function* csvRows(results: AsyncIterable<{ index: number; result: ProbeResult }>) {
  const now = Date.now();
  for await (const { index, result } of results) yield resultRow(index, result, now);
}

/** The document as a stream; `signal` stops the reading when the client goes away. */
export function exportJob(
  store: JobStore,
  id: string,
  expected: number,
  options: ProbeOptions,
  format: ExportFormat,
  filter: ResultFilter,
  signal: AbortSignal,
): Readable {
  const results = storedResults(store, id, expected, filter, signal);
  if (format === 'har') return Readable.from(harText(results, options));
  // pipeline(): a store read that fails ends the response instead of leaving it hanging.
  const csv = createCsvStringifier();
  pipeline(Readable.from(csvRows(results)), csv, () => {});
  return csv;
}
