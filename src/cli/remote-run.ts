// A run of the command through a running service (`--server URL`): the list goes up as jobs
// of at most `jobSize` targets (two open at a time, so the service's queue stays fed without
// a caller's cap being reached), each followed over its SSE stream and handed on result by
// result with its index in the whole list. A dropped stream is resumed with Last-Event-ID,
// so no result is missed or repeated; a retried submission carries an Idempotency-Key, so no
// job is made twice. cancel() cancels the open jobs on the service and follows them to their
// end. Targets a cancelled job never started are not handed on: a local run has none either.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createParser } from 'eventsource-parser';
import { unprobedResult } from '../probe/index.js';
import { type JobOptionsInput, refusedTarget } from '../schemas/job.js';
import type { ProbeResult } from '../schemas/probe-result.js';
import { submitInBatches } from './batches.js';

export interface RemoteRunOptions {
  /** The service's base URL, e.g. http://127.0.0.1:3000. */
  readonly server: URL;
  /** Sent as `Authorization: Bearer …` when set. */
  readonly apiKey?: string;
  readonly jobOptions: JobOptionsInput;
  /** Targets per job (the service's HEADPROBE_MAX_TARGETS at most). */
  readonly jobSize: number;
  readonly onResult: (index: number, result: ProbeResult) => void;
  readonly onTargetsRead?: (count: number, complete: boolean) => void;
  /** A line for the user (a dropped stream being resumed, a busy service). */
  readonly onNotice?: (message: string) => void;
}

/** The service refused, or could not be reached: the run cannot go on. */
export class RemoteError extends Error {}

/** A partial job goes up after this long without a new target. */
const IDLE_MS = 500;
/** Tries of one request (a submission, a stream) in a row before the run gives up. */
const MAX_TRIES = 8;
const backoffMs = (tries: number) => Math.min(100 * 2 ** tries, 3_000);
/** Statuses after which the same request may succeed: busy, shedding load, restarting. */
const RETRYABLE = new Set([429, 502, 503, 504]);

interface Problem {
  code?: string;
  detail?: string;
  title?: string;
  errors?: Array<{ field: string; message: string }>;
}

function retryAfterMs(response: Response, tries: number): number {
  const seconds = Number(response.headers.get('retry-after'));
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 30) * 1000 : backoffMs(tries);
}

async function problemOf(response: Response): Promise<string> {
  const problem = (await response.json().catch(() => ({}))) as Problem;
  const what = problem.detail ?? problem.title ?? response.statusText;
  const fields = (problem.errors ?? []).map((error) => `${error.field}: ${error.message}`);
  const code = problem.code === undefined ? '' : ` ${problem.code}`;
  return `${response.status}${code}: ${[what, ...fields.slice(0, 3)].join('; ')}`;
}

function reason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  // fetch (undici) refuses the ports of the Fetch standard's list, 6000 (X11) among them.
  if (cause?.message === 'bad port')
    return "a port fetch refuses to use (the Fetch standard's bad ports)";
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

function invalidResult(target: string, why: string): ProbeResult {
  // As a local run's parse gives it: failed in the parse phase, not while queued.
  const result = unprobedResult(target, 'invalid_target', why);
  return { ...result, error: { ...result.error!, phase: 'parse' } };
}

export class RemoteRun {
  readonly #options: RemoteRunOptions;
  readonly #runId = randomUUID();
  readonly #open = new Set<string>();
  readonly #cancels: Array<Promise<void>> = [];
  #cancelled = false;
  /** Aborted by cancel(): no more targets are read. */
  readonly #stop = new AbortController();
  #jobs = 0;
  /** Until the service has answered once, a failed connection ends the run (a wrong URL). */
  #reached = false;

  constructor(options: RemoteRunOptions) {
    this.#options = options;
  }

  /** Reads no more targets and cancels every open job on the service. */
  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#stop.abort();
    for (const id of this.#open) this.#cancels.push(this.#cancelJob(id));
  }

  async run(targets: AsyncIterable<string>): Promise<void> {
    let failure: unknown = null;
    await submitInBatches(targets, {
      size: this.#options.jobSize,
      idleMs: IDLE_MS,
      stop: this.#stop.signal,
      // A job that cannot go on stops the run: the others are cancelled, the error is said.
      submit: (batch, offset) =>
        this.#runJob(batch, offset).catch((error: unknown) => {
          failure ??= error;
          this.cancel();
        }),
      onTargetsRead: this.#options.onTargetsRead,
    });
    await Promise.all(this.#cancels);
    if (failure !== null) throw failure;
  }

  /** `path` under the server's URL, a path prefix (a reverse proxy's) kept. */
  #url(path: string): URL {
    const base = this.#options.server.href.endsWith('/')
      ? this.#options.server.href
      : `${this.#options.server.href}/`;
    return new URL(path.replace(/^\//, ''), base);
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    const key = this.#options.apiKey;
    return { ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra };
  }

  async #runJob(targets: string[], offset: number): Promise<void> {
    // A line the service would refuse the whole job for is an invalid target here, as it is
    // in a local run; the rest go up, each remembered by its place in the whole list.
    const sent: string[] = [];
    const positions: number[] = [];
    targets.forEach((target, at) => {
      const refused = refusedTarget(target);
      if (refused === null) {
        sent.push(target);
        positions.push(offset + at);
      } else this.#options.onResult(offset + at, invalidResult(target, refused));
    });
    if (sent.length === 0) return;
    const id = await this.#submit(sent);
    if (id === null) return;
    this.#open.add(id);
    if (this.#cancelled) this.#cancels.push(this.#cancelJob(id));
    try {
      await this.#follow(id, positions);
    } finally {
      this.#open.delete(id);
    }
  }

  /** The new job's id; null when the run was cancelled before the service took it. */
  async #submit(targets: string[]): Promise<string | null> {
    const key = `headprobe-${this.#runId}-${this.#jobs++}`;
    const body = JSON.stringify({ targets, options: this.#options.jobOptions });
    for (let tries = 0; ; tries++) {
      if (this.#cancelled) return null;
      let wait: number;
      try {
        const response = await fetch(this.#url('/v1/jobs'), {
          method: 'POST',
          headers: this.#headers({ 'content-type': 'application/json', 'idempotency-key': key }),
          body,
        });
        this.#reached = true;
        if (response.ok) return ((await response.json()) as { id: string }).id;
        if (!RETRYABLE.has(response.status) || tries >= MAX_TRIES)
          throw new RemoteError(`the service refused the job: ${await problemOf(response)}`);
        wait = retryAfterMs(response, tries);
        this.#options.onNotice?.(`service busy (${response.status}), trying again`);
        await response.body?.cancel();
      } catch (error) {
        if (error instanceof RemoteError) throw error;
        if (tries >= MAX_TRIES || !this.#mayRetry())
          throw new RemoteError(`cannot reach ${this.#options.server.origin}: ${reason(error)}`);
        wait = backoffMs(tries);
      }
      // Ctrl-C during the wait: nothing was submitted, nothing to cancel.
      const stopped = await sleep(wait, false, { signal: this.#stop.signal }).catch(() => true);
      if (stopped) return null;
    }
  }

  /** Reads the job's events until `done`, resuming after the last one seen when cut off. */
  async #follow(id: string, positions: readonly number[]): Promise<void> {
    // Moved by the parser's callback: a holder, so the loop reads its latest value.
    const seen: { lastEventId: string | null } = { lastEventId: null };
    for (let tries = 0; ; tries++) {
      let done: string | null = null;
      let wait = backoffMs(tries);
      try {
        const response = await fetch(this.#url(`/v1/jobs/${encodeURIComponent(id)}/events`), {
          headers: this.#headers({
            accept: 'text/event-stream',
            ...(seen.lastEventId === null ? {} : { 'last-event-id': seen.lastEventId }),
          }),
        });
        if (!response.ok || response.body === null) {
          if (!RETRYABLE.has(response.status) || tries >= MAX_TRIES)
            throw new RemoteError(`cannot follow job ${id}: ${await problemOf(response)}`);
          wait = retryAfterMs(response, tries);
          await response.body?.cancel();
        } else {
          const parser = createParser({
            onEvent: (event) => {
              if (event.event === 'result') this.#deliver(JSON.parse(event.data), positions);
              else if (event.event === 'done') done = JSON.parse(event.data).status ?? 'done';
              // Only after the event is handled: a cut right here resumes with it again.
              if (event.id !== undefined) seen.lastEventId = event.id;
            },
          });
          for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
            parser.feed(chunk);
            tries = 0;
            if (done !== null) break;
          }
        }
      } catch (error) {
        if (error instanceof RemoteError) throw error;
        if (tries >= MAX_TRIES || !this.#mayRetry())
          throw new RemoteError(
            `lost job ${id} on ${this.#options.server.origin}: ${reason(error)}`,
          );
      }
      if (done !== null) {
        // Cancelled or failed on the service, not by this run: its targets are not all here.
        if (done !== 'succeeded' && !this.#cancelled)
          throw new RemoteError(`job ${id} ended ${done} on the service`);
        return;
      }
      this.#options.onNotice?.(`the stream of job ${id} was cut; resuming`);
      await sleep(wait);
    }
  }

  /**
   * Once the service has answered, a failed connection or a stream cut mid-body is worth
   * another try (a restart, a proxy's timeout), whatever name the HTTP client gives it
   * (ECONNRESET, UND_ERR_SOCKET, HPE_INVALID_EOF_STATE with Node 24's undici…); the tries are
   * bounded. Before it has, the URL is likely wrong: say so at once.
   */
  #mayRetry(): boolean {
    return this.#reached;
  }

  #deliver(line: { index: number } & ProbeResult, positions: readonly number[]): void {
    const { index, ...result } = line;
    const error = result.error;
    if (error !== null && error.code === 'cancelled' && error.phase === 'queued') return;
    this.#options.onResult(positions[index]!, result);
  }

  /** Asks the service to cancel job `id`, a few times if it is busy; says so if it will not. */
  async #cancelJob(id: string): Promise<void> {
    for (let tries = 0; ; tries++) {
      let why: string;
      let wait = backoffMs(tries);
      try {
        const response = await fetch(this.#url(`/v1/jobs/${encodeURIComponent(id)}/cancel`), {
          method: 'POST',
          headers: this.#headers(),
        });
        if (response.ok) {
          await response.body?.cancel();
          return;
        }
        why = await problemOf(response);
        if (!RETRYABLE.has(response.status)) tries = MAX_TRIES;
        else wait = retryAfterMs(response, tries);
      } catch (error) {
        why = reason(error);
      }
      if (tries >= 3) {
        this.#options.onNotice?.(`could not cancel job ${id}: ${why}`);
        return;
      }
      await sleep(wait);
    }
  }
}
