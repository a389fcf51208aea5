// Timeouts of one fixed length for many items at once (the DNS client's queries on the wire):
// one timer for the whole queue instead of one per item. Items time out in the order they
// were added, so the queue is a FIFO and only its head needs a timer; a cancelled entry is
// marked and skipped when it reaches the head. The timer outlives an emptied queue, unref'd,
// because items come and go in bursts. At thousands of queries a second, a Node timer per
// query (made, listed, cleared) cost more than the rest of the client's bookkeeping.

interface Entry<T> {
  item: T | null;
  readonly dueAt: number;
}

/** What `add` hands out; `cancel` takes it back. */
export type DeadlineTicket = object;

/** performance.now() and libuv's loop clock differ by under a millisecond. */
const CLOCK_SLACK_MS = 1;

export class DeadlineQueue<T> {
  #entries: Array<Entry<T>> = [];
  #head = 0;
  #live = 0;
  #timer: NodeJS.Timeout | null = null;
  /** Set while due items are handed out: the timer is armed once, after them. */
  #firing = false;

  constructor(
    private readonly delayMs: number,
    private readonly onDue: (item: T) => void,
  ) {}

  /** Items not yet due nor cancelled. */
  get size(): number {
    return this.#live;
  }

  add(item: T): DeadlineTicket {
    const entry: Entry<T> = { item, dueAt: performance.now() + this.delayMs };
    this.#entries.push(entry);
    if (++this.#live === 1 && !this.#firing) {
      if (this.#timer === null) this.#timer = setTimeout(this.#fire, this.delayMs);
      else this.#timer.ref();
    }
    return entry;
  }

  /** The item will not come due; a no-op for a ticket already due or cancelled. */
  cancel(ticket: DeadlineTicket): void {
    const entry = ticket as Entry<T>;
    if (entry.item === null) return;
    entry.item = null;
    // The timer stays (an item added soon reuses it) but no longer keeps the process alive.
    if (--this.#live === 0) this.#timer?.unref();
  }

  /** Drops every entry without calling onDue. */
  clear(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    for (let i = this.#head; i < this.#entries.length; i++) this.#entries[i]!.item = null;
    this.#entries = [];
    this.#head = 0;
    this.#live = 0;
  }

  readonly #fire = (): void => {
    this.#timer = null;
    this.#firing = true;
    try {
      const now = performance.now() + CLOCK_SLACK_MS;
      // Only what was there when the timer fired: an item onDue adds (a retry) waits its own
      // delay even when that is shorter than the clock slack, and a clear() ends the run.
      const entries = this.#entries;
      const end = entries.length;
      while (this.#entries === entries && this.#head < end) {
        const entry = entries[this.#head]!;
        if (entry.item !== null && entry.dueAt > now) break;
        this.#head++;
        const item = entry.item;
        if (item === null) continue;
        entry.item = null;
        this.#live--;
        this.onDue(item);
      }
    } finally {
      this.#firing = false;
      this.#rearm();
    }
  };

  #rearm(): void {
    if (this.#live === 0) {
      this.clear();
      return;
    }
    if (this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    const next = this.#entries[this.#head]!;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#fire, Math.max(1, next.dueAt - performance.now()));
  }
}
