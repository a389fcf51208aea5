// Utf8SlabLog: strings in, the same strings out, whatever their characters and sizes, and
// slab memory in proportion to what is kept.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Utf8SlabLog } from '../../src/jobs/utf8-slab-log.js';

const MiB = 1024 * 1024;

function readAll(log: Utf8SlabLog): string[] {
  return Array.from({ length: log.length }, (_, position) => log.get(position));
}

/** Each string appended, in order, with the positions append returned. */
function fill(texts: readonly string[]): { log: Utf8SlabLog; positions: number[] } {
  const log = new Utf8SlabLog(texts.length);
  return { log, positions: texts.map((text) => log.append(text)) };
}

describe('Utf8SlabLog', () => {
  it('gives back each string at the position append returned', () => {
    const texts = ['{"a":1}', '', '{"b":"two"}'];
    const { log, positions } = fill(texts);

    expect(positions).toEqual([0, 1, 2]);
    expect(log.length).toBe(3);
    expect(readAll(log)).toEqual(texts);
  });

  it('round-trips non-ASCII and astral characters', () => {
    const texts = [
      '{"subject":"CN=Bücher-Straße, O=株式会社テスト, C=JP"}',
      '{"target":"https://пример.испытание/","emoji":"😀🔒","clef":"𝄞"}',
      '\u0000\u007f\u0080\u07ff\u0800\uffff\u{10000}\u{10ffff}',
    ];
    const { log } = fill(texts);

    expect(readAll(log)).toEqual(texts);
  });

  it('turns a lone surrogate, which UTF-8 cannot carry, into U+FFFD', () => {
    const { log } = fill(['a\ud800b']);

    expect(log.get(0)).toBe('a\ufffdb');
  });

  it('keeps strings that span many slabs, up to the last byte of each', () => {
    // Mixed widths and lengths, so some strings land exactly where a worst-case guess of
    // their size would not fit.
    const texts = Array.from({ length: 3000 }, (_, i) =>
      `{"i":${i},"s":"${'é😀x'.repeat(i % 500)}"}`.padEnd(1400 + (i % 37), ' '),
    );
    const { log } = fill(texts);

    expect(log.reservedBytes).toBeGreaterThan(MiB);
    expect(readAll(log)).toEqual(texts);
  });

  it('gives a string bigger than a slab a slab of its own and keeps filling the last one', () => {
    const big = `{"big":"${'é'.repeat(600_000)}😀"}`;
    const bigBytes = Buffer.byteLength(big);
    expect(bigBytes).toBeGreaterThan(MiB);
    const log = new Utf8SlabLog(3);
    log.append('{"before":1}');
    const reservedBefore = log.reservedBytes;

    log.append(big);
    expect(log.reservedBytes).toBe(reservedBefore + bigBytes);
    log.append('{"after":2}');
    expect(log.reservedBytes).toBe(reservedBefore + bigBytes);

    expect(readAll(log)).toEqual(['{"before":1}', big, '{"after":2}']);
  });

  it('reserves a few KiB, not a whole slab, for a log of a few strings', () => {
    const { log } = fill(['{"index":0}', '{"index":1}']);

    expect(log.reservedBytes).toBeLessThanOrEqual(4096);
  });

  it('wastes at most about half of what it reserves while growing', () => {
    const texts = Array.from({ length: 2000 }, (_, i) => `{"i":${i}}`.padEnd(1500, ' '));
    const { log } = fill(texts);

    expect(log.reservedBytes).toBeLessThan(2 * 1500 * texts.length);
  });

  it('round-trips any well-formed strings', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary', maxLength: 3000 }), { maxLength: 40 }),
        (texts) => {
          expect(readAll(fill(texts).log)).toEqual(texts);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses more strings than its capacity and positions it does not hold', () => {
    const { log } = fill(['{}']);

    expect(() => log.append('{}')).toThrow(RangeError);
    for (const position of [-1, 1, 0.5]) {
      expect(() => log.get(position)).toThrow(RangeError);
    }
  });
});
