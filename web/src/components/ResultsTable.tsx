// The results table: sort by any column, filter by status class, error code, finding and
// free text.
// Only the rows in view (and a few either side) are in the DOM: rows have one fixed height,
// so 10,000 results scroll as fast as 50. The sorted, filtered list is computed again only
// when results arrive or a control changes.
import { useMemo, useRef, useState } from 'preact/hooks';
import type { JobResult } from '../api';
import { certDaysLeft, headerValue, PHASES, phaseMs } from '../result-facts';
import { useThrottled } from '../throttle';

interface Column {
  readonly key: string;
  readonly label: string;
  readonly value: (result: JobResult) => string | number | null;
  readonly numeric?: boolean;
  /** What the column sorts by, when not what it shows (a grade sorts by its score). */
  readonly sortValue?: (result: JobResult) => string | number | null;
}

export const COLUMNS: readonly Column[] = [
  { key: 'index', label: '#', value: (r) => r.index, numeric: true },
  { key: 'target', label: 'Target', value: (r) => r.target },
  { key: 'status', label: 'Status', value: (r) => r.status, numeric: true },
  { key: 'reason', label: 'Reason', value: (r) => r.statusText },
  { key: 'server', label: 'Server', value: (r) => headerValue(r, 'server') },
  { key: 'http', label: 'HTTP', value: (r) => r.httpVersion },
  { key: 'grade', label: 'Grade', value: (r) => r.grade, sortValue: (r) => r.score },
  { key: 'remote', label: 'Remote', value: (r) => r.remote?.address ?? null },
  { key: 'tls', label: 'TLS', value: (r) => r.tls?.protocol ?? null },
  { key: 'certDays', label: 'Cert days', value: (r) => certDaysLeft(r), numeric: true },
  ...PHASES.map((phase) => ({
    key: phase,
    label: `${phase} ms`,
    value: (r: JobResult) => phaseMs(r, phase),
    numeric: true,
  })),
  { key: 'total', label: 'Total ms', value: (r) => r.timing.total, numeric: true },
  { key: 'error', label: 'Error', value: (r) => r.error?.code ?? null },
];

const ROW_HEIGHT = 28;
const VIEW_ROWS = 18;
const OVERSCAN = 8;

type StatusClass = 'all' | '2xx' | '3xx' | '4xx' | '5xx' | 'none';

function statusClassOf(result: JobResult): StatusClass {
  if (result.status === null) return 'none';
  return `${Math.floor(result.status / 100)}xx` as StatusClass;
}

function display(column: Column, result: JobResult): string {
  const value = column.value(result);
  if (value === null) return '–';
  return typeof value === 'number' && column.key !== 'index' && column.key !== 'status'
    ? column.key === 'certDays'
      ? String(value)
      : value.toFixed(1)
    : String(value);
}

function compare(a: string | number | null, b: string | number | null): number {
  // Empty cells last, whichever the direction.
  if (a === null) return b === null ? 0 : 1;
  if (b === null) return -1;
  return typeof a === 'number' && typeof b === 'number'
    ? a - b
    : String(a).localeCompare(String(b));
}

export function ResultsTable({
  results,
  version,
  onOpen,
}: {
  results: readonly JobResult[];
  version: number;
  onOpen: (result: JobResult) => void;
}) {
  const [sortKey, setSortKey] = useState('index');
  const [descending, setDescending] = useState(false);
  const [statusClass, setStatusClass] = useState<StatusClass>('all');
  const [errorCode, setErrorCode] = useState('all');
  const [findingId, setFindingId] = useState('all');
  const [text, setText] = useState('');
  const [scrollTop, setScrollTop] = useState(0);
  const scroller = useRef<HTMLDivElement>(null);
  const shown = useThrottled(version, 150);

  const codes = useMemo(
    () => [...new Set(results.map((r) => r.error?.code).filter((c) => c !== undefined))].sort(),
    [results, shown],
  );

  const findingIds = useMemo(
    () => [...new Set(results.flatMap((r) => r.findings.map((f) => f.id)))].sort(),
    [results, shown],
  );

  const { rows, total } = useMemo(() => {
    const needle = text.trim().toLowerCase();
    const column = COLUMNS.find((c) => c.key === sortKey) ?? COLUMNS[0]!;
    const kept = results.filter(
      (r) =>
        (statusClass === 'all' || statusClassOf(r) === statusClass) &&
        (errorCode === 'all' || r.error?.code === errorCode) &&
        (findingId === 'all' || r.findings.some((f) => f.id === findingId)) &&
        (needle === '' ||
          r.target.toLowerCase().includes(needle) ||
          (headerValue(r, 'server') ?? '').toLowerCase().includes(needle) ||
          (r.error?.message ?? '').toLowerCase().includes(needle)),
    );
    const sign = descending ? -1 : 1;
    kept.sort((a, b) => {
      const sortValue = column.sortValue ?? column.value;
      const [left, right] = [sortValue(a), sortValue(b)];
      const order =
        left === null || right === null ? compare(left, right) : sign * compare(left, right);
      return order === 0 ? a.index - b.index : order;
    });
    return { rows: kept, total: results.length };
  }, [results, shown, sortKey, descending, statusClass, errorCode, findingId, text]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, first + VIEW_ROWS + 2 * OVERSCAN);
  const sortBy = (key: string) => {
    if (key === sortKey) setDescending(!descending);
    else {
      setSortKey(key);
      setDescending(false);
    }
  };

  return (
    <section class="panel" aria-labelledby="results-title">
      <h2 id="results-title">Results</h2>
      <div class="filters">
        <div>
          <label for="filter-status">Status</label>
          <select
            id="filter-status"
            value={statusClass}
            onChange={(event) => setStatusClass(event.currentTarget.value as StatusClass)}
          >
            <option value="all">all</option>
            <option value="2xx">2xx</option>
            <option value="3xx">3xx</option>
            <option value="4xx">4xx</option>
            <option value="5xx">5xx</option>
            <option value="none">no response</option>
          </select>
        </div>
        <div>
          <label for="filter-error">Error</label>
          <select
            id="filter-error"
            value={errorCode}
            onChange={(event) => setErrorCode(event.currentTarget.value)}
          >
            <option value="all">all</option>
            {codes.map((code) => (
              <option key={code}>{code}</option>
            ))}
          </select>
        </div>
        <div>
          <label for="filter-finding">Finding</label>
          <select
            id="filter-finding"
            value={findingId}
            onChange={(event) => setFindingId(event.currentTarget.value)}
          >
            <option value="all">all</option>
            {findingIds.map((id) => (
              <option key={id}>{id}</option>
            ))}
          </select>
        </div>
        <div>
          <label for="filter-text">Search</label>
          <input
            id="filter-text"
            type="search"
            value={text}
            placeholder="target, server, error"
            onInput={(event) => setText(event.currentTarget.value)}
          />
        </div>
        <span aria-live="polite" data-testid="row-count">
          {rows.length} of {total} shown
        </span>
      </div>
      <div
        class="table-scroll"
        ref={scroller}
        style={{ height: `${(VIEW_ROWS + 1) * ROW_HEIGHT}px` }}
        onScroll={(event) => setScrollTop(event.currentTarget.scrollTop)}
      >
        <table class="results" aria-rowcount={rows.length + 1}>
          <thead>
            <tr>
              {COLUMNS.map((column) => (
                <th
                  key={column.key}
                  scope="col"
                  aria-sort={
                    column.key === sortKey ? (descending ? 'descending' : 'ascending') : 'none'
                  }
                >
                  <button type="button" onClick={() => sortBy(column.key)}>
                    {column.label}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {first > 0 ? <tr class="spacer" style={{ height: `${first * ROW_HEIGHT}px` }} /> : null}
            {rows.slice(first, last).map((result, at) => (
              <tr
                key={result.index}
                aria-rowindex={first + at + 2}
                class={result.ok ? undefined : 'failed'}
                data-index={result.index}
              >
                {COLUMNS.map((column) => {
                  const days = column.key === 'certDays' ? certDaysLeft(result) : null;
                  const warn = days === null ? '' : days < 0 ? 'expired' : days < 30 ? 'soon' : '';
                  return column.key === 'target' ? (
                    <td key={column.key}>
                      <button type="button" class="link" onClick={() => onOpen(result)}>
                        {result.target}
                      </button>
                    </td>
                  ) : (
                    <td key={column.key} class={`${column.numeric ? 'num' : ''} ${warn}`.trim()}>
                      {display(column, result)}
                    </td>
                  );
                })}
              </tr>
            ))}
            {last < rows.length ? (
              <tr class="spacer" style={{ height: `${(rows.length - last) * ROW_HEIGHT}px` }} />
            ) : null}
          </tbody>
        </table>
      </div>
    </section>
  );
}
