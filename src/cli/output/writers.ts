// The command's outputs, each written as results land: JSON Lines (the API's result shape,
// one per line), CSV (csv-stringify, the columns of exports/result-row.ts), HAR 1.2 (one
// document, its entries streamed), a compact table for a terminal (colours only on a
// terminal, never with NO_COLOR), and curl's --write-out.
import { Writable } from 'node:stream';
import { styleText } from 'node:util';
import { createCsvStringifier } from '../../exports/csv.js';
import { HAR_LOG_TAIL, HarEntriesText, harLogHead } from '../../exports/har.js';
import { certDaysLeft, headerValue, resultRow } from '../../exports/result-row.js';
import { serializeResult } from '../../jobs/result-json.js';
import type { ProbeOptions } from '../../schemas/probe-options.js';
import type { ProbeResult } from '../../schemas/probe-result.js';
import type { WriteOut } from './write-out.js';

export const OUTPUT_FORMATS = ['jsonl', 'csv', 'table', 'har'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface ResultWriter {
  write(index: number, result: ProbeResult): void;
  /** Resolves once the output has room again (a slow reader holds the run back). */
  room(): Promise<void>;
  /** Flushes what is left; the stream is not closed. */
  end(): Promise<void>;
}

/**
 * Hands `out` the writes of one event-loop turn as one write: stdout to a file or a pipe is a
 * synchronous syscall per write on Linux, which for 10,000 short lines cost more than the
 * lines' JSON. While one write is out, the next ones wait here and go together (_writev).
 */
class Coalesced extends Writable {
  constructor(private readonly out: Writable) {
    super({ decodeStrings: false, highWaterMark: 1 << 16 });
  }

  override _write(
    chunk: string | Buffer,
    _encoding: BufferEncoding,
    done: (error?: Error | null) => void,
  ) {
    this.#send(chunk, done);
  }

  override _writev(
    chunks: Array<{ chunk: string | Buffer }>,
    done: (error?: Error | null) => void,
  ): void {
    const strings = chunks.every(({ chunk }) => typeof chunk === 'string');
    this.#send(
      strings
        ? chunks.map(({ chunk }) => chunk).join('')
        : Buffer.concat(chunks.map(({ chunk }) => Buffer.from(chunk))),
      done,
    );
  }

  #send(data: string | Buffer, done: (error?: Error | null) => void): void {
    if (this.out.destroyed) {
      done();
      return;
    }
    // Held until `out` has room: a slow reader holds the run back instead of growing memory.
    // A reader that went away (EPIPE) closes `out`, which must not leave this waiting.
    if (this.out.write(data)) setImmediate(done);
    else {
      const go = () => {
        this.out.off('drain', go);
        this.out.off('close', go);
        done();
      };
      this.out.on('drain', go);
      this.out.on('close', go);
    }
  }
}

/** Resolves when `stream` has room again, at once if it has. */
function roomIn(stream: Writable): Promise<void> {
  if (!stream.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => stream.once('drain', () => resolve()));
}

/** Resolves once everything written to `coalesced` has been handed to its stream. */
function flushed(coalesced: Writable): Promise<void> {
  return new Promise((resolve) => coalesced.end(() => resolve()));
}

function jsonLines(target: Writable): ResultWriter {
  const out = new Coalesced(target);
  return {
    write: (index, result) => {
      out.write(`${serializeResult(index, result)}\n`);
    },
    room: () => roomIn(out),
    end: () => flushed(out),
  };
}

function csv(target: Writable): ResultWriter {
  const out = new Coalesced(target);
  const stringifier = createCsvStringifier();
  stringifier.pipe(out);
  const now = Date.now();
  return {
    write: (index, result) => {
      stringifier.write(resultRow(index, result, now));
    },
    room: () => (stringifier.writableNeedDrain ? roomIn(stringifier) : roomIn(out)),
    end: async () => {
      // The pipe ends `out` once the stringifier has given it everything.
      const flushedOut = new Promise<void>((resolve) => out.once('finish', () => resolve()));
      const stringified = new Promise<void>((resolve) => stringifier.once('end', () => resolve()));
      stringifier.end();
      await stringified;
      await flushedOut;
    },
  };
}

const TABLE_COLUMNS = [
  ['target', 32],
  ['status', 6],
  ['server', 16],
  ['http', 4],
  ['grade', 5],
  ['cert days', 9],
  ['total ms', 9],
  ['error', 20],
] as const;

function cell(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

function gradeStyle(grade: string): 'green' | 'yellow' | 'red' {
  if (grade.startsWith('A') || grade.startsWith('B')) return 'green';
  return grade.startsWith('C') ? 'yellow' : 'red';
}

function table(target: Writable, colour: boolean): ResultWriter {
  const out = new Coalesced(target);
  const paint = (style: Parameters<typeof styleText>[0], text: string) =>
    colour ? styleText(style, text) : text;
  const now = Date.now();
  const head = TABLE_COLUMNS.map(([name, width]) => cell(name, width))
    .join(' ')
    .trimEnd();
  out.write(`${paint('bold', head)}\n`);
  return {
    write: (_index, result) => {
      const days = certDaysLeft(result, now);
      const values = [
        result.target,
        result.status === null ? '-' : String(result.status),
        headerValue(result, 'server') ?? '-',
        result.httpVersion ?? '-',
        result.grade ?? '-',
        days === null ? '-' : String(days),
        result.timing.total.toFixed(1),
        result.error?.code ?? '',
      ];
      const cells = values.map((value, i) => cell(value, TABLE_COLUMNS[i]![1]));
      if (result.status !== null) {
        cells[1] = paint(
          result.status >= 400 ? 'red' : result.status >= 300 ? 'yellow' : 'green',
          cells[1]!,
        );
      }
      if (result.grade !== null) cells[4] = paint(gradeStyle(result.grade), cells[4]!);
      if (days !== null && days < 30) cells[5] = paint(days < 0 ? 'red' : 'yellow', cells[5]!);
      if (result.error !== null) cells[7] = paint('red', cells[7]!);
      out.write(`${cells.join(' ').trimEnd()}\n`);
    },
    room: () => roomIn(out),
    end: () => flushed(out),
  };
}

function har(target: Writable, options: ProbeOptions): ResultWriter {
  const out = new Coalesced(target);
  out.write(harLogHead());
  const text = new HarEntriesText(options);
  return {
    write: (index, result) => {
      out.write(text.entries(index, result));
    },
    room: () => roomIn(out),
    end: () => {
      out.write(HAR_LOG_TAIL);
      return flushed(out);
    },
  };
}

/** `-w FORMAT`: curl's --write-out, once per target. */
export function writeOutWriter(target: Writable, format: WriteOut): ResultWriter {
  const out = new Coalesced(target);
  return {
    write: (_index, result) => {
      out.write(format.render(result));
    },
    room: () => roomIn(out),
    end: () => flushed(out),
  };
}

export function createWriter(
  format: OutputFormat,
  out: Writable,
  colour: boolean,
  options: ProbeOptions,
): ResultWriter {
  switch (format) {
    case 'jsonl':
      return jsonLines(out);
    case 'csv':
      return csv(out);
    case 'table':
      return table(out, colour);
    case 'har':
      return har(out, options);
  }
}
