// One destination's share of the scheduler's politeness cap: the tasks it has running, the
// slots held by woken inputs, and the inputs parked until it has room, woken oldest first.
// Jobs may cap a destination differently, so parked inputs sit in one FIFO lane per cap: a
// lane whose cap the count has reached must not hold up a lane of a higher cap behind it.

/**
 * An input parked until its destination has room; once woken, it waits (holding a reserved
 * slot) in its job's queue until the job's turn starts it. `J` is the scheduler's job record.
 */
export class ParkedInput<J> {
  readonly job: J;
  readonly index: number;
  readonly destination: DestinationSlots<J>;
  readonly lane: ParkedLane<J>;
  /** Park order at its destination: lanes of different caps wake oldest first. */
  readonly order: number;
  /** Links in its lane while parked. */
  older: ParkedInput<J> | null = null;
  newer: ParkedInput<J> | null = null;
  /** Links in the job's list of parked inputs, then (`jobNext` only) in its woken queue. */
  jobPrev: ParkedInput<J> | null = null;
  jobNext: ParkedInput<J> | null = null;

  constructor(
    job: J,
    index: number,
    destination: DestinationSlots<J>,
    lane: ParkedLane<J>,
    order: number,
  ) {
    this.job = job;
    this.index = index;
    this.destination = destination;
    this.lane = lane;
    this.order = order;
  }
}

class ParkedLane<J> {
  readonly cap: number;
  oldest: ParkedInput<J> | null = null;
  newest: ParkedInput<J> | null = null;
  /** Woken inputs of this cap not started yet. */
  reserved = 0;

  constructor(cap: number) {
    this.cap = cap;
  }
}

export class DestinationSlots<J> {
  readonly key: string;
  running = 0;
  /** Slots held by woken inputs until they start or are cancelled. */
  reserved = 0;
  // Null until something parks: most destinations never see a second task at once.
  #lanes: ParkedLane<J>[] | null = null;
  #parkOrder = 0;

  constructor(key: string) {
    this.key = key;
  }

  /** Nothing running, reserved or parked: the scheduler may forget this destination. */
  get idle(): boolean {
    return this.running === 0 && this.reserved === 0 && this.#lanes === null;
  }

  /** Whether a job whose cap is `cap` may start one more task here now. */
  admits(cap: number): boolean {
    return this.running + this.reserved < Math.min(cap, this.#ceiling());
  }

  park(job: J, index: number, cap: number): ParkedInput<J> {
    const lane = this.#laneOf(cap);
    const input = new ParkedInput(job, index, this, lane, this.#parkOrder++);
    input.older = lane.newest;
    if (lane.newest === null) lane.oldest = input;
    else lane.newest.newer = input;
    lane.newest = input;
    return input;
  }

  /** Takes a parked input out of its lane, oldest or not (its job was cancelled). */
  unpark(input: ParkedInput<J>): void {
    const { lane, older, newer } = input;
    if (older === null) lane.oldest = newer;
    else older.newer = newer;
    if (newer === null) lane.newest = older;
    else newer.older = older;
    input.older = null;
    input.newer = null;
    this.#dropIfEmpty(lane);
  }

  /**
   * Takes the oldest parked input whose cap admits one more task and reserves its slot. Until
   * it starts, the destination admits no more than its cap: a job with a higher cap must not
   * fill the destination past it in the meantime. Null when none fits.
   */
  wake(): ParkedInput<J> | null {
    const lanes = this.#lanes;
    if (lanes === null) return null;
    const inUse = this.running + this.reserved;
    if (inUse >= this.#ceiling()) return null;
    let pick: ParkedInput<J> | null = null;
    for (const lane of lanes) {
      const oldest = lane.oldest;
      if (oldest !== null && lane.cap > inUse && (pick === null || oldest.order < pick.order)) {
        pick = oldest;
      }
    }
    if (pick === null) return null;
    // Reserved first, so that taking its last parked input out does not drop the lane.
    pick.lane.reserved++;
    this.reserved++;
    this.unpark(pick);
    return pick;
  }

  /** A woken input gives its reserved slot back: it starts (`running`) or was cancelled. */
  release(input: ParkedInput<J>, running: boolean): void {
    const lane = input.lane;
    lane.reserved--;
    this.reserved--;
    if (running) this.running++;
    this.#dropIfEmpty(lane);
  }

  /** The lowest cap among woken inputs not started yet: the count must stay below it. */
  #ceiling(): number {
    let ceiling = Number.POSITIVE_INFINITY;
    if (this.reserved === 0 || this.#lanes === null) return ceiling;
    for (const lane of this.#lanes) {
      if (lane.reserved > 0 && lane.cap < ceiling) ceiling = lane.cap;
    }
    return ceiling;
  }

  #laneOf(cap: number): ParkedLane<J> {
    this.#lanes ??= [];
    for (const lane of this.#lanes) if (lane.cap === cap) return lane;
    const lane = new ParkedLane<J>(cap);
    this.#lanes.push(lane);
    return lane;
  }

  #dropIfEmpty(lane: ParkedLane<J>): void {
    if (lane.oldest !== null || lane.reserved > 0) return;
    const lanes = this.#lanes!;
    lanes.splice(lanes.indexOf(lane), 1);
    if (lanes.length === 0) this.#lanes = null;
  }
}
