/**
 * Long pure work (building a snapshot, parsing a big body, locating rows, redacting a table) run in slices, so that
 * requests are still answered meanwhile: the work is a generator that yields between stretches of rows, and the event
 * loop gets a turn whenever a slice has used its time budget. The key registry, the usage write-back and the Redis
 * table all slice their work through this module.
 */
import { setImmediate as turn } from 'node:timers/promises';

export interface SliceOptions {
  /** Longest stretch of work between two turns of the event loop. Defaults to `5` ms. */
  readonly budgetMs?: number;
  /** Rows handled between two looks at the clock, where the work is counted in rows. Defaults to `100`. */
  readonly stepRows?: number;
  /** How the event loop gets its turn. Defaults to {@link nextTurn}. */
  readonly pause?: () => Promise<unknown>;
  /** Clock for the budget; defaults to `performance.now`. */
  readonly clock?: () => number;
}

/**
 * Lets the event loop serve I/O before the work goes on. Two `setImmediate`s, not one: work that started in an I/O
 * callback (the end of the sheet's response, say) runs in the poll phase, and a single immediate would resume it in
 * the check phase of the same loop iteration, before any new request is read — two slices back to back.
 */
export async function nextTurn(): Promise<void> {
  await turn();
  await turn();
}

/** The time budget of one slice: `spent()` after each stretch of work, `pause()` when it is. */
export class SliceBudget {
  private readonly budgetMs: number;
  private readonly clock: () => number;
  private readonly pauseFn: () => Promise<unknown>;
  private sliceStart: number;

  constructor(options: SliceOptions = {}) {
    this.budgetMs = options.budgetMs ?? 5;
    this.clock = options.clock ?? (() => performance.now());
    this.pauseFn = options.pause ?? nextTurn;
    this.sliceStart = this.clock();
  }

  /** Whether this slice has used its budget: the caller then awaits {@link pause}. */
  spent(): boolean {
    return this.clock() - this.sliceStart >= this.budgetMs;
  }

  /** Gives the event loop its turn and starts a new slice. */
  async pause(): Promise<void> {
    await this.pauseFn();
    this.sliceStart = this.clock();
  }
}

/**
 * Runs a generator of pure work to its end in slices of at most about `budgetMs` each, giving the event loop a turn
 * between slices; resolves with what the generator returns. The generator must yield often (every `stepRows` rows).
 */
export async function runInSlices<T>(steps: Generator<unknown, T, void>, options: SliceOptions = {}): Promise<T> {
  const budget = new SliceBudget(options);
  for (;;) {
    const step = steps.next();
    if (step.done === true) {
      return step.value;
    }
    if (budget.spent()) {
      await budget.pause();
    }
  }
}

/** Runs a generator of pure work to its end in one go and returns what it returns: {@link runInSlices} without turns. */
export function runToEnd<T>(steps: Generator<unknown, T, void>): T {
  for (;;) {
    const step = steps.next();
    if (step.done === true) {
      return step.value;
    }
  }
}
