/**
 * The body of one `values.get` response → its rows, parsed as it streams in, a slice at a time.
 *
 * A big tab is a body of many megabytes; `res.text()` + `JSON.parse` of it would block the event loop, during which
 * no request is answered. The tab is still read in ONE request: a consistent view of the sheet (pages read one after the
 * other could see a row twice, or miss it, when an admin inserts, deletes or sorts rows in between) at the cost of one
 * read of the per-minute quota. Only the work on the body is split: its chunks are decoded as they come, a scan finds
 * where each row of the `values` array ends, rows are parsed by `JSON.parse` in slices of about `sliceChars`
 * characters, and the event loop gets a turn whenever `budgetMs` of such work has run.
 */
import { SliceBudget } from '../slicing';
import type { SliceOptions } from '../slicing';
import type { CellValue } from './types';

export interface ValueRangeOptions extends SliceOptions {
  /** Characters of rows parsed by one `JSON.parse` (a row is never split). Defaults to `131072` (about 1 ms). */
  readonly sliceChars?: number;
  /**
   * A body that is not a plain value range (`{ …, "values": [[scalar, …], …] }`): `'parse'` (the default) parses it
   * whole at the end, as `JSON.parse` would, which means keeping every chunk of every body until its end; `'refuse'`
   * rejects it with a SyntaxError and keeps nothing — the snapshot's read, where a big body kept alive to the end
   * would bring on full collections during the refresh. Sheets never sends another shape.
   */
  readonly otherShapes?: 'parse' | 'refuse';
}

const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
/** JSON's insignificant whitespace: space, tab, line feed, carriage return. */
const WHITESPACE: ReadonlySet<number> = new Set([0x20, 0x09, 0x0a, 0x0d]);
/**
 * Text is scanned in pieces this long, with a look at the clock after each: small enough that even the first pieces,
 * run before the JIT has compiled the scan, stay well within the budget.
 */
const PIECE = 16_384;

/**
 * Finds row boundaries in a `ValueRange` body (`{ …, "values": [[cell, …], …], … }`) fed piece by piece. Offsets are
 * absolute (from the start of the body); `window` holds the text from `windowStart` on: everything until the
 * `values` array opens (the head of the envelope), then from the first row not parsed yet.
 */
class ValueRangeScanner {
  private otherShape = false;
  private window = '';
  private windowStart = 0;
  /** Absolute offset of the first character not scanned yet. */
  private scanned = 0;
  /** Open brackets, innermost last: 1 = the response object, 2 = `values`, 3 = a row. */
  private readonly open: number[] = [];
  private inString = false;
  private head: string | undefined;
  private valuesEnd = -1;
  /** Where the rows not parsed yet begin (after the last parsed row), and the end of the last complete row. */
  private parsedTo = -1;
  private lastRowEnd = -1;

  constructor(
    private readonly sliceChars: number,
    private readonly sink: RowSink,
  ) {}

  push(piece: string): void {
    if (this.otherShape) {
      return;
    }
    this.window += piece;
    this.scan();
    if (this.lastRowEnd - this.parsedTo >= this.sliceChars) {
      this.parseRows();
    }
  }

  /**
   * Hands over the last rows. The sink has then had `JSON.parse(body).values` (none when that is not an array: a
   * top-level array's `values` is Array.prototype.values); for a body of another shape,
   * after a `restart()`, as `whole()` parsed the plain way. @throws SyntaxError when the body is not JSON.
   */
  finish(whole: () => string): void {
    if (!this.otherShape && this.head !== undefined && this.valuesEnd !== -1) {
      this.parseRows();
      // The envelope without its rows is small: parse it, so a body that is not JSON fails as JSON.parse would.
      const tail = this.window.slice(this.valuesEnd + 1 - this.windowStart);
      const envelope = JSON.parse(`${this.head}[]${tail}`) as unknown;
      if (typeof envelope === 'object' && envelope !== null && 'values' in envelope) {
        return;
      }
    }
    const values = (JSON.parse(whole()) as { values?: unknown } | null)?.values;
    this.sink.restart();
    this.sink.push(Array.isArray(values) ? (values as CellValue[][]) : []);
  }

  private at(offset: number): number {
    return this.window.charCodeAt(offset - this.windowStart);
  }

  private scan(): void {
    const end = this.windowStart + this.window.length;
    let i = this.scanned;
    while (i < end && !this.otherShape) {
      if (this.inString) {
        i = this.stringEnd(i, end);
        continue;
      }
      const c = this.at(i);
      if (c === QUOTE) {
        this.inString = true;
        this.otherShape = this.open.length === 2; // a string straight in `values`, not in a row
      } else if (c === OPEN_OBJECT) {
        this.otherShape = this.open.push(c) !== 1;
      } else if (c === OPEN_ARRAY) {
        this.openArray(i, this.open.push(c));
      } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
        this.close(i, c);
      } else if (this.open.length === 2 && c !== COMMA && !WHITESPACE.has(c)) {
        this.otherShape = true; // a number or literal straight in `values`
      }
      i++;
    }
    this.scanned = i;
  }

  /** From `i` inside a string: the offset after its closing quote, or `end` when it goes on in the next piece. */
  private stringEnd(i: number, end: number): number {
    for (let from = i; ;) {
      const q = this.window.indexOf('"', from - this.windowStart);
      if (q === -1) {
        return end;
      }
      const quote = q + this.windowStart;
      let backslashes = 0;
      while (this.at(quote - 1 - backslashes) === BACKSLASH) {
        backslashes++;
      }
      if (backslashes % 2 === 0) {
        this.inString = false;
        return quote + 1;
      }
      from = quote + 1;
    }
  }

  private openArray(i: number, depth: number): void {
    if (depth === 2 && this.head === undefined && this.open[0] === OPEN_OBJECT) {
      this.head = this.window.slice(0, i - this.windowStart);
      this.parsedTo = i + 1;
      this.dropBefore(i + 1);
    } else if (depth !== 3 || this.valuesEnd !== -1) {
      this.otherShape = true; // a second array in the envelope, an array in a cell, or a top-level array
    }
  }

  private close(i: number, c: number): void {
    if (this.open.pop() !== (c === CLOSE_ARRAY ? OPEN_ARRAY : OPEN_OBJECT)) {
      this.otherShape = true; // mismatched: JSON.parse will say why
    } else if (this.open.length === 2) {
      this.lastRowEnd = i;
    } else if (this.open.length === 1 && c === CLOSE_ARRAY) {
      this.valuesEnd = i;
    }
  }

  /** Parses the complete rows not parsed yet: from `parsedTo` (a comma and blanks, then a row) to `lastRowEnd`. */
  private parseRows(): void {
    if (this.lastRowEnd >= this.parsedTo) {
      const text = this.window.slice(this.parsedTo - this.windowStart, this.lastRowEnd + 1 - this.windowStart);
      this.sink.push(JSON.parse(`[${text.slice(text.indexOf('['))}]`) as CellValue[][]);
      this.parsedTo = this.lastRowEnd + 1;
      this.dropBefore(this.parsedTo);
    }
  }

  private dropBefore(offset: number): void {
    this.window = this.window.slice(offset - this.windowStart);
    this.windowStart = offset;
  }
}

/** Where {@link streamValueRange} hands the rows as they are parsed. */
export interface RowSink {
  /** The next rows of the body, in order. */
  push(rows: CellValue[][]): void;
  /** Forget every row pushed so far: the body turned out to be of another shape, and all of it comes again. */
  restart(): void;
}

/**
 * Rows of a `ValueRange` JSON body (`{ range, majorDimension, values: [[cell, …], …] }`) streamed in as bytes (UTF-8)
 * or text: the same as `JSON.parse(body).values ?? []`, but never working for more than about `budgetMs` without
 * giving the event loop a turn. A body of any other shape (an object or array inside a row, two arrays, a
 * top-level array) is parsed whole at the end.
 * @throws SyntaxError when the body is not JSON; whatever `body` throws (a timeout, a lost connection).
 */
export async function readValueRange(
  body: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  options: ValueRangeOptions = {},
): Promise<CellValue[][]> {
  const collector = rowCollector();
  await streamValueRange(body, collector, options);
  return collector.rows;
}

/** A sink that keeps every row pushed, in `rows`. */
export function rowCollector(): RowSink & { readonly rows: CellValue[][] } {
  const rows: CellValue[][] = [];
  return {
    rows,
    push: (batch) => {
      for (const row of batch) {
        rows.push(row);
      }
    },
    restart: () => {
      rows.length = 0;
    },
  };
}

/**
 * {@link readValueRange} that keeps nothing: each slice of rows goes to `sink` as soon as it is parsed, and the work
 * the sink does with them counts toward the slice's budget. A sink that builds as it goes (the snapshot) leaves
 * no table of rows alive while the body streams in.
 */
export async function streamValueRange(
  body: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  sink: RowSink,
  options: ValueRangeOptions = {},
): Promise<void> {
  const budget = new SliceBudget(options);
  const scanner = new ValueRangeScanner(options.sliceChars ?? 131_072, sink);
  const decoder = new TextDecoder();
  /**
   * The body as it came, for one of another shape. Kept as the chunks themselves: bytes are held outside the JS heap,
   * where they cost the collector nothing; decoded pieces kept instead would be strings that every scavenge of the
   * read copies.
   */
  const chunks: (Uint8Array | string)[] = [];
  const keep = options.otherShapes !== 'refuse';
  const feed = async (text: string): Promise<void> => {
    for (let at = 0; at < text.length; at += PIECE) {
      scanner.push(text.length <= PIECE ? text : text.slice(at, at + PIECE));
      if (budget.spent()) {
        await budget.pause();
      }
    }
  };
  for await (const chunk of body) {
    if (keep) {
      chunks.push(chunk);
    }
    await feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
  }
  await feed(decoder.decode());
  scanner.finish(() => {
    if (!keep) {
      throw new SyntaxError('the body is not a plain value range, and other shapes are refused');
    }
    const whole = new TextDecoder();
    return chunks.map((c) => (typeof c === 'string' ? c : whole.decode(c, { stream: true }))).join('') + whole.decode();
  });
}

/** {@link readValueRange} of a body already in memory. */
export function parseValueRange(body: string, options: ValueRangeOptions = {}): Promise<CellValue[][]> {
  return readValueRange([body], options);
}

/**
 * `JSON.stringify({ values: rows })`, yielding every `stepRows` rows: the body {@link parseValueRange} reads back in
 * slices. A big table stringified in one piece would block the event loop.
 */
export function* valueRangeJsonSteps(
  rows: readonly (readonly CellValue[])[],
  stepRows = Infinity,
): Generator<number, string, void> {
  const pieces: string[] = [];
  for (let from = 0; from < rows.length; from += Math.min(stepRows, rows.length)) {
    if (from > 0) {
      yield from;
    }
    pieces.push(JSON.stringify(rows.slice(from, from + stepRows)).slice(1, -1));
  }
  return `{"values":[${pieces.filter((p) => p !== '').join(',')}]}`;
}
