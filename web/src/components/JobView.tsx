// One job, live: progress and counts over its SSE stream (resumed after a drop), cancel,
// exports, the timing charts, the results table and the target opened from it. Results are
// kept in one array that grows in place; the view redraws at most once per animation frame,
// so 10,000 results arriving in a burst cost 10,000 pushes, not 10,000 renders.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  api,
  apiKey,
  downloadExport,
  type ExportFormat,
  followJob,
  type Job,
  type JobResult,
} from '../api';
import { useThrottled } from '../throttle';
import { Charts } from './Charts';
import { ApiKeyField } from './fields';
import { ResultsTable } from './ResultsTable';
import { TargetDetail } from './TargetDetail';

const FINISHED = new Set(['succeeded', 'cancelled', 'failed']);

const GRADE_ORDER = ['A+', 'A', 'A-', 'B+', 'B', 'B-', 'C+', 'C', 'C-', 'D+', 'D', 'D-', 'F'];
/** Best grade first. */
function gradeOrder(a: string, b: string): number {
  return GRADE_ORDER.indexOf(a) - GRADE_ORDER.indexOf(b);
}

export function JobView({ id }: { id: string }) {
  const [job, setJob] = useState<Job | null>(null);
  const [missing, setMissing] = useState<string | null>(null);
  const [status, setStatus] = useState<string>('queued');
  const [progress, setProgress] = useState({ total: 0, done: 0, ok: 0, failed: 0 });
  const [reconnecting, setReconnecting] = useState(false);
  const [version, setVersion] = useState(0);
  const [opened, setOpened] = useState<JobResult | null>(null);
  const [exportError, setExportError] = useState<string | null>(null);
  // A shared link opened in a new tab has no key yet: the page asks for one, then tries again.
  const [needsKey, setNeedsKey] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const [key, setKey] = useState(apiKey.get());
  const results = useRef<JobResult[]>([]);
  const frame = useRef<number | null>(null);

  useEffect(() => {
    const stop = new AbortController();
    const redraw = () => {
      frame.current ??= requestAnimationFrame(() => {
        frame.current = null;
        setVersion((v) => v + 1);
      });
    };
    void (async () => {
      const { data, response } = await api.GET('/v1/jobs/{id}', { params: { path: { id } } });
      if (data === undefined) {
        if (response.status === 401) setNeedsKey(true);
        else
          setMissing(
            response.status === 404
              ? 'No such job (it may have expired).'
              : `Error ${response.status}`,
          );
        return;
      }
      setNeedsKey(false);
      // openapi-fetch reads tuples ([name, value] headers) as arrays; the schema's are pairs.
      setJob(data as Job);
      setStatus(data.status);
      setProgress(data.progress);
      await followJob(
        id,
        (event) => {
          if (event.type === 'reconnecting') setReconnecting(true);
          else setReconnecting(false);
          if (event.type === 'result') {
            results.current.push(event.result);
            redraw();
          } else if (event.type === 'progress') {
            setProgress(event.progress);
            setStatus((current) => (current === 'queued' ? 'running' : current));
          } else if (event.type === 'done') {
            setProgress(event.progress);
            setStatus(event.status);
            redraw();
          }
        },
        stop.signal,
      ).catch((error: Error) => setMissing(error.message));
    })();
    return () => {
      stop.abort();
      if (frame.current !== null) cancelAnimationFrame(frame.current);
    };
  }, [id, attempt]);

  const countsVersion = useThrottled(version, 250);
  // The breakdowns: how many of each status code, error code and grade.
  const [statusCounts, errorCounts, gradeCounts] = useMemo(() => {
    const statuses = new Map<string, number>();
    const errors = new Map<string, number>();
    const grades = new Map<string, number>();
    for (const result of results.current) {
      const status = result.status === null ? 'no response' : String(result.status);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const code = result.error?.code;
      if (code !== undefined) errors.set(code, (errors.get(code) ?? 0) + 1);
      if (result.grade !== null) grades.set(result.grade, (grades.get(result.grade) ?? 0) + 1);
    }
    const byCount = (counts: Map<string, number>) => [...counts].sort((a, b) => b[1] - a[1]);
    return [byCount(statuses), byCount(errors), [...grades].sort(([a], [b]) => gradeOrder(a, b))];
  }, [countsVersion]);

  if (missing !== null)
    return (
      <section class="panel">
        <h1>Job {id}</h1>
        <p role="alert">{missing}</p>
      </section>
    );
  if (needsKey)
    return (
      <section class="panel" aria-labelledby="key-title">
        <h1 id="key-title">Job {id}</h1>
        <form
          onSubmit={(event) => {
            event.preventDefault();
            apiKey.set(key.trim());
            setAttempt((a) => a + 1);
          }}
        >
          <p>This service needs an API key.</p>
          <ApiKeyField
            value={key}
            onInput={setKey}
            error={attempt === 0 ? undefined : 'That key was not accepted.'}
          />
          <button type="submit">Open job</button>
        </form>
      </section>
    );
  if (job === null) return <p aria-live="polite">Loading job {id}…</p>;

  const finished = FINISHED.has(status);
  const exportAs = (format: ExportFormat) => {
    setExportError(null);
    downloadExport(id, format).catch((error: Error) => setExportError(error.message));
  };

  return (
    <>
      <section class="panel" aria-labelledby="job-title">
        <h1 id="job-title">
          Job <code>{id}</code>
        </h1>
        <p>
          Status: <strong data-testid="job-status">{status}</strong>
          {reconnecting ? <span class="note"> (connection lost, resuming…)</span> : null}
        </p>
        <progress
          aria-label="Targets done"
          max={Math.max(progress.total, 1)}
          value={progress.done}
        />
        <p aria-live="polite" data-testid="counts">
          {progress.done} of {progress.total} done: {progress.ok} ok, {progress.failed} failed
        </p>
        {statusCounts.length === 0 ? null : (
          <ul class="error-counts" aria-label="Results by status" data-testid="status-counts">
            {statusCounts.map(([status, count]) => (
              <li key={status}>
                <strong>{status}</strong> {count}
              </li>
            ))}
          </ul>
        )}
        {gradeCounts.length === 0 ? null : (
          <ul class="error-counts" aria-label="Results by grade" data-testid="grade-counts">
            {gradeCounts.map(([grade, count]) => (
              <li key={grade}>
                <strong>{grade}</strong> {count}
              </li>
            ))}
          </ul>
        )}
        {errorCounts.length === 0 ? null : (
          <ul class="error-counts" aria-label="Failures by error code">
            {errorCounts.map(([code, count]) => (
              <li key={code}>
                <code>{code}</code> {count}
              </li>
            ))}
          </ul>
        )}
        <div class="actions">
          {finished ? null : (
            <button
              type="button"
              onClick={() => void api.POST('/v1/jobs/{id}/cancel', { params: { path: { id } } })}
            >
              Cancel job
            </button>
          )}
          <span>Export:</span>
          {(['jsonl', 'csv', 'har'] as const).map((format) => (
            <button
              type="button"
              key={format}
              disabled={!finished}
              onClick={() => exportAs(format)}
            >
              {format === 'jsonl' ? 'JSON Lines' : format.toUpperCase()}
            </button>
          ))}
          {exportError === null ? null : <span role="alert">{exportError}</span>}
        </div>
      </section>
      <Charts results={results.current} version={version} />
      <ResultsTable results={results.current} version={version} onOpen={setOpened} />
      {opened === null ? null : <TargetDetail result={opened} onClose={() => setOpened(null)} />}
    </>
  );
}
