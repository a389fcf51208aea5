// Gathers small chunks and passes them on together, at most every `intervalMs` or once
// `maxBytes` are waiting, so a stream of thousands of short lines costs tens of socket
// writes, not thousands. Adds at most `intervalMs` of latency to a line.
import { Transform, type TransformCallback } from 'node:stream';

export class CoalescingStream extends Transform {
  #pending: string[] = [];
  #pendingBytes = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly intervalMs = 20,
    private readonly maxBytes = 64 * 1024,
  ) {
    super({ writableObjectMode: true });
  }

  override _transform(chunk: string, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes >= this.maxBytes) this.#flushPending();
    else this.#timer ??= setTimeout(() => this.#flushPending(), this.intervalMs);
    done();
  }

  override _flush(done: TransformCallback): void {
    this.#flushPending();
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    done(error);
  }

  #flushPending(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#pending.length === 0) return;
    this.push(this.#pending.join(''));
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}
