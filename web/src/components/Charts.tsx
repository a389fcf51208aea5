// The whole job at a glance: a histogram of total time or of one phase across targets
// (uPlot: a few tens of kilobytes, canvas, fast with 10,000 points) and the percentiles of
// every phase. Redrawn at most four times a second while results stream in.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { JobResult } from '../api';
import { PHASES } from '../result-facts';
import { useThrottled } from '../throttle';

type Measure = 'total' | (typeof PHASES)[number];
const MEASURES: readonly Measure[] = ['total', ...PHASES];
const BUCKETS = 40;

function valuesOf(results: readonly JobResult[], measure: Measure): number[] {
  const values: number[] = [];
  for (const result of results) {
    const value = measure === 'total' ? result.timing.total : result.timing.phases[measure];
    if (value !== null) values.push(value);
  }
  return values.sort((a, b) => a - b);
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/** Equal-width buckets from 0 to the 99th percentile; the rest go in the last one. */
function histogram(sorted: number[]): [number[], number[]] {
  const top = Math.max(percentile(sorted, 0.99) ?? 1, 0.001);
  const width = top / BUCKETS;
  const counts = new Array<number>(BUCKETS).fill(0);
  for (const value of sorted) counts[Math.min(BUCKETS - 1, Math.floor(value / width))]!++;
  return [counts.map((_, i) => (i + 0.5) * width), counts];
}

export function Charts({ results, version }: { results: readonly JobResult[]; version: number }) {
  const [measure, setMeasure] = useState<Measure>('total');
  const shown = useThrottled(version, 250);
  const target = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  const sorted = useMemo(
    () =>
      Object.fromEntries(MEASURES.map((m) => [m, valuesOf(results, m)])) as Record<
        Measure,
        number[]
      >,
    [results, shown],
  );

  useEffect(() => {
    if (target.current === null) return;
    const data = histogram(sorted[measure]);
    if (plot.current === null) {
      plot.current = new uPlot(
        {
          width: Math.min(720, target.current.clientWidth || 720),
          height: 220,
          title: undefined,
          scales: { x: { time: false } },
          axes: [{ label: 'ms' }, { label: 'targets' }],
          series: [
            {},
            {
              label: 'targets',
              fill: 'rgba(40, 100, 200, 0.5)',
              stroke: 'rgb(40, 100, 200)',
              paths: uPlot.paths.bars?.({ size: [0.9, 100] }),
              points: { show: false },
            },
          ],
          legend: { show: false },
        },
        data,
        target.current,
      );
    } else plot.current.setData(data);
  }, [sorted, measure]);

  useEffect(() => () => plot.current?.destroy(), []);

  return (
    <section class="panel" aria-labelledby="charts-title">
      <h2 id="charts-title">Timings across the job</h2>
      <label for="histogram-of">Histogram of</label>
      <select
        id="histogram-of"
        value={measure}
        onChange={(event) => setMeasure(event.currentTarget.value as Measure)}
      >
        {MEASURES.map((m) => (
          <option key={m} value={m}>
            {m === 'total' ? 'total time' : `${m} phase`}
          </option>
        ))}
      </select>
      <div ref={target} class="chart" role="img" aria-label={`Histogram of ${measure} in ms`} />
      <table class="percentiles" aria-label="Percentiles in ms">
        <thead>
          <tr>
            <th scope="col">ms</th>
            {MEASURES.map((m) => (
              <th scope="col" key={m}>
                {m}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {([0.5, 0.9, 0.99] as const).map((p) => (
            <tr key={p}>
              <th scope="row">p{p * 100}</th>
              {MEASURES.map((m) => {
                const value = percentile(sorted[m], p);
                return (
                  <td key={m} class="num">
                    {value === null ? '–' : value.toFixed(1)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
