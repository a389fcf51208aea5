// The bench's client of the headprobe HTTP API: submit a job, follow its results as NDJSON,
// read and delete it. Every request carries a deadline; results are tallied as they stream
// so that not even a 100,000-target job is held in memory.
import * as http from 'node:http';
import { z } from 'zod';
import { hostUrl } from '../shared/url-lists.js';

/** `127.0.A.B:PORT`, the address scheme of url-lists.ts without the scheme and path. */
export function hostTarget(index: number, port: number): string {
  return hostUrl(index, port).slice('http://'.length, -1);
}

const SubmittedJob = z.object({ id: z.string().min(1) });
const JobState = z.object({
  status: z.string(),
  progress: z.object({ total: z.number(), done: z.number(), ok: z.number(), failed: z.number() }),
});
export type JobState = z.infer<typeof JobState>;

/** The fields before `"headers"` of a JobResult line, enough to count successes. */
const ResultHead = z.object({
  index: z.number(),
  ok: z.boolean(),
  status: z.number().nullable(),
});
/** What a good line's `dns`…`timing` slice must hold. */
const GoodResultTail = z.object({
  timing: z.object({
    namelookup: z.number().nullable(),
    phases: z.object({ wait: z.number().nullable() }),
  }),
  // Where the addresses came from (cache, dns, hosts, ...); null for an IP literal or a failed
  // lookup, and missing altogether in builds that do not report it.
  dns: z.object({ source: z.string() }).nullable().optional(),
});
/** A failed line is parsed whole, for its error too. */
const ResultTail = GoodResultTail.extend({ error: z.object({ code: z.string() }).nullable() });

/** What the names scenario reads from every line, ok or not. */
export interface NameTally {
  /** `timing.namelookup` of every line that has one (ms). */
  namelookups: number[];
  /** `dns.source` per line; `none` when it is null, `absent` when the result has no `dns`. */
  sources: Map<string, number>;
}

export interface ResultTally {
  lines: number;
  /** Lines with `ok: true` and status 200. */
  ok: number;
  errors: Map<string, number>;
  /** `timing.phases.wait` of every ok line, when asked for. */
  waits: number[];
  /** Set when the tally was made with names: every line is then parsed whole. */
  names: NameTally | undefined;
  /** performance.now() when the last line arrived, undefined before the first. */
  lastLineAt: number | undefined;
  firstLineAt: number | undefined;
}

export function emptyTally(withNames = false): ResultTally {
  return {
    lines: 0,
    ok: 0,
    errors: new Map(),
    waits: [],
    names: withNames ? { namelookups: [], sources: new Map() } : undefined,
    lastLineAt: undefined,
    firstLineAt: undefined,
  };
}

function countInto(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function countError(tally: ResultTally, code: string): void {
  countInto(tally.errors, code);
}

/**
 * The part of a JobResult line from `"dns"` to before `"redirects"` (dns, connectAttempts,
 * tls, timing) as an object, or the whole line where the cut is not found. Keys come in schema
 * order, and the headers before it are escaped strings, so the first `,"dns":` is the key.
 */
function dnsAndTiming(line: string, from: number): string {
  const start = line.indexOf(',"dns":', from);
  const end = start < 0 ? -1 : line.indexOf(',"redirects":', start);
  return end < 0 ? line : `{${line.slice(start + 1, end)}}`;
}

/**
 * Tallies one NDJSON line. The service writes JobResult keys in schema order, so the head up
 * to `"headers"` parses on its own: about a tenth of the cost of the whole line, which
 * matters because this client shares the machine's two cores with the service. The names
 * scenario also reads `dns` and `timing` of a good line, parsed out of their slice alone.
 */
export function tallyLine(tally: ResultTally, line: string, wantWaits: boolean): void {
  tally.lines++;
  const cut = line.indexOf(',"headers":');
  let head: z.infer<typeof ResultHead>;
  try {
    head = ResultHead.parse(JSON.parse(cut > 0 ? `${line.slice(0, cut)}}` : line));
  } catch {
    countError(tally, 'unparsable-line');
    return;
  }
  const fine = head.ok && head.status === 200;
  if (!fine) {
    const failed = ResultTail.safeParse(parsedOrUndefined(line));
    if (!failed.success) countError(tally, 'unparsable-line');
    else {
      countError(tally, failed.data.error?.code ?? `status-${head.status}`);
      recordName(tally, failed.data);
    }
    return;
  }
  tally.ok++;
  if (!wantWaits && tally.names === undefined) return;
  const good = GoodResultTail.safeParse(parsedOrUndefined(dnsAndTiming(line, Math.max(cut, 0))));
  if (!good.success) {
    countError(tally, 'unparsable-line');
    return;
  }
  if (wantWaits && good.data.timing.phases.wait !== null)
    tally.waits.push(good.data.timing.phases.wait);
  recordName(tally, good.data);
}

function recordName(tally: ResultTally, { timing, dns }: z.infer<typeof GoodResultTail>): void {
  if (tally.names === undefined) return;
  if (timing.namelookup !== null) tally.names.namelookups.push(timing.namelookup);
  countInto(tally.names.sources, dns === undefined ? 'absent' : (dns?.source ?? 'none'));
}

function parsedOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function errorText(errors: ReadonlyMap<string, number>): string {
  return [...errors].map(([code, count]) => `${code}:${count}`).join(',') || '-';
}

export class ServiceClient {
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  readonly #port: number;
  readonly #timeoutMs: number;

  constructor(port: number, timeoutMs: number) {
    this.#port = port;
    this.#timeoutMs = timeoutMs;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  #request(
    method: string,
    path: string,
    headers: http.OutgoingHttpHeaders,
    body?: string,
  ): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          host: '127.0.0.1',
          port: this.#port,
          method,
          path,
          headers,
          agent: this.#agent,
          signal: AbortSignal.timeout(this.#timeoutMs),
        },
        resolve,
      );
      request.once('error', reject);
      request.end(body);
    });
  }

  async #json(method: string, path: string, body?: unknown): Promise<[number, unknown]> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders =
      text === undefined ? {} : { 'content-type': 'application/json' };
    const response = await this.#request(method, path, headers, text);
    response.setEncoding('utf8');
    let received = '';
    for await (const chunk of response) received += chunk as string;
    const status = response.statusCode ?? 0;
    try {
      return [status, received === '' ? null : JSON.parse(received)];
    } catch {
      throw new Error(`${method} ${path}: ${status} with a body that is not JSON`);
    }
  }

  /** POST /v1/jobs; the job id of the 202. */
  async submit(targets: readonly string[], options: Record<string, unknown>): Promise<string> {
    const [status, body] = await this.#json('POST', '/v1/jobs', { targets, options });
    if (status !== 202) {
      throw new Error(`POST /v1/jobs answered ${status}: ${JSON.stringify(body).slice(0, 300)}`);
    }
    return SubmittedJob.parse(body).id;
  }

  async job(id: string): Promise<JobState> {
    const [status, body] = await this.#json('GET', `/v1/jobs/${id}`);
    if (status !== 200) throw new Error(`GET /v1/jobs/${id} answered ${status}`);
    return JobState.parse(body);
  }

  async delete(id: string): Promise<void> {
    const [status] = await this.#json('DELETE', `/v1/jobs/${id}`);
    if (status !== 204) throw new Error(`DELETE /v1/jobs/${id} answered ${status}`);
  }

  /** GET /v1/jobs/{id}/results as NDJSON until the service ends the stream (the job ended). */
  async follow(id: string, tally: ResultTally, wantWaits: boolean): Promise<void> {
    const response = await this.#request('GET', `/v1/jobs/${id}/results`, {
      accept: 'application/x-ndjson',
    });
    if (response.statusCode !== 200) {
      response.resume();
      throw new Error(`GET /v1/jobs/${id}/results answered ${response.statusCode}`);
    }
    response.setEncoding('utf8');
    let partial = '';
    for await (const chunk of response) {
      const now = performance.now();
      const lines = (partial + (chunk as string)).split('\n');
      partial = lines.pop() ?? '';
      if (lines.length === 0) continue;
      tally.firstLineAt ??= now;
      tally.lastLineAt = now;
      for (const line of lines) if (line !== '') tallyLine(tally, line, wantWaits);
    }
    if (partial !== '') {
      tally.lastLineAt = performance.now();
      tallyLine(tally, partial, wantWaits);
    }
  }

  /** Submits, follows to the end, and checks the job's own account of it. */
  async runJob(
    targets: readonly string[],
    options: Record<string, unknown>,
    tally: ResultTally,
    wantWaits = false,
  ): Promise<{ id: string; state: JobState }> {
    const id = await this.submit(targets, options);
    await this.follow(id, tally, wantWaits);
    return { id, state: await this.job(id) };
  }

  close(): void {
    this.#agent.destroy();
  }
}
