// A run of the command on this machine: the targets go through the same Scheduler and probe
// engine as the service's, without a server or a job store. The input is taken a batch at a
// time (two batches submitted, so the caps stay busy across a boundary), and every result is
// handed on as it lands: memory stays bounded whatever the length of the list.
import { Scheduler } from '../loop/index.js';
import type { AddressPolicy } from '../policy/address-policy.js';
import { type DnsResolver, destinationOf, type ProbeLimits, probeTarget } from '../probe/index.js';
import type { ProbeOptions } from '../schemas/probe-options.js';
import type { ProbeResult } from '../schemas/probe-result.js';

export interface LocalRunOptions {
  readonly probe: ProbeOptions;
  readonly concurrency: number;
  /** Targets in flight at once to one host:port. */
  readonly concurrencyPerDestination: number;
  readonly resolver: DnsResolver;
  /** The engine's per-phase bounds (the command's user is its operator). */
  readonly limits?: ProbeLimits;
  /** Absent: every address may be dialled. */
  readonly policy?: AddressPolicy;
  /** Called once per target that was probed (a target cancelled before it started is not). */
  readonly onResult: (index: number, result: ProbeResult) => void;
  /** Targets read so far; `complete` once the input has ended. */
  readonly onTargetsRead?: (count: number, complete: boolean) => void;
}

export interface LocalRunSummary {
  readonly read: number;
  readonly probed: number;
  readonly ok: number;
  readonly failed: number;
  /** True when cancel() cut the run short. */
  readonly cancelled: boolean;
}

/** Targets per batch handed to the Scheduler: a few times what runs at once. */
const batchSize = (concurrency: number) => Math.max(1_000, 4 * concurrency);

export class LocalRun {
  readonly #options: LocalRunOptions;
  readonly #scheduler: Scheduler<string, ProbeResult>;
  #cancelled = false;
  #stop: () => void = () => {};
  /** Resolves with null once cancel() is called. */
  readonly #stopped = new Promise<null>((resolve) => {
    this.#stop = () => resolve(null);
  });
  #probed = 0;
  #ok = 0;
  #failed = 0;
  #batches = 0;

  constructor(options: LocalRunOptions) {
    this.#options = options;
    this.#scheduler = new Scheduler<string, ProbeResult>({
      concurrency: options.concurrency,
      runTask: (task) =>
        probeTarget(task.input, options.probe, {
          resolver: options.resolver,
          limits: options.limits,
          policy: options.policy,
          // The task is its own cancellation signal: no AbortController per target.
          signal: task,
        }),
      isFailure: (result) => !result.ok,
      destinationOf,
      destinationConcurrency: options.concurrencyPerDestination,
    });
  }

  /** Stops taking targets; running ones end `cancelled` and are still handed on. */
  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#stop();
    void this.#scheduler.drain({ cancel: true, reason: new Error('interrupted') });
  }

  async run(targets: AsyncIterable<string>): Promise<LocalRunSummary> {
    const size = batchSize(this.#options.concurrency);
    const running: Array<Promise<unknown>> = [];
    let read = 0;
    let batch: string[] = [];
    let timer: NodeJS.Timeout | null = null;
    // A full batch goes at once; a partial one after 50 ms without a full one, so targets
    // that trickle in (a `tail -f`, an enumerator) are probed as they come.
    const submit = () => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      if (batch.length === 0 || this.#cancelled) return;
      const inputs = batch;
      batch = [];
      running.push(this.#submit(inputs, read - inputs.length));
      this.#options.onTargetsRead?.(read, false);
    };
    const iterator = targets[Symbol.asyncIterator]();
    for (;;) {
      // Ctrl-C must not wait for the next line of an input that is slow to come.
      const next = await Promise.race([iterator.next(), this.#stopped]);
      if (next === null || next.done === true) break;
      batch.push(next.value);
      read++;
      if (batch.length === size) submit();
      else timer ??= setTimeout(submit, 50);
      // Two batches out: wait for the older before reading further.
      while (running.length >= 2) await running.shift();
    }
    if (this.#cancelled) void iterator.return?.();
    else submit();
    if (timer !== null) clearTimeout(timer);
    this.#options.onTargetsRead?.(read, !this.#cancelled);
    await Promise.all(running);
    await this.#scheduler.drain();
    return {
      read,
      probed: this.#probed,
      ok: this.#ok,
      failed: this.#failed,
      cancelled: this.#cancelled,
    };
  }

  #submit(inputs: string[], offset: number): Promise<unknown> {
    if (this.#cancelled) return Promise.resolve();
    const job = this.#scheduler.submit({
      jobId: `batch-${this.#batches++}`,
      inputs,
      onTaskEnd: (task, result) => {
        if (result === undefined) return;
        this.#probed++;
        if (result.ok) this.#ok++;
        else this.#failed++;
        this.#options.onResult(offset + task.index, result);
      },
    });
    return job.done;
  }
}
