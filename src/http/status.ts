import type { RequestHandler } from 'express';
import type { KeyTally, Snapshot } from '../keys/types';
import { maskUrlCredentials } from '../mask-url';
import type { AuthMode } from '../auth/middleware';
import type { KeyStoreStatus } from '../keys/key-store';
import type { SheetsTarget } from '../keys/sheets-error';

/** What `/auth/status` and `/ready` read of the auth gate (the library entry's `Sheetgate` is one). */
export interface GateView {
  readonly mode: AuthMode;
  /** Undefined when the mode is not `enforce`. */
  status(): KeyStoreStatus | undefined;
  readonly source: { readonly target: Pick<SheetsTarget, 'spreadsheetId' | 'sheetName'> } | undefined;
  readonly store: { snapshot(): Snapshot | undefined } | undefined;
}

/** Extra sections other components add to `/auth/status` (usage flusher, Redis). Must never include a key. */
export type StatusSection = () => Record<string, unknown>;

/** How far ahead `keysExpiringIn7Days` looks. */
const EXPIRY_WARNING_MS = 7 * 24 * 60 * 60 * 1000;
/** How long one tally of a snapshot serves: a scan of 100,000 keys is a millisecond or more, monitors poll often. */
const TALLY_REUSE_MS = 60_000;

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/**
 * `GET /auth/status`: whether auth is on and why not, keys loaded (with how many carry an address
 * allowlist and how many active ones expire within 7 days), last refresh, last error, which sheet. Counts and times
 * only: never a key, a preview, a client list or an address; an error message quoting a URL has its password masked.
 * The two key counts are taken once a minute per snapshot.
 */
export function statusHandler(
  gate: GateView,
  sections: Readonly<Record<string, StatusSection>> = {},
  now: () => number = Date.now,
): RequestHandler {
  let last: { readonly snapshot: Snapshot; readonly at: number; readonly tally: KeyTally } | undefined;
  const tallyOf = (snapshot: Snapshot | undefined, at: number): KeyTally | undefined => {
    if (snapshot === undefined) {
      return undefined;
    }
    if (last?.snapshot !== snapshot || at - last.at >= TALLY_REUSE_MS || at < last.at) {
      last = { snapshot, at, tally: snapshot.byHash.tally(at, EXPIRY_WARNING_MS) };
    }
    return last.tally;
  };
  return function authStatus(_req, res) {
    const { mode } = gate;
    const store = gate.status();
    const body: Record<string, unknown> = {
      enabled: mode.kind === 'enforce',
      mode: mode.kind,
      ...(mode.kind === 'degraded' ? { reason: `degraded: ${mode.reason}; every request is allowed` } : {}),
      ...(mode.kind === 'disabled' ? { reason: 'AUTH_ENABLED=false; every request is allowed' } : {}),
    };
    if (store !== undefined) {
      const tally = tallyOf(gate.store?.snapshot(), now());
      Object.assign(body, {
        loaded: store.loaded,
        keysLoaded: store.keys,
        keysWithAllowedIps: tally?.withAllowedIps ?? 0,
        keysExpiringIn7Days: tally?.expiringSoon ?? 0,
        problemRows: store.problemRows,
        lastRefresh: iso(store.loadedAt),
        snapshotAgeSec: store.loadedAt === undefined ? null : Math.round((now() - store.loadedAt) / 1000),
        nextRefresh: iso(store.nextRefreshAt),
        consecutiveFailures: store.consecutiveFailures,
        lastError:
          store.lastError === undefined
            ? null
            : {
                code: store.lastError.code,
                message: maskUrlCredentials(store.lastError.message),
                at: iso(store.lastError.at),
              },
      });
    }
    if (gate.source !== undefined) {
      body['sheet'] = { id: gate.source.target.spreadsheetId, tab: gate.source.target.sheetName };
    }
    for (const [name, section] of Object.entries(sections)) {
      body[name] = section();
    }
    res.json(body);
  };
}
