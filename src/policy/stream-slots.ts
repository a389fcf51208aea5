// Open result streams (NDJSON, SSE) are long-lived and hold memory each: capped in total and
// per caller, so one caller cannot open them by the thousand.
import { ServiceError } from '../errors.js';

export class TooManyStreamsError extends ServiceError {
  constructor(scope: 'caller' | 'total', limit: number) {
    super(
      'too_many_streams',
      scope === 'caller'
        ? `this caller already has ${limit} result streams open; close one or poll instead`
        : 'the service has too many result streams open; retry shortly or poll instead',
      scope === 'caller' ? { status: 429, retryAfterS: 1 } : { status: 503, retryAfterS: 5 },
    );
  }
}

export class StreamSlots {
  readonly #perCaller = new Map<string, number>();
  #open = 0;

  constructor(
    readonly maxStreams: number,
    readonly maxPerCaller: number,
  ) {}

  get open(): number {
    return this.#open;
  }

  /** Takes a slot for `caller`, or throws TooManyStreamsError; the release is idempotent. */
  take(caller: string): () => void {
    const mine = this.#perCaller.get(caller) ?? 0;
    if (mine >= this.maxPerCaller) throw new TooManyStreamsError('caller', this.maxPerCaller);
    if (this.#open >= this.maxStreams) throw new TooManyStreamsError('total', this.maxStreams);
    this.#open++;
    this.#perCaller.set(caller, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#open--;
      const left = (this.#perCaller.get(caller) ?? 1) - 1;
      if (left === 0) this.#perCaller.delete(caller);
      else this.#perCaller.set(caller, left);
    };
  }
}
