// A run of the command on this machine: the targets go through the same Scheduler and probe
// engine as the service's, without a server or a job store. The input is taken a batch at a
// time (two batches submitted, so the caps stay busy across a boundary), and every result is
// handed on as it lands: memory stays bounded whatever the length of the list.
import { Scheduler } from '../loop/index.js';
import type { AddressPolicy } from '../policy/address-policy.js';
import { type DnsResolver, destinationOf, type ProbeLimits, probeTarget } from '../probe/index.js';
import type { ProbeOptions } from '../schemas/probe-options.js';
import type { ProbeResult } from '../schemas/probe-result.js';
import { submitInBatches } from './batches.js';

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

/** Targets per batch handed to the Scheduler: a few times what runs at once. */
const batchSize = (concurrency: number) => Math.max(1_000, 4 * concurrency);
/** A partial batch goes after this long without a new target. */
const IDLE_MS = 50;

export class LocalRun {
  readonly #options: LocalRunOptions;
  readonly #scheduler: Scheduler<string, ProbeResult>;
  #cancelled = false;
  /** Aborted by cancel(): no more targets are read. */
  readonly #stop = new AbortController();
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
      // A cap of at least the run's concurrency can never bind (no more than that many
      // targets run at all): then no target's destination is worked out and counted.
      ...(options.concurrencyPerDestination < options.concurrency && {
        destinationOf,
        destinationConcurrency: options.concurrencyPerDestination,
      }),
    });
  }

  /** Stops taking targets; running ones end `cancelled` and are still handed on. */
  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#stop.abort();
    void this.#scheduler.drain({ cancel: true, reason: new Error('interrupted') });
  }

  async run(targets: AsyncIterable<string>): Promise<void> {
    await submitInBatches(targets, {
      size: batchSize(this.#options.concurrency),
      idleMs: IDLE_MS,
      stop: this.#stop.signal,
      submit: (batch, offset) => this.#submit(batch, offset),
      onTargetsRead: this.#options.onTargetsRead,
    });
    await this.#scheduler.drain();
  }

  #submit(inputs: string[], offset: number): Promise<unknown> {
    if (this.#cancelled) return Promise.resolve();
    const job = this.#scheduler.submit({
      jobId: `batch-${this.#batches++}`,
      inputs,
      onTaskEnd: (task, result) => {
        if (result !== undefined) this.#options.onResult(offset + task.index, result);
      },
    });
    return job.done;
  }
}
