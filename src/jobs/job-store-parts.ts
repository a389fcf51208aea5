// What every JobStore writes the same way: list cursors, idempotency keys within their owner's
// namespace, when a finished job is past its retention, and telling listeners (other people's
// code) without letting one stop the rest.
import type { JobRecord } from './job-store.js';

const CURSOR = /^c([1-9][0-9]{0,14})$/;

export function encodeCursor(createSeq: number): string {
  return Buffer.from(`c${createSeq}`).toString('base64url');
}

/**
 * The creation sequence a cursor points at, or 0 for one no store handed out. Base64url
 * decoding ignores stray characters, so the cursor must also re-encode to itself.
 */
export function cursorSeq(cursor: string): number {
  const match = CURSOR.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  const createSeq = match ? Number(match[1]) : 0;
  return createSeq >= 1 && encodeCursor(createSeq) === cursor ? createSeq : 0;
}

/** An Idempotency-Key within its owner's namespace (a key is printable ASCII: no newline). */
export function ownedKey(owner: string | null, key: string): string {
  return `${owner ?? ''}\n${key}`;
}

/** True once a finished job has been kept for `retentionMs` (a running job never expires). */
export function isExpired(record: JobRecord, retentionMs: number, now: number): boolean {
  return record.finishedAt !== null && now >= record.finishedAt + retentionMs;
}

/** Listeners are other people's code: one that throws must not stop the store or the rest. */
export function emit<E>(listeners: Iterable<(event: E) => void>, event: E): void {
  for (const listener of [...listeners]) {
    try {
      listener(event);
    } catch (error) {
      process.emitWarning(
        error instanceof Error ? error : new Error(String(error)),
        'JobStoreListenerWarning',
      );
    }
  }
}
