/**
 * Finds where the rows of Sheets value ranges end in a JSON body fed piece by piece, and hands them over parsed, a
 * slice at a time: the scan behind src/keys/snapshot-json.ts. Two shapes are read this way: one value range
 * (`values.get`: `{ …, "values": [[cell, …], …], … }`) and a batch of them (`values.batchGet`:
 * `{ …, "valueRanges": [{ …, "values": [[cell, …], …], … }, …], … }`). Anything else in those places (an object or
 * array inside a row, a second array, a top-level array) marks the body as of another shape, which `finish` then
 * parses whole.
 */
import type { CellValue } from './types';

/** Where the scan hands the rows as they are parsed. */
export interface RowSink {
  /** The next rows of the body, in order. */
  push(rows: CellValue[][]): void;
  /**
   * When present, the rows of a value range are handed over unparsed instead, each as its own JSON text (`[cell, …]`,
   * brackets included, a complete JSON array whose separators the scan has checked): a sink that kept the previous
   * read's rows parses only those whose text changed. A body of another shape still comes through `push`.
   */
  pushTexts?(rows: string[]): void;
  /** Forget every row pushed so far: the body turned out to be of another shape, and all of it comes again. */
  restart(): void;
  /**
   * When present, asked once as the body starts: what the sink remembers of the body its current result was built
   * from, so that the same body again is neither decoded nor scanned.
   */
  bodyMemory?(): BodyMemory | undefined;
}

/** A sink's memory of a body it was fed whole (see `RowSink.bodyMemory`). */
export interface BodyMemory {
  /** The bytes of the body the sink's current result was built from; undefined when there is none to compare. */
  readonly previous: Uint8Array | undefined;
  /** The body was byte for byte `previous`: none of it was pushed, and the sink keeps what it built from it. */
  same(): void;
  /** The whole body of a read whose rows were pushed, for the next read to compare with. */
  remember(body: Uint8Array): void;
}

/** The fields of one value range of a batch other than its rows (`range`, `majorDimension`), as JSON.parse gives them. */
export type RangeFields = Readonly<Record<string, unknown>>;

/** Where the scan of a batch hands its value ranges: the rows of one range, then `endRange` with its other fields. */
export interface RangeSink extends RowSink {
  /** The value range whose rows were pushed since the last `endRange` (or the start) ends here. */
  endRange(fields: RangeFields): void;
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
 * Offsets are absolute (from the start of the body); `window` holds the text from `windowStart` on: the text not
 * needed any more (the batch's head, finished ranges, parsed rows) is dropped as the scan goes. Depths count the open
 * brackets: a lone value range is the body itself (depth 1); in a batch, the body is depth 1, `valueRanges` 2 and
 * each value range 3. Its `values` array is one deeper, and each row one deeper still.
 */
export class ValueRangeScanner {
  private otherShape = false;
  private window = '';
  private windowStart = 0;
  /** Absolute offset of the first character not scanned yet. */
  private scanned = 0;
  /** Open brackets, innermost last. */
  private readonly open: number[] = [];
  private inString = false;
  /** Depth of a value range's object, of its `values` array, of a row. */
  private readonly rangeDepth: number;
  private readonly valuesDepth: number;
  private readonly rowDepth: number;
  /** In a batch: the body up to its `valueRanges` array, and where that array ends. */
  private batchHead: string | undefined;
  private batchEnd = -1;
  /** The value range being read: where it begins, the text up to its `values` array, where that array ends. */
  private rangeStart = 0;
  private head: string | undefined;
  private valuesEnd = -1;
  /** Where the rows not parsed yet begin (after the last parsed row), and the end of the last complete row. */
  private parsedTo = -1;
  private lastRowEnd = -1;
  /** For a sink of row texts: where each row not handed over yet starts and ends (its closing bracket). */
  private readonly rowStarts: number[] = [];
  private readonly rowEnds: number[] = [];
  /**
   * Separators of the arrays of containers (a batch's `valueRanges` is level 0, `values` level 1): commas met straight
   * in the array since its last container, and containers met so far. JSON wants exactly one comma between two, none
   * before the first or after the last; the rows are parsed apart from one another, so the scan checks what lies
   * between them.
   */
  private readonly commas: [number, number] = [0, 0];
  private readonly containers: [number, number] = [0, 0];
  private readonly texts: boolean;

  /** `batch`: the sink of a `values.batchGet` body; without it, the body is one value range, its rows go to `sink`. */
  constructor(
    private readonly sliceChars: number,
    private readonly sink: RowSink,
    private readonly batch?: RangeSink,
  ) {
    this.rangeDepth = batch === undefined ? 1 : 3;
    this.valuesDepth = this.rangeDepth + 1;
    this.rowDepth = this.rangeDepth + 2;
    this.texts = batch === undefined && sink.pushTexts !== undefined;
  }

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
   * Hands over the last rows. The sink has then had what `JSON.parse(body)` holds: the rows of `values` (none when
   * that is not an array: a top-level array's `values` is Array.prototype.values), or each of `valueRanges` with its
   * rows (`values`, none when missing) and then its other fields. For a body of another shape, after a `restart()`,
   * as `whole()` parsed the plain way. @throws SyntaxError when the body is not JSON.
   */
  finish(whole: () => string): void {
    if (!this.otherShape && this.isComplete()) {
      return;
    }
    const parsed = JSON.parse(whole()) as unknown;
    this.sink.restart();
    if (this.batch === undefined) {
      this.sink.push(rowsOf(parsed));
      return;
    }
    const ranges = (parsed as { valueRanges?: unknown } | null)?.valueRanges;
    for (const range of Array.isArray(ranges) ? (ranges as unknown[]) : []) {
      this.batch.push(rowsOf(range));
      this.batch.endRange(fieldsOf(range));
    }
  }

  /** Whether the scan saw the whole body as the shape it reads; for one value range, its last rows go out here. */
  private isComplete(): boolean {
    if (this.batch !== undefined) {
      if (this.batchHead === undefined || this.batchEnd === -1) {
        return false;
      }
      // The envelope without its ranges is small: parse it, so a body that is not JSON fails as JSON.parse would.
      return hasField(JSON.parse(`${this.batchHead}[]${this.textFrom(this.batchEnd + 1)}`), 'valueRanges');
    }
    if (this.head === undefined || this.valuesEnd === -1) {
      return false;
    }
    this.parseRows();
    return hasField(JSON.parse(`${this.head}[]${this.textFrom(this.valuesEnd + 1)}`), 'values');
  }

  private at(offset: number): number {
    return this.window.charCodeAt(offset - this.windowStart);
  }

  private textFrom(from: number, to = this.windowStart + this.window.length): string {
    return this.window.slice(from - this.windowStart, to - this.windowStart);
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
      const depth = this.open.length;
      if (c === QUOTE) {
        this.inString = true;
        this.otherShape = this.isArrayOfContainers(depth); // a string straight in `values` or `valueRanges`
      } else if (c === OPEN_OBJECT) {
        this.openObject(i, this.open.push(c));
      } else if (c === OPEN_ARRAY) {
        this.openArray(i, this.open.push(c));
      } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
        this.close(i, c);
      } else if (this.isArrayOfContainers(depth) && c === COMMA) {
        this.commas[depth === this.valuesDepth ? 1 : 0]++;
      } else if (this.isArrayOfContainers(depth) && !WHITESPACE.has(c)) {
        this.otherShape = true; // a number or literal straight in `values` or `valueRanges`
      }
      i++;
    }
    this.scanned = i;
  }

  /** Whether the innermost open bracket at `depth` is `values` or `valueRanges`, which hold only rows or ranges. */
  private isArrayOfContainers(depth: number): boolean {
    return depth === this.valuesDepth || (this.batch !== undefined && depth === 2);
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

  /**
   * A container opens straight in `values` (level 1) or `valueRanges` (level 0): after one comma, or after none when
   * it is the first.
   */
  private separated(level: 0 | 1): void {
    if (this.commas[level] !== (this.containers[level] === 0 ? 0 : 1)) {
      this.otherShape = true; // a missing or doubled comma, or one before the first
    }
    this.commas[level] = 0;
    this.containers[level]++;
  }

  /** `values` (level 1) or `valueRanges` (level 0) closes: no comma after its last container. */
  private endContainers(level: 0 | 1): void {
    if (this.commas[level] !== 0) {
      this.otherShape = true;
    }
    this.commas[level] = 0;
    this.containers[level] = 0;
  }

  private openObject(i: number, depth: number): void {
    if (this.batch !== undefined && depth === this.rangeDepth && this.open[1] === OPEN_ARRAY) {
      this.separated(0);
      this.rangeStart = i;
      this.head = undefined;
      this.valuesEnd = -1;
      this.parsedTo = -1;
      this.lastRowEnd = -1;
    } else if (depth !== 1) {
      this.otherShape = true; // an object in a row, or in a batch's envelope where no range belongs
    }
  }

  private openArray(i: number, depth: number): void {
    const inObject = this.open[depth - 2] === OPEN_OBJECT;
    if (this.batch !== undefined && depth === 2 && this.batchHead === undefined && inObject) {
      this.batchHead = this.textFrom(this.windowStart, i);
      this.dropBefore(i + 1);
    } else if (depth === this.valuesDepth && this.head === undefined && inObject) {
      this.head = this.textFrom(this.rangeStart, i);
      this.parsedTo = i + 1;
      this.dropBefore(i + 1);
    } else if (depth === this.rowDepth && this.valuesEnd === -1) {
      this.separated(1);
      if (this.texts) {
        this.rowStarts.push(i);
      }
    } else {
      this.otherShape = true; // a second array in an envelope, an array in a cell, or a top-level array
    }
  }

  private close(i: number, c: number): void {
    if (this.open.pop() !== (c === CLOSE_ARRAY ? OPEN_ARRAY : OPEN_OBJECT)) {
      this.otherShape = true; // mismatched: JSON.parse will say why
      return;
    }
    const depth = this.open.length;
    if (depth === this.valuesDepth) {
      this.lastRowEnd = i;
      if (this.texts) {
        this.rowEnds.push(i);
      }
    } else if (depth === this.rangeDepth && c === CLOSE_ARRAY) {
      if (this.head !== undefined && this.valuesEnd === -1) {
        this.endContainers(1);
      }
      this.valuesEnd = i;
    } else if (this.batch !== undefined && depth === 2 && c === CLOSE_OBJECT) {
      this.endRange(i);
    } else if (this.batch !== undefined && depth === 1 && c === CLOSE_ARRAY) {
      this.endContainers(0);
      this.batchEnd = i;
    }
  }

  /** A value range of a batch closes at `i`: its last rows, then its other fields, go to the sink. */
  private endRange(i: number): void {
    const batch = this.batch;
    if (batch === undefined) {
      return;
    }
    if (this.head !== undefined && this.valuesEnd !== -1) {
      this.parseRows();
    }
    // Without its rows, a value range is a few fields: parsed whole (a body that is not JSON fails here).
    const text =
      this.head === undefined
        ? this.textFrom(this.rangeStart, i + 1)
        : `${this.head}[]${this.textFrom(this.valuesEnd + 1, i + 1)}`;
    const range = JSON.parse(text) as Record<string, unknown>;
    if (this.head !== undefined && !Array.isArray(range.values)) {
      this.otherShape = true; // its array is not `values`
      return;
    }
    batch.endRange(fieldsOf(range));
    this.head = undefined;
    this.dropBefore(i + 1);
  }

  /**
   * Hands over the complete rows not handed over yet: from `parsedTo` (a comma and blanks, then a row) to `lastRowEnd`,
   * parsed, or as the text of each row to a sink of row texts.
   */
  private parseRows(): void {
    if (this.lastRowEnd >= this.parsedTo) {
      if (this.texts) {
        this.sink.pushTexts?.(this.rowTexts());
      } else {
        const text = this.textFrom(this.parsedTo, this.lastRowEnd + 1);
        this.sink.push(JSON.parse(`[${text.slice(text.indexOf('['))}]`) as CellValue[][]);
      }
      this.parsedTo = this.lastRowEnd + 1;
      this.dropBefore(this.parsedTo);
    }
  }

  /** The text of each complete row not handed over yet; a row still open stays for the next time. */
  private rowTexts(): string[] {
    const { rowStarts, rowEnds } = this;
    const texts = new Array<string>(rowEnds.length);
    for (let r = 0; r < rowEnds.length; r++) {
      texts[r] = this.textFrom(rowStarts[r] ?? 0, (rowEnds[r] ?? 0) + 1);
    }
    rowStarts.splice(0, rowEnds.length);
    rowEnds.length = 0;
    return texts;
  }

  private dropBefore(offset: number): void {
    this.window = this.window.slice(offset - this.windowStart);
    this.windowStart = offset;
  }
}

/** The rows of a parsed value range: its `values` when an array, else none. */
function rowsOf(range: unknown): CellValue[][] {
  const values = (range as { values?: unknown } | null)?.values;
  return Array.isArray(values) ? (values as CellValue[][]) : [];
}

/** A parsed value range's fields other than `values`. */
function fieldsOf(range: unknown): RangeFields {
  const entries = typeof range === 'object' && range !== null ? Object.entries(range) : [];
  return Object.fromEntries(entries.filter(([name]) => name !== 'values'));
}

function hasField(parsed: unknown, field: string): boolean {
  return typeof parsed === 'object' && parsed !== null && field in parsed;
}
