/**
 * A whole tab → the immutable snapshot the service answers from. Pure and synchronous: {@link SnapshotBuilder} takes
 * the rows one at a time as they are read, and its finish is a generator that can stop between refused rows while it
 * looks for keys quoted in their refusals, so that src/keys/load-snapshot.ts can give the event loop a turn on a big
 * sheet; `buildSnapshot` runs it over a table in memory in one go.
 */
import { runToEnd } from '../slicing';
import { maskQuotedKeys } from './quote-search';
import { isValidTimeZone } from './dates';
import { mapHeader } from './header';
import type { HeaderMap } from './header';
import { keyIdOf } from './key-id';
import { tableHash } from './key-table';
import { KeyTableBuilder, emptyKeyTable } from './key-table-builder';
import { parseRow, plainKeyLength } from './row';
import { RememberedRows, ownCopy, recall, remember } from './row-memory';
import type { RowMemory } from './row-memory';
import type { CellValue, KeyTable, ParseContext, RowProblem, SheetTable, Snapshot } from './types';

/**
 * Builds the snapshot of `table`, stamped `loadedAt: now`; dates are read in `table.timeZone`.
 * - An unusable header row, or a time zone Intl does not know, gives no keys and one problem on row 1 (the key
 *   store then keeps its previous snapshot).
 * - Each refused row is one problem, with its row number and, when the key cell was readable, its key id.
 * - A key on two or more rows — plaintext or hashed, valid or refused — is refused on every one of them
 *   ("duplicate key (also on row N)"), and absent from `byHash`: which row's limit and owner would count?
 * The snapshot, its problems and records are frozen; `byHash` is read-only (a {@link KeyTable}).
 */
export function buildSnapshot(table: SheetTable, ctx: { readonly defaultRateLimit: number }, now: number): Snapshot {
  const builder = new SnapshotBuilder(table.timeZone, ctx, Math.max(1, table.rows.length - 1));
  for (const row of table.rows) {
    builder.add(row);
  }
  return builder.finish(now);
}

/** Refusals frozen between two yields of {@link SnapshotBuilder.finishSteps}. */
const FREEZES_PER_STEP = 2000;

/**
 * The same build, fed the tab's rows in order, one at a time, as they are read (header row first): nothing but the
 * snapshot being built outlives a row, so a big sheet leaves no table behind for the collector to copy while the
 * body streams in. `finish(now)` returns what {@link buildSnapshot} returns for the same rows and `now`.
 */
export class SnapshotBuilder {
  private readonly parseContext: ParseContext;
  private header: HeaderMap | undefined;
  /** The row-1 problem that leaves the snapshot empty: an unknown zone, an unusable header. */
  private fatal: string | undefined;
  /** 1-based sheet row of the next row added. */
  private row = 1;
  private readonly byHash: KeyTableBuilder;
  private readonly problems: RowProblem[] = [];
  /** First row of each hash seen on a refused row (valid rows are found through `byHash`). */
  private readonly refusedAt = new Map<string, number>();
  /** Every row of each hash seen more than once. */
  private readonly repeated = new Map<string, number[]>();
  /**
   * Refusals that quote a cell as typed: the index in `problems`, and where the quote (JSON) starts in its reason —
   * it ends the reason. Two arrays of small integers rather than one object and one string per refused row: the
   * text is read back from the reason when the search runs.
   */
  private readonly quotedProblem: number[] = [];
  private readonly quoteStart: number[] = [];
  /** Lengths of the sheet's plaintext keys: the only stretch lengths a quote can hold one in. */
  private readonly keyLengths = new Set<number>();
  /** A `key_hash`-only row's key may have any length: every stretch of a quote is then searched. */
  private anyKeyLength = false;
  /** The header row's text, when the rows came as texts. */
  private headerText: string | undefined;
  /** The previous build's memory, once the header row showed that its rows mean the same here. */
  private reusable: RowMemory | undefined;
  /** This build's memory of its rows, for the next build (src/keys/row-memory.ts). */
  private readonly remembered: RememberedRows;
  /** The body this build's rows came from, kept for the next build to compare with. */
  private body: Uint8Array | undefined;
  /** Set when the body was byte for byte the previous build's: the previous snapshot's content is the result. */
  private adopted: { readonly snapshot: Snapshot; readonly memory: RowMemory } | undefined;

  /**
   * `expectedKeys` only sizes the first allocation. `previous`: the snapshot this build replaces; rows given as texts
   * that are the same as when it was built are taken from it rather than parsed again.
   */
  constructor(
    private readonly timeZone: string,
    ctx: { readonly defaultRateLimit: number },
    expectedKeys?: number,
    private readonly previous?: Snapshot,
  ) {
    this.parseContext = { timeZone, defaultRateLimit: ctx.defaultRateLimit };
    this.byHash = new KeyTableBuilder(expectedKeys);
    this.remembered = new RememberedRows(expectedKeys);
    if (!isValidTimeZone(timeZone)) {
      this.fatal = `spreadsheet time zone ${JSON.stringify(timeZone)} is unknown (expected an IANA zone)`;
    }
  }

  /**
   * The body the previous snapshot was built from, when it was read from one under this build's zone and default
   * limit: the same bytes again would give the same snapshot (the build depends on nothing else), so the source can
   * compare instead of pushing the rows.
   */
  previousBody(): Uint8Array | undefined {
    const memory = recall(this.previous);
    const same =
      memory !== undefined &&
      memory.timeZone === this.timeZone &&
      memory.defaultRateLimit === this.parseContext.defaultRateLimit;
    return same ? memory.body : undefined;
  }

  /**
   * The body was byte for byte {@link previousBody}: the result is the previous snapshot's table and problems,
   * stamped with this build's time. No row may have been added.
   * @throws Error when there is no previous body, or rows were added
   */
  adoptPrevious(): void {
    const memory = recall(this.previous);
    if (this.previous === undefined || memory === undefined || this.previousBody() === undefined || this.row !== 1) {
      throw new Error('SnapshotBuilder: nothing to adopt');
    }
    this.adopted = { snapshot: this.previous, memory };
  }

  /** The body the rows added came from, byte for byte, for the next build of the tab to compare with. */
  keepBody(body: Uint8Array): void {
    this.body = body;
  }

  /** The next row of the tab; the first one added is the header row. */
  add(cells: readonly CellValue[]): void {
    this.addCells(cells, undefined);
  }

  /**
   * The next rows of the tab, each as its JSON text (`["sk-…","Acme",…]`), as {@link add} takes them parsed. A row
   * whose text is the one the previous snapshot read on the same row is not parsed again: its key is copied over
   * whole. The rest are parsed together, in one `JSON.parse`.
   * @throws SyntaxError when a text that has to be parsed is not a JSON array
   */
  addTexts(texts: readonly string[]): void {
    let from = 0;
    const first = texts[0];
    if (this.header === undefined && this.fatal === undefined && first !== undefined) {
      this.headerText = first;
      this.addCells(JSON.parse(first) as CellValue[], undefined);
      this.reusable = this.memoryFor(first);
      from = 1;
    }
    const memory = this.reusable;
    const reuse: number[] = [];
    const changed: string[] = [];
    for (let i = from, d = this.row - 2; i < texts.length; i++, d++) {
      const text = texts[i] ?? '';
      const index = memory === undefined ? -1 : memory.rows.indexIf(d, text);
      reuse.push(index);
      if (index === -1) {
        changed.push(text);
      }
    }
    const parsed = changed.length === 0 ? [] : (JSON.parse(`[${changed.join(',')}]`) as CellValue[][]);
    for (let i = from, next = 0; i < texts.length; i++) {
      const text = texts[i] ?? '';
      const index = reuse[i - from] ?? -1;
      if (index !== -1 && memory !== undefined && this.copyRow(memory, index)) {
        continue;
      }
      const cells = index === -1 ? parsed[next++] : (JSON.parse(text) as CellValue[]);
      this.addCells(cells ?? [], text);
    }
  }

  private addCells(cells: readonly CellValue[], text: string | undefined): void {
    const row = this.row++;
    if (this.fatal !== undefined) {
      return;
    }
    if (this.header === undefined) {
      const header = mapHeader(cells);
      if (header.problems.length > 0) {
        this.fatal = header.problems.join('; ');
      }
      this.header = header.columns;
      return;
    }
    this.addRow(cells, row, this.header, text);
  }

  /** The previous snapshot's memory, when its rows were read under this header row, zone and default limit. */
  private memoryFor(header: string): RowMemory | undefined {
    const memory = recall(this.previous);
    const same =
      memory !== undefined &&
      this.fatal === undefined &&
      memory.header === header &&
      memory.timeZone === this.timeZone &&
      memory.defaultRateLimit === this.parseContext.defaultRateLimit;
    return same ? memory : undefined;
  }

  /**
   * The next row is the one the previous build read on the same row, as key `index` of its table: copied over, unless
   * its key is already in this build (a duplicate, which the parse then reports as such). False when not copied.
   */
  private copyRow(memory: RowMemory, index: number): boolean {
    const row = this.row;
    if (this.refusedAt.size > 0 && this.refusedAt.has(tableHash(memory.table, index))) {
      return false;
    }
    const copied = this.byHash.copy(memory.table, index);
    if (copied === -1) {
      return false;
    }
    this.row += 1;
    const d = row - 2;
    const length = memory.rows.keyLength(d);
    this.noteKeyLength(length === 0 ? undefined : length);
    this.remembered.set(d, memory.rows.text(d) ?? '', copied, length);
    return true;
  }

  private noteKeyLength(length: number | undefined): void {
    if (length === undefined) {
      this.anyKeyLength = true;
    } else {
      this.keyLengths.add(length);
    }
  }

  /** The snapshot, stamped `loadedAt`. */
  finish(loadedAt: number): Snapshot {
    return runToEnd(this.finishSteps(loadedAt));
  }

  /**
   * {@link finish}, yielding the number of refusals searched so far after every ~1,000 sha256: a refusal that quotes a
   * short cell is reworded when the cell holds a key of this sheet, which is known only once every row is in, and
   * costs up to 300 sha256 per refused row — a second pass over the refused rows, done in steps like the rows
   * themselves. No row may be added meanwhile.
   */
  *finishSteps(loadedAt: number): Generator<number, Snapshot, void> {
    if (this.adopted !== undefined) {
      const { snapshot: previous, memory } = this.adopted;
      const snapshot = freeze(previous.byHash, [...previous.problems], previous.timeZone, loadedAt);
      remember(snapshot, memory);
      return snapshot;
    }
    if (this.fatal !== undefined || this.header === undefined) {
      const reason = this.fatal ?? mapHeader([]).problems.join('; ');
      return freeze(emptyKeyTable(), [{ row: 1, reason }], this.timeZone, loadedAt);
    }
    const { byHash, problems, refusedAt, repeated, quotedProblem, quoteStart } = this;
    const isKey = (hash: string): boolean => byHash.indexOf(hash) !== -1 || refusedAt.has(hash);
    const lengths = this.anyKeyLength ? undefined : [...this.keyLengths];
    yield* maskQuotedKeys(problems, quotedProblem, quoteStart, isKey, lengths);
    for (const hash of repeated.keys()) {
      byHash.drop(byHash.indexOf(hash));
    }
    const all = withDuplicates(problems, repeated);
    // One by one, in steps: a whole sheet of refusals frozen in one go would hold the event loop.
    for (let i = 0; i < all.length; i++) {
      Object.freeze(all[i]);
      if ((i + 1) % FREEZES_PER_STEP === 0) {
        yield quotedProblem.length;
      }
    }
    const snapshot = freeze(byHash.finish(), all, this.timeZone, loadedAt);
    if (this.headerText !== undefined) {
      remember(snapshot, {
        header: this.headerText,
        timeZone: this.timeZone,
        defaultRateLimit: this.parseContext.defaultRateLimit,
        table: snapshot.byHash,
        rows: this.remembered,
        body: this.body,
      });
    }
    return snapshot;
  }

  /** `text`: the row's JSON text, remembered for the next build when the row becomes a key. */
  private addRow(cells: readonly CellValue[], row: number, header: HeaderMap, text: string | undefined): void {
    const result = parseRow(cells, header, row, this.parseContext);
    if (result.kind === 'blank') {
      return;
    }
    const hash = result.kind === 'key' ? result.record.hash : result.hash;
    if (result.kind === 'refused') {
      const { reason } = result.problem;
      if (result.quoted !== undefined) {
        const quote = JSON.stringify(result.quoted);
        if (!reason.endsWith(quote)) {
          // Unsearchable, it could show a key: refuse the build rather than the secret.
          throw new Error(`row ${row}: a refusal must end with the cell it quotes`);
        }
        this.quotedProblem.push(this.problems.length);
        this.quoteStart.push(reason.length - quote.length);
      }
      this.problems.push(result.problem);
    }
    if (hash === undefined) {
      return;
    }
    const keyLength = plainKeyLength(cells, header);
    this.noteKeyLength(keyLength);
    const at = this.byHash.indexOf(hash);
    const first = at === -1 ? this.refusedAt.get(hash) : this.byHash.rowAt(at);
    if (first !== undefined) {
      const seen = this.repeated.get(hash);
      if (seen === undefined) {
        this.repeated.set(hash, [first, row]);
      } else {
        seen.push(row);
      }
    } else if (result.kind === 'key') {
      const index = this.byHash.add(result.record);
      if (text !== undefined) {
        this.remembered.set(row - 2, ownCopy(text), index, keyLength ?? 0);
      }
    } else {
      this.refusedAt.set(hash, row);
    }
  }
}

/** `problems` (in row order) plus one "duplicate key" problem per repeated row, merged into the row's own problem. */
function withDuplicates(problems: RowProblem[], repeated: ReadonlyMap<string, number[]>): RowProblem[] {
  if (repeated.size === 0) {
    return problems;
  }
  const byRow = new Map(problems.map((p) => [p.row, p]));
  for (const [hash, rows] of repeated) {
    for (const row of rows) {
      const others = rows.filter((r) => r !== row);
      const duplicate = `duplicate key (also on row${others.length > 1 ? 's' : ''} ${others.join(', ')})`;
      const own = byRow.get(row);
      const reason = own === undefined ? duplicate : `${duplicate}; ${own.reason}`;
      byRow.set(row, { row, reason, keyId: keyIdOf(hash) });
    }
  }
  return [...byRow.values()].sort((a, b) => a.row - b.row);
}

/** Freezes the snapshot and its list of problems (each problem in it too); `byHash` is read-only by construction. */
function freeze(byHash: KeyTable, problems: RowProblem[], timeZone: string, loadedAt: number): Snapshot {
  for (const problem of problems) {
    Object.freeze(problem); // at once when the build froze it already
  }
  return Object.freeze({
    byHash,
    problems: Object.freeze(problems),
    timeZone,
    loadedAt,
  });
}
