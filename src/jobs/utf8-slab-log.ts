// An append-only list of strings kept as UTF-8 in large Buffer slabs, outside the V8 heap:
// V8 sizes its heap with headroom over the live data, so 100,000 result strings held as
// strings cost far more resident memory than their bytes held off-heap.

/** Small first: a job of a few targets must not pin a whole MiB. */
const FIRST_SLAB_BYTES = 4 * 1024;
/**
 * Slabs double in size up to this, so a log wastes at most about half its bytes while small
 * and at most this much once large. A bigger string gets a slab of its own size.
 */
const MAX_SLAB_BYTES = 1024 * 1024;
/** A UTF-16 code unit takes at most 3 UTF-8 bytes (a surrogate pair: 4 bytes for 2 units). */
const MAX_UTF8_BYTES_PER_UNIT = 3;

/**
 * Strings come back as the same text, provided they are well-formed UTF-16 (as JSON.stringify
 * output always is): a lone surrogate cannot be encoded and comes back as U+FFFD.
 *
 * Offsets and lengths fit Uint32Array: the longest V8 string encodes to under 2 GB.
 */
export class Utf8SlabLog {
  readonly #slabs: Buffer[] = [];
  /** The slab being filled, -1 before the first. */
  #fillingSlab = -1;
  /** Bytes used in the slab being filled. */
  #filled = 0;
  #nextSlabBytes = FIRST_SLAB_BYTES;
  #reservedBytes = 0;
  #length = 0;
  /** Per position: which slab, where in it, and how many bytes. */
  readonly #slabOf: Uint32Array;
  readonly #startOf: Uint32Array;
  readonly #byteLengthOf: Uint32Array;

  /** `capacity` is the most strings the log will hold; the position arrays are sized once. */
  constructor(capacity: number) {
    this.#slabOf = new Uint32Array(capacity);
    this.#startOf = new Uint32Array(capacity);
    this.#byteLengthOf = new Uint32Array(capacity);
  }

  /** Strings appended so far; positions run from 0 to length - 1. */
  get length(): number {
    return this.#length;
  }

  /** Bytes of slab memory held, used or not. */
  get reservedBytes(): number {
    return this.#reservedBytes;
  }

  /** Stores `text` at the next position and returns that position. */
  append(text: string): number {
    if (this.#length === this.#byteLengthOf.length) {
      throw new RangeError(`the log is full at its capacity of ${this.#length} strings`);
    }
    // -1 before the first slab, so that even an empty string starts one to point into.
    const room = this.#fillingSlab < 0 ? -1 : this.#slabs[this.#fillingSlab]!.length - this.#filled;
    // Measuring the exact UTF-8 length first would double the cost of an append, so that
    // is done only when the worst case might not fit.
    if (text.length * MAX_UTF8_BYTES_PER_UNIT > room) {
      const byteLength = Buffer.byteLength(text, 'utf8');
      if (byteLength > MAX_SLAB_BYTES) return this.#appendInOwnSlab(text, byteLength);
      if (byteLength > room) this.#startSlab(byteLength);
    }
    const start = this.#filled;
    const byteLength = this.#slabs[this.#fillingSlab]!.write(text, start, 'utf8');
    this.#filled += byteLength;
    return this.#record(this.#fillingSlab, start, byteLength);
  }

  /** The string at `position`, decoded afresh. */
  get(position: number): string {
    if (!Number.isInteger(position) || position < 0 || position >= this.#length) {
      throw new RangeError(`position ${position} outside 0..${this.#length - 1}`);
    }
    const start = this.#startOf[position]!;
    const slab = this.#slabs[this.#slabOf[position]!]!;
    return slab.toString('utf8', start, start + this.#byteLengthOf[position]!);
  }

  /** allocUnsafeSlow: the slab is ours alone, not a slice of Node's shared pool. */
  #allocate(byteLength: number): number {
    this.#slabs.push(Buffer.allocUnsafeSlow(byteLength));
    this.#reservedBytes += byteLength;
    return this.#slabs.length - 1;
  }

  /** The rest of the slab being filled is given up: a string is never split across slabs. */
  #startSlab(atLeastBytes: number): void {
    const byteLength = Math.max(this.#nextSlabBytes, atLeastBytes);
    this.#fillingSlab = this.#allocate(byteLength);
    this.#filled = 0;
    this.#nextSlabBytes = Math.min(byteLength * 2, MAX_SLAB_BYTES);
  }

  /** For a string bigger than a whole slab; the slab being filled keeps its room for the next. */
  #appendInOwnSlab(text: string, byteLength: number): number {
    const slab = this.#allocate(byteLength);
    this.#slabs[slab]!.write(text, 0, 'utf8');
    return this.#record(slab, 0, byteLength);
  }

  #record(slab: number, start: number, byteLength: number): number {
    const position = this.#length++;
    this.#slabOf[position] = slab;
    this.#startOf[position] = start;
    this.#byteLengthOf[position] = byteLength;
    return position;
  }
}
