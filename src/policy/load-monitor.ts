// Whether the process should take new work: event-loop delay, heap and RSS sampled on a
// timer, and running out of a resource (file descriptors, say) reported by whoever met it.
// Nothing here may throw: reading RSS opens /proc/self/stat, which fails with EMFILE exactly
// when the process is short of descriptors, and an exception from a timer would end the
// process (it did, with @fastify/under-pressure, which this replaces). A failed reading is
// itself a sign of pressure, and each sample opens /dev/null once as a canary: when that
// fails, probes and clients are failing for want of descriptors too.
import { closeSync, openSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

/** How long new work is refused after a resource ran out. */
const EXHAUSTION_HOLD_MS = 5_000;
const DELAY_RESOLUTION_MS = 10;

export interface LoadLimits {
  /** 0 turns a check off. */
  readonly maxEventLoopDelayMs: number;
  readonly maxHeapUsedBytes: number;
  readonly maxRssBytes: number;
  readonly sampleIntervalMs: number;
  /** Told each time a resource runs out (the caller logs it, rate-limited). */
  readonly onExhaustion?: (what: string) => void;
}

export class LoadMonitor {
  readonly #limits: LoadLimits;
  readonly #delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
  #timer: NodeJS.Timeout | null = null;
  #eventLoopDelayMs = 0;
  #heapUsedBytes = 0;
  #rssBytes = 0;
  #exhaustedUntil = 0;
  #exhaustedBy = '';
  #exhaustions = 0;

  constructor(limits: LoadLimits) {
    this.#limits = limits;
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#delay.enable();
    this.#timer = setInterval(() => this.#sample(), this.#limits.sampleIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#delay.disable();
  }

  /** Something ran out (EMFILE on accept, say): new work is refused for a few seconds. */
  noteExhaustion(what: string): void {
    this.#exhaustions++;
    this.#exhaustedBy = what;
    this.#exhaustedUntil = Date.now() + EXHAUSTION_HOLD_MS;
    try {
      this.#limits.onExhaustion?.(what);
    } catch {
      // A logger that throws must not undo the point of this class.
    }
  }

  /** Times a resource ran out since start (for /metrics). */
  get exhaustions(): number {
    return this.#exhaustions;
  }

  /** Why new work is refused now, or null when it is taken. */
  pressure(): string | null {
    const limits = this.#limits;
    if (Date.now() < this.#exhaustedUntil) return `${this.#exhaustedBy} ran out`;
    if (limits.maxEventLoopDelayMs > 0 && this.#eventLoopDelayMs > limits.maxEventLoopDelayMs) {
      return 'event-loop delay';
    }
    if (limits.maxHeapUsedBytes > 0 && this.#heapUsedBytes > limits.maxHeapUsedBytes) {
      return 'heap used';
    }
    if (limits.maxRssBytes > 0 && this.#rssBytes > limits.maxRssBytes) return 'resident memory';
    return null;
  }

  #sample(): void {
    const mean = this.#delay.mean / 1e6;
    // No sample in the window (a histogram that saw nothing gives NaN) is no delay.
    this.#eventLoopDelayMs = Number.isFinite(mean) ? Math.max(0, mean - DELAY_RESOLUTION_MS) : 0;
    this.#delay.reset();
    // The V8 heap is read without a file; RSS only when a limit asks for it.
    this.#heapUsedBytes = getHeapStatistics().used_heap_size;
    if (this.#limits.maxRssBytes > 0) {
      try {
        this.#rssBytes = process.memoryUsage.rss();
      } catch (error) {
        this.noteExhaustion(`reading memory (${(error as NodeJS.ErrnoException).code ?? error})`);
      }
    }
    try {
      closeSync(openSync('/dev/null', 'r'));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EMFILE' || code === 'ENFILE') this.noteExhaustion('file descriptors');
    }
  }
}
