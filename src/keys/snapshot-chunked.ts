/**
 * {@link buildSnapshot} without stalling requests (issue 8): the same build, run a few hundred rows at a time, giving
 * the event loop a turn whenever a slice has used its time budget ({@link runInSlices}; the usage flush locates rows
 * the same way). 100,000 rows take ~0.4 s of CPU; in one piece that
 * is 0.4 s during which no request is answered.
 */
import { setImmediate as turn } from 'node:timers/promises';
import type { TableSink } from './sheet-source';
import { SnapshotBuilder, buildSnapshotSteps } from './snapshot';
import type { CellValue, SheetTable, Snapshot } from './types';

/**
 * Lets the event loop serve I/O before the work goes on. Two `setImmediate`s, not one: work that started in an I/O
 * callback (the end of the sheet's response, say) runs in the poll phase, and a single immediate would resume it in
 * the check phase of the same loop iteration, before any new request is read — two slices back to back.
 */
export async function nextTurn(): Promise<void> {
  await turn();
  await turn();
}

export interface ChunkedBuildOptions {
  /** Longest stretch of parsing between two turns of the event loop. Defaults to `5` ms. */
  readonly budgetMs?: number;
  /** Rows parsed between two looks at the clock. Defaults to `100`. */
  readonly stepRows?: number;
  /** How the event loop gets its turn. Defaults to {@link nextTurn}. */
  readonly pause?: () => Promise<unknown>;
  /** Clock for the budget; defaults to `performance.now`. */
  readonly clock?: () => number;
}

/**
 * Runs a generator of pure work to its end in slices of at most about `budgetMs` each, giving the event loop a turn
 * between slices; resolves with what the generator returns. The generator must yield often (every `stepRows` rows).
 */
export async function runInSlices<T>(
  steps: Generator<unknown, T, void>,
  options: ChunkedBuildOptions = {},
): Promise<T> {
  const budgetMs = options.budgetMs ?? 5;
  const pause = options.pause ?? nextTurn;
  const clock = options.clock ?? (() => performance.now());
  let sliceStart = clock();
  for (;;) {
    const step = steps.next();
    if (step.done === true) {
      return step.value;
    }
    if (clock() - sliceStart >= budgetMs) {
      await pause();
      sliceStart = clock();
    }
  }
}

/**
 * The snapshot `buildSnapshot(table, ctx, now)` returns, built in slices of at most about `budgetMs` each. The caller
 * keeps serving the previous snapshot meanwhile and swaps in the result whole (it is immutable): requests never see a
 * half-built one. `table` must not change until the promise settles.
 */
export function buildSnapshotChunked(
  table: SheetTable,
  ctx: { readonly defaultRateLimit: number },
  now: number,
  options: ChunkedBuildOptions = {},
): Promise<Snapshot> {
  return runInSlices(buildSnapshotSteps(table, ctx, now, options.stepRows ?? 100), options);
}

/**
 * The snapshot of a tab built while it is read (`stream` is a `SheetSource.streamTable`): each row is parsed
 * into the snapshot inside the read's own slices and dropped, so no table of rows outlives the read. The same
 * snapshot `buildSnapshot(await source.readTable(), ctx, now())` gives, `now()` taken when the read is done.
 * `expectedKeys` (the current snapshot's size, say) sizes the key table's first allocation: growing it by doubling
 * allocates twice the memory, and memory outside the heap that grows fast brings on full collections. Once the rows
 * are in, the search for keys quoted in refusals runs in slices of its own (`slicing`, as {@link runInSlices}).
 * @throws SheetsError as the source does; Error when the source pushed rows before a time zone, or gave none
 */
export async function buildSnapshotStreamed(
  stream: (sink: TableSink) => Promise<void>,
  ctx: { readonly defaultRateLimit: number },
  now: () => number,
  expectedKeys?: number,
  slicing: ChunkedBuildOptions = {},
): Promise<Snapshot> {
  let builder: SnapshotBuilder | undefined;
  let timeZone: string | undefined;
  const sink: TableSink = {
    start: (zone) => {
      timeZone = zone;
      builder = new SnapshotBuilder(zone, ctx, expectedKeys);
    },
    push: (rows: readonly CellValue[][]) => {
      if (builder === undefined) {
        throw new Error('streamTable pushed rows before the time zone');
      }
      for (const row of rows) {
        builder.add(row);
      }
    },
    restart: () => {
      builder = timeZone === undefined ? undefined : new SnapshotBuilder(timeZone, ctx, expectedKeys);
    },
  };
  await stream(sink);
  if (builder === undefined) {
    throw new Error('streamTable gave no time zone');
  }
  return runInSlices(builder.finishSteps(now()), slicing);
}
