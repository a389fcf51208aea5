// Event-loop delay and utilisation of this process, each reported over the window since
// the previous sample so a scrape shows the recent state, not the average since boot.
import { type IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';

export interface EventLoopStats {
  delayMs: { p50: number; p99: number; max: number; mean: number };
  /** Share of the window the loop spent running code rather than waiting, 0..1. */
  utilization: number;
}

const NS_PER_MS = 1e6;

/**
 * Event-loop utilisation over windows: each read covers the time since this window's previous
 * read. The one place it is measured; /v1/loop (through EventLoopMonitor) and /metrics each
 * keep a window of their own, so one reader never shortens the other's.
 */
export class UtilizationWindow {
  #last = performance.eventLoopUtilization();

  /** Share of the window the loop spent running code rather than waiting, 0..1. */
  read(): number {
    const now = performance.eventLoopUtilization();
    const window = performance.eventLoopUtilization(now, this.#last);
    this.#last = now;
    return window.utilization;
  }
}

export class EventLoopMonitor {
  readonly #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  readonly #utilization = new UtilizationWindow();

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
    return { delayMs, utilization: this.#utilization.read() };
  }
}
