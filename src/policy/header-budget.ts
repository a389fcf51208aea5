// Bounds on what one submission can make the service send: caller headers go out with every
// request of every target, so 64 headers of 8 KB over 10,000 targets would be 5 GB. The
// caller's headers of one request are capped in bytes, and so is their total over the job
// (targets × requests each, redirects included).
import { ServiceError } from '../errors.js';

export interface HeaderBudget {
  /** Bytes of caller headers in one request to a target. */
  readonly maxHeaderBytes: number;
  /** Caller-header bytes a whole job may send. */
  readonly maxJobHeaderBytes: number;
}

export class HeaderBudgetError extends ServiceError {
  constructor(message: string) {
    super('header_budget_exceeded', message);
  }
}

/** Bytes the headers take on the wire: `name: value\r\n` each. */
export function headerBytes(headers: Readonly<Record<string, string>>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value) + 4;
  }
  return bytes;
}

/** Throws HeaderBudgetError when a job's caller headers go over either bound. */
export function checkHeaderBudget(
  headers: Readonly<Record<string, string>>,
  targets: number,
  followRedirects: number,
  budget: HeaderBudget,
): void {
  const perRequest = headerBytes(headers);
  if (perRequest > budget.maxHeaderBytes) {
    throw new HeaderBudgetError(
      `options.headers take ${perRequest} bytes per request; at most ${budget.maxHeaderBytes}`,
    );
  }
  const perJob = perRequest * targets * (1 + followRedirects);
  if (perJob > budget.maxJobHeaderBytes) {
    throw new HeaderBudgetError(
      `options.headers would be sent ${targets * (1 + followRedirects)} times, ${perJob} bytes ` +
        `in all; at most ${budget.maxJobHeaderBytes} per job: fewer targets, headers or redirects`,
    );
  }
}
