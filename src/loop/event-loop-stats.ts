// Event-loop delay and utilisation of this process, each reported over the window since
// the previous sample so a scrape shows the recent state, not the average since boot.
import { type IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';

export interface EventLoopStats {
  delayMs: { p50: number; p99: number; max: number; mean: number };
  /** Share of the window the loop spent running code rather than waiting, 0..1. */
  utilization: number;
}

const NS_PER_MS = 1e6;

export class EventLoopMonitor {
  readonly #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  #lastUtilization = performance.eventLoopUtilization();

  start(): void {
    this.#histogram.enable();
  }

  stop(): void {
    this.#histogram.disable();
  }

  /** Reads the window since the previous sample and opens a new one. */
  sample(): EventLoopStats {
    const histogram = this.#histogram;
    // An empty histogram reports min/max as sentinels and the mean as NaN.
    const delayMs =
      histogram.count === 0
        ? { p50: 0, p99: 0, max: 0, mean: 0 }
        : {
            p50: histogram.percentile(50) / NS_PER_MS,
            p99: histogram.percentile(99) / NS_PER_MS,
            max: histogram.max / NS_PER_MS,
            mean: histogram.mean / NS_PER_MS,
          };
    histogram.reset();
    const now = performance.eventLoopUtilization();
    const window = performance.eventLoopUtilization(now, this.#lastUtilization);
    this.#lastUtilization = now;
    return { delayMs, utilization: window.utilization };
  }
}
