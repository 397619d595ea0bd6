/**
 * The one way the service builds a snapshot: the tab streamed from a {@link SheetSource} into a
 * {@link SnapshotBuilder}, each row parsed into the snapshot inside the read's own slices and dropped, so that no
 * table of rows outlives the read and a big sheet never stalls the requests served meanwhile from the current
 * snapshot. A source that holds a whole table streams it through {@link streamRows}.
 */
import { SliceBudget, runInSlices } from '../slicing';
import type { SliceOptions } from '../slicing';
import type { SheetSource, TableReader, TableSink } from './sheet-source';
import { SnapshotBuilder } from './snapshot';
import type { CellValue, SheetTable, Snapshot } from './types';

export interface LoadOptions {
  /**
   * Keys the snapshot is expected to hold (the current snapshot's size, say): sizes the key table's first allocation.
   * Growing it by doubling allocates twice the memory, and memory outside the heap that grows fast brings on full
   * collections.
   */
  readonly expectedKeys?: number;
  /** How the search for keys quoted in refusals, run once every row is in, gives the event loop its turns. */
  readonly slicing?: SliceOptions;
  /**
   * The snapshot the result replaces. A source that streams its rows as text (a `values.get` body, the table a Redis
   * leader shares) then costs a parse only for the rows whose text changed since that snapshot was read; the others
   * are copied from it, their records included.
   */
  readonly previous?: Snapshot;
}

/**
 * The snapshot of the tab `source` streams, the same one `buildSnapshot` gives for the same rows: stamped with the
 * `readAt` the source gave `sink.start`, else `now()` taken when the read is done. The caller keeps serving the
 * previous snapshot meanwhile and swaps in the result whole (it is immutable): requests never see a half-built one.
 * @throws SheetsError as the source does; Error when the source pushed rows before a time zone, or gave none
 */
export async function loadSnapshot(
  source: SheetSource,
  ctx: { readonly defaultRateLimit: number },
  now: () => number,
  options: LoadOptions = {},
): Promise<Snapshot> {
  let builder: SnapshotBuilder | undefined;
  let timeZone: string | undefined;
  let readAt: number | undefined;
  const sink: TableSink = {
    start: (zone, at) => {
      timeZone = zone;
      readAt = at;
      builder = new SnapshotBuilder(zone, ctx, options.expectedKeys, options.previous);
    },
    push: (rows: readonly CellValue[][]) => {
      const into = started(builder);
      for (const row of rows) {
        into.add(row);
      }
    },
    pushTexts: (rows: readonly string[]) => {
      started(builder).addTexts(rows);
    },
    restart: () => {
      builder =
        timeZone === undefined ? undefined : new SnapshotBuilder(timeZone, ctx, options.expectedKeys, options.previous);
    },
    bodyMemory: () =>
      builder === undefined
        ? undefined
        : {
            previous: builder.previousBody(),
            same: () => {
              started(builder).adoptPrevious();
            },
            remember: (body) => {
              started(builder).keepBody(body);
            },
          },
  };
  await source.streamTable(sink);
  if (builder === undefined) {
    throw new Error('streamTable gave no time zone');
  }
  return runInSlices(builder.finishSteps(readAt ?? now()), options.slicing);
}

function started(builder: SnapshotBuilder | undefined): SnapshotBuilder {
  if (builder === undefined) {
    throw new Error('streamTable pushed rows before the time zone');
  }
  return builder;
}

/**
 * Streams a whole table into `sink`: its zone and `readAt`, then its rows `slicing.stepRows` at a time (100 by
 * default), giving the event loop a turn whenever a slice has used its budget — the sink's work on the rows (a
 * snapshot's parse) counts toward it. Each row pushed is a copy, so `table` is never handed over to be changed.
 */
export async function streamRows(table: SheetTable, sink: TableSink, slicing: SliceOptions = {}): Promise<void> {
  sink.start(table.timeZone, table.readAt);
  const stepRows = slicing.stepRows ?? 100;
  const budget = new SliceBudget(slicing);
  for (let from = 0; from < table.rows.length; from += stepRows) {
    sink.push(table.rows.slice(from, from + stepRows).map((row) => [...row]));
    if (budget.spent()) {
      await budget.pause();
    }
  }
}

/** A {@link SheetSource} over a {@link TableReader}: each read streamed to the sink with {@link streamRows}. */
export function tableSource(reader: TableReader, slicing: SliceOptions = {}): SheetSource {
  return {
    target: reader.target,
    streamTable: async (sink) => {
      await streamRows(await reader.readTable(), sink, slicing);
    },
  };
}

/** The whole table a source streams, kept in memory: for callers that need every row at once (redaction). */
export async function readWholeTable(source: SheetSource): Promise<SheetTable> {
  let timeZone: string | undefined;
  let readAt: number | undefined;
  const rows: CellValue[][] = [];
  await source.streamTable({
    start: (zone, at) => {
      timeZone = zone;
      readAt = at;
    },
    push: (batch) => {
      for (const row of batch) {
        rows.push(row);
      }
    },
    restart: () => {
      rows.length = 0;
    },
  });
  if (timeZone === undefined) {
    throw new Error('streamTable gave no time zone');
  }
  return readAt === undefined ? { timeZone, rows } : { timeZone, rows, readAt };
}
