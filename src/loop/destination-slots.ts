// One destination's share of the scheduler's politeness cap: the tasks it has running, the
// slots held by woken inputs, and the inputs parked until it has room, woken oldest first.
// Parked inputs sit in one FIFO per job: a job at its own cap must not hold up the inputs of
// jobs behind it, nor a job whose cap the count has reached those of a higher cap.

/** What a destination asks of a job whose inputs park there. */
export interface ParkingJob {
  /** Whether the job could start one more woken input now, within its own cap. */
  canTakeWoken(): boolean;
}

/**
 * An input parked until its destination has room; once woken, it waits (holding a reserved
 * slot) in its job's queue until the job's turn starts it. `J` is the scheduler's job record.
 */
export class ParkedInput<J extends ParkingJob> {
  readonly index: number;
  readonly queue: JobParkedQueue<J>;
  /** Park order at its destination: the queues of different jobs wake oldest first. */
  readonly order: number;
  /** The next newer input in its queue while parked, then in its job's woken queue. */
  next: ParkedInput<J> | null = null;

  constructor(index: number, queue: JobParkedQueue<J>, order: number) {
    this.index = index;
    this.queue = queue;
    this.order = order;
  }

  get job(): J {
    return this.queue.job;
  }

  get destination(): DestinationSlots<J> {
    return this.queue.destination;
  }
}

/** One job's inputs parked at one destination, and its woken inputs there not started yet. */
export class JobParkedQueue<J extends ParkingJob> {
  readonly job: J;
  readonly destination: DestinationSlots<J>;
  /** The job's cap at this destination. */
  readonly cap: number;
  oldest: ParkedInput<J> | null = null;
  newest: ParkedInput<J> | null = null;
  /** Woken inputs not started yet. */
  reserved = 0;
  /** Links in the job's list of queues with parked inputs, kept by the job. */
  jobPrev: JobParkedQueue<J> | null = null;
  jobNext: JobParkedQueue<J> | null = null;

  constructor(job: J, destination: DestinationSlots<J>, cap: number) {
    this.job = job;
    this.destination = destination;
    this.cap = cap;
  }
}

export class DestinationSlots<J extends ParkingJob> {
  readonly key: string;
  running = 0;
  /** Slots held by woken inputs until they start or are cancelled. */
  reserved = 0;
  // Null until something parks: most destinations never see a second task at once.
  #queues: JobParkedQueue<J>[] | null = null;
  #parkOrder = 0;

  constructor(key: string) {
    this.key = key;
  }

  /** Nothing running, reserved or parked: the scheduler may forget this destination. */
  get idle(): boolean {
    return this.running === 0 && this.reserved === 0 && this.#queues === null;
  }

  /** Whether a job whose cap is `cap` may start one more task here now. */
  admits(cap: number): boolean {
    return this.running + this.reserved < Math.min(cap, this.#ceiling());
  }

  /** Parks at the back of the job's queue here; `cap` is the job's cap at this destination. */
  park(job: J, index: number, cap: number): ParkedInput<J> {
    const queue = this.#queueOf(job, cap);
    const input = new ParkedInput(index, queue, this.#parkOrder++);
    if (queue.newest === null) queue.oldest = input;
    else queue.newest.next = input;
    queue.newest = input;
    return input;
  }

  /** Takes the oldest input out of a queue with one parked (its job was cancelled). */
  unparkOldest(queue: JobParkedQueue<J>): ParkedInput<J> {
    const input = queue.oldest!;
    queue.oldest = input.next;
    if (queue.oldest === null) queue.newest = null;
    input.next = null;
    this.#dropIfEmpty(queue);
    return input;
  }

  /**
   * Takes the oldest parked input whose cap admits one more task and whose job can start it
   * now, and reserves its slot. Until it starts, the destination admits no more than its cap:
   * a job with a higher cap must not fill the destination past it in the meantime. An input
   * whose job is at its own cap is passed by: its reservation would idle the slot until the
   * job's own tasks end. Null when none fits.
   */
  wake(): ParkedInput<J> | null {
    const queues = this.#queues;
    if (queues === null) return null;
    const inUse = this.running + this.reserved;
    if (inUse >= this.#ceiling()) return null;
    let pick: ParkedInput<J> | null = null;
    for (const queue of queues) {
      const oldest = queue.oldest;
      if (
        oldest !== null &&
        queue.cap > inUse &&
        (pick === null || oldest.order < pick.order) &&
        queue.job.canTakeWoken()
      ) {
        pick = oldest;
      }
    }
    if (pick === null) return null;
    // Reserved first, so that taking its last parked input out does not drop the queue.
    pick.queue.reserved++;
    this.reserved++;
    this.unparkOldest(pick.queue);
    return pick;
  }

  /** A woken input gives its reserved slot back: it starts (`running`) or was cancelled. */
  release(input: ParkedInput<J>, running: boolean): void {
    const queue = input.queue;
    queue.reserved--;
    this.reserved--;
    if (running) this.running++;
    this.#dropIfEmpty(queue);
  }

  /** The lowest cap among woken inputs not started yet: the count must stay below it. */
  #ceiling(): number {
    let ceiling = Number.POSITIVE_INFINITY;
    if (this.reserved === 0 || this.#queues === null) return ceiling;
    for (const queue of this.#queues) {
      if (queue.reserved > 0 && queue.cap < ceiling) ceiling = queue.cap;
    }
    return ceiling;
  }

  #queueOf(job: J, cap: number): JobParkedQueue<J> {
    this.#queues ??= [];
    for (const queue of this.#queues) if (queue.job === job) return queue;
    const queue = new JobParkedQueue(job, this, cap);
    this.#queues.push(queue);
    return queue;
  }

  #dropIfEmpty(queue: JobParkedQueue<J>): void {
    if (queue.oldest !== null || queue.reserved > 0) return;
    const queues = this.#queues!;
    queues.splice(queues.indexOf(queue), 1);
    if (queues.length === 0) this.#queues = null;
  }
}
