/**
 * What the usage flusher tells the operator: keys kept out of the sheet, unreadable counts, settled in-doubt writes,
 * and at shutdown what could not be written. Key ids and counts only, never a key.
 */
import type { SheetsError } from '../keys/sheets-error';
import type { Logger } from '../log';
import { batchTotals } from './counter';
import type { KeyUsage, PendingUsage, UsageBatch } from './counter';
import type { FlushResult } from './flush-types';
import type { Unwritten } from './ledger';
import type { UsagePlan } from './plan';

function byHash(list: readonly KeyUsage[]): UsageBatch {
  return new Map(list.map((u) => [u.hash, u]));
}

/**
 * Logs what a plan found and returns the requests it kept out of the sheet. A key whose row is missing is logged at
 * warn once (`reported` remembers it until its row is found again), then at debug.
 */
export function logPlan(logger: Logger, plan: UsagePlan, reported: Set<string>): number {
  let dropped = 0;
  const drop = (usage: KeyUsage, why: string): void => {
    dropped += usage.count;
    logger.log(reported.has(usage.keyId) ? 'debug' : 'warn', `usage of key ${usage.keyId} not written: ${why}`, {
      keyId: usage.keyId,
      requests: usage.count,
    });
    reported.add(usage.keyId);
  };
  plan.vanished.forEach((u) => drop(u, 'its row is no longer in the sheet'));
  plan.ambiguous.forEach((u) => drop(u, 'the key is on several rows'));
  for (const attempt of plan.attempts.values()) {
    reported.delete(attempt.usage.keyId);
  }
  for (const { keyId, row } of plan.unreadableCounts) {
    logger.warn(`usage_count on row ${row} is not a whole number: counting from 0`, { keyId, row });
  }
  if (plan.confirmed.length > 0 || plan.retried.length > 0) {
    logger.info('usage write without an answer settled by reading the sheet', {
      applied: batchTotals(byHash(plan.confirmed)).requests,
      notApplied: batchTotals(byHash(plan.retried)).requests,
    });
  }
  if (plan.addedColumns.length > 0) {
    logger.info(`adding column(s) ${plan.addedColumns.join(', ')} to the header row`);
  }
  return dropped;
}

/** A flush whose write was refused or got no answer (error level: the sheet is behind). */
export function logFailedFlush(
  logger: Logger,
  failure: {
    readonly error: SheetsError;
    readonly outcome: 'failed' | 'in_doubt';
    readonly totals: PendingUsage;
    readonly failures: number;
  },
): void {
  const { error, outcome, totals, failures } = failure;
  const what =
    outcome === 'failed' ? 'usage write-back failed' : 'usage write got no answer (the next read settles it)';
  logger.error(`${what}: ${error.message}`, { code: error.code, outcome, ...totals, failures });
}

/** The ledger could not be reached (or the lease was lost): logged at warn, nothing was sent. Returns code + message. */
export function logLedgerFailure(logger: Logger, err: unknown): { code: string; message: string } {
  const code = err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : 'unknown';
  const message = err instanceof Error ? err.message : String(err);
  logger.warn(`usage flush skipped: ${message} (the deltas stay in the ledger)`, { code });
  return { code, message };
}

function describe(list: readonly KeyUsage[]) {
  return {
    keys: list.length,
    requests: list.reduce((sum, u) => sum + u.count, 0),
    byKey: list.slice(0, 50).map((u) => ({ keyId: u.keyId, requests: u.count })),
  };
}

/**
 * The shutdown report. `result` undefined = the final flush timed out. `left` is what only this process holds (lost
 * when it exits); undefined when the ledger outlives the process, so only what never reached it (`pending`) is lost.
 */
export function logUnwritten(
  logger: Logger,
  state: {
    readonly result: FlushResult | undefined;
    readonly left: Unwritten | undefined;
    readonly pending: PendingUsage;
    readonly stopTimeoutMs: number;
  },
): void {
  const { result, left } = state;
  if (left === undefined) {
    if (result === undefined) {
      logger.warn(`usage flush did not finish within ${state.stopTimeoutMs} ms of shutdown`, {
        notPushed: state.pending.requests,
      });
    }
    return;
  }
  const { unwritten, inDoubt } = left;
  if (result === undefined) {
    logger.error(
      `usage flush did not finish within ${state.stopTimeoutMs} ms of shutdown: not written`,
      describe([...unwritten, ...inDoubt]),
    );
    return;
  }
  if (unwritten.length > 0) {
    logger.error('usage not written at shutdown', describe(unwritten));
  }
  if (inDoubt.length > 0) {
    logger.error('usage write at shutdown got no answer: it may or may not be in the sheet', describe(inDoubt));
  }
  if (unwritten.length === 0 && inDoubt.length === 0) {
    logger.info('usage flushed at shutdown', { keys: result.keys, requests: result.requests });
  }
}
