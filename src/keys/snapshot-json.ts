/**
 * The body of one `values.get` response → its rows, or of one `values.batchGet` → its value ranges, parsed as it
 * streams in, a slice at a time.
 *
 * A big tab is a body of many megabytes; `res.text()` + `JSON.parse` of it would block the event loop, during which
 * no request is answered. The tab is still read in ONE request: a consistent view of the sheet (pages read one after the
 * other could see a row twice, or miss it, when an admin inserts, deletes or sorts rows in between) at the cost of one
 * read of the per-minute quota. Only the work on the body is split: its chunks are decoded as they come, a scan finds
 * where each row of a `values` array ends (src/keys/value-range-scanner.ts), rows are parsed by `JSON.parse` in slices of about `sliceChars`
 * characters, and the event loop gets a turn whenever `budgetMs` of such work has run.
 */
import { SliceBudget } from '../slicing';
import type { SliceOptions } from '../slicing';
import type { CellValue } from './types';
import { ValueRangeScanner } from './value-range-scanner';
import type { BodyMemory, RangeFields, RangeSink, RowSink } from './value-range-scanner';

export type { BodyMemory, RangeFields, RangeSink, RowSink };

export interface ValueRangeOptions extends SliceOptions {
  /** Characters of rows parsed by one `JSON.parse` (a row is never split). Defaults to `131072` (about 1 ms). */
  readonly sliceChars?: number;
  /**
   * A body that is not a plain value range (`{ …, "values": [[scalar, …], …] }`) or batch of them: `'parse'` (the default) parses it
   * whole at the end, as `JSON.parse` would, which means keeping every chunk of every body until its end; `'refuse'`
   * rejects it with a SyntaxError and keeps nothing — the snapshot's read, where a big body kept alive to the end
   * would bring on full collections during the refresh. Sheets never sends another shape.
   */
  readonly otherShapes?: 'parse' | 'refuse';
}

/**
 * Text is scanned in pieces this long, with a look at the clock after each: small enough that even the first pieces,
 * run before the JIT has compiled the scan, stay well within the budget.
 */
const PIECE = 16_384;

/**
 * Rows of a `ValueRange` JSON body (`{ range, majorDimension, values: [[cell, …], …] }`) streamed in as bytes (UTF-8)
 * or text: the same as `JSON.parse(body).values ?? []`, but never working for more than about `budgetMs` without
 * giving the event loop a turn. A body of any other shape (an object or array inside a row, two arrays, a
 * top-level array) is parsed whole at the end.
 * @throws SyntaxError when the body is not JSON; whatever `body` throws (a timeout, a lost connection).
 */
export async function readValueRange(body: JsonBody, options: ValueRangeOptions = {}): Promise<CellValue[][]> {
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
export function streamValueRange(body: JsonBody, sink: RowSink, options: ValueRangeOptions = {}): Promise<void> {
  return streamBody(body, new ValueRangeScanner(options.sliceChars ?? 131_072, sink), options, sink.bodyMemory?.());
}

/** One value range of a `values.batchGet` body: its fields as JSON.parse gives them, with `values` (rows) always set. */
export interface ParsedValueRange extends RangeFields {
  readonly values: CellValue[][];
}

/**
 * The value ranges of a `values.batchGet` body (`{ spreadsheetId, valueRanges: [{ range, majorDimension, values },
 * …] }`) streamed in as bytes (UTF-8) or text, read as {@link readValueRange} reads one: the same as
 * `JSON.parse(body).valueRanges ?? []`, each with `values: []` where it has none, without working for more than about
 * `budgetMs` between turns of the event loop.
 * @throws SyntaxError when the body is not JSON; whatever `body` throws (a timeout, a lost connection).
 */
export async function readBatchGet(body: JsonBody, options: ValueRangeOptions = {}): Promise<ParsedValueRange[]> {
  const ranges: ParsedValueRange[] = [];
  let rows: CellValue[][] = [];
  const sink: RangeSink = {
    push: (batch) => {
      for (const row of batch) {
        rows.push(row);
      }
    },
    endRange: (fields) => {
      ranges.push({ ...fields, values: rows });
      rows = [];
    },
    restart: () => {
      ranges.length = 0;
      rows = [];
    },
  };
  await streamBody(body, new ValueRangeScanner(options.sliceChars ?? 131_072, sink, sink), options);
  return ranges;
}

/** {@link readBatchGet} of a body already in memory. */
export function parseBatchGet(body: string, options: ValueRangeOptions = {}): Promise<ParsedValueRange[]> {
  return readBatchGet([body], options);
}

/** A JSON body as it streams in: a web or Node stream of bytes, or text. */
export type JsonBody = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

/**
 * Feeds `body` to `scanner` a piece at a time, with a turn of the event loop whenever `budgetMs` of work has run.
 * With `memory`, a body that arrives as bytes is first compared with `memory.previous`: its chunks are only held while
 * they match it byte for byte, and a body that matches to the end goes to `memory.same()` without being decoded or
 * scanned. At the first byte that differs (or a body that ends short or runs long), what was held is fed as usual and
 * so is the rest; such a body, read to the end, is given to `memory.remember`.
 */
async function streamBody(
  body: JsonBody,
  scanner: ValueRangeScanner,
  options: ValueRangeOptions,
  memory?: BodyMemory,
): Promise<void> {
  const budget = new SliceBudget(options);
  const decoder = new TextDecoder();
  /**
   * The body as it came, for one of another shape. Kept as the chunks themselves: bytes are held outside the JS heap,
   * where they cost the collector nothing; decoded pieces kept instead would be strings that every scavenge of the
   * read copies.
   */
  const chunks: (Uint8Array | string)[] = [];
  const keep = options.otherShapes !== 'refuse';
  // Decoded text is handed to the scanner in pieces of about PIECE characters, however small the chunks the body
  // arrives in: the scanner joins each piece to its window of text, and many small reads would copy the window over
  // and over.
  let gathered = '';
  const feed = async (text: string, last: boolean): Promise<void> => {
    gathered += text;
    if (gathered.length < PIECE && !last) {
      return;
    }
    const whole = gathered;
    gathered = '';
    for (let at = 0; at < whole.length; at += PIECE) {
      scanner.push(whole.length <= PIECE ? whole : whole.slice(at, at + PIECE));
      if (budget.spent()) {
        await budget.pause();
      }
    }
  };
  const previous = memory?.previous;
  /** Bytes of `previous` matched so far; -1 once the body differs from it (or there is nothing to compare). */
  let matched = previous === undefined ? -1 : 0;
  /** Chunks that matched, not fed yet. */
  const held: Uint8Array[] = [];
  /** Every chunk, for `memory.remember`; undefined once a chunk came as text. */
  let bytes: Uint8Array[] | undefined = memory === undefined ? undefined : [];
  const feedHeld = async (): Promise<void> => {
    for (const chunk of held.splice(0)) {
      await feed(decoder.decode(chunk, { stream: true }), false);
    }
  };
  for await (const chunk of body) {
    if (keep) {
      chunks.push(chunk);
    }
    if (typeof chunk === 'string') {
      bytes = undefined;
    } else {
      bytes?.push(chunk);
    }
    if (matched !== -1) {
      const end = matched + chunk.length;
      if (
        typeof chunk !== 'string' &&
        previous !== undefined &&
        end <= previous.length &&
        Buffer.compare(chunk, previous.subarray(matched, end)) === 0
      ) {
        held.push(chunk);
        matched = end;
        continue;
      }
      matched = -1;
      await feedHeld();
    }
    await feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }), false);
  }
  if (matched !== -1 && matched === previous?.length) {
    memory?.same();
    return;
  }
  await feedHeld();
  await feed(decoder.decode(), true);
  scanner.finish(() => {
    if (!keep) {
      throw new SyntaxError('the body is not of the expected shape, and other shapes are refused');
    }
    const whole = new TextDecoder();
    return chunks.map((c) => (typeof c === 'string' ? c : whole.decode(c, { stream: true }))).join('') + whole.decode();
  });
  if (bytes !== undefined) {
    memory?.remember(Buffer.concat(bytes));
  }
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
