import type { UsageFlusher } from './flusher';

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/**
 * The `usage` section of `/auth/status`: last flush, pending deltas, the last write error. Counts and
 * times only, never a key. Wire as `statusSections: { usage: usageStatusSection(flusher) }`.
 */
export function usageStatusSection(flusher: Pick<UsageFlusher, 'status'>): () => Record<string, unknown> {
  return function usageStatus() {
    const s = flusher.status();
    return {
      flushIntervalSec: s.intervalMs / 1000,
      lastFlush: iso(s.lastFlushAt),
      lastFlushMs: s.lastFlushMs ?? null,
      nextFlush: iso(s.nextFlushAt),
      pendingKeys: s.pendingKeys,
      pendingRequests: s.pendingRequests,
      inDoubtRequests: s.inDoubtRequests,
      writtenRequests: s.writtenRequests,
      droppedRequests: s.droppedRequests,
      consecutiveFailures: s.consecutiveFailures,
      lastError: s.lastError === undefined ? null : { ...s.lastError, at: iso(s.lastError.at) },
    };
  };
}
