import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AUTH_ERROR_CODES } from '../auth/errors';
import type { AuthDecision, AuthMode } from '../auth/middleware';
import type { SheetsCall } from '../keys/sheet-source';
import type { KeyRecord, Snapshot } from '../keys/types';
import { LatencyHistogram } from './latency-histogram';

export interface MetricsOptions {
  /**
   * Distinct client names used as the `client` label; later names count as `_other`, so a sheet with many rows cannot
   * blow up the series count. `0` puts every client under `_other`. Defaults to `50`.
   */
  readonly maxClientLabels?: number;
  /** Node process metrics (`process_*`, `nodejs_*`) in the same registry. Defaults to `true`. */
  readonly defaultMetrics?: boolean;
  /** Clock for the snapshot age; defaults to `Date.now`. */
  readonly now?: () => number;
  /** The service's auth mode, shown by `sheetgate_auth_mode`. Defaults to `enforce`. */
  readonly authMode?: AuthMode['kind'];
}

const AUTH_MODES: readonly AuthMode['kind'][] = ['enforce', 'degraded', 'disabled'];

/** The collectors, in their own registry, and the hooks that feed them. Make one per service (no global state). */
export interface Metrics {
  readonly registry: Registry;
  /** For `sheetgate({ onDecision })`. */
  readonly onDecision: (decision: AuthDecision) => void;
  /**
   * For `sheetgate({ countAccepted })`, beside `onDecision`: counts a key's accepted requests in its client's cell,
   * found on the key's first accepted request and kept, instead of looked up by client name on every one.
   */
  readonly countAccepted: (key: KeyRecord) => () => void;
  /** For `sheetgate({ onSheetsCall })`. */
  readonly onSheetsCall: (call: SheetsCall) => void;
  /** For `sheetgate({ onSnapshot })`. */
  readonly onSnapshot: (snapshot: Snapshot) => void;
  /** One usage write-back took `ms`. */
  readonly observeFlush: (ms: number, outcome?: 'ok' | 'error') => void;
  /** Where the usage counter's pending deltas are read at each scrape. */
  readonly pendingDeltas: (source: () => number) => void;
  /** A Redis command failed (`operation`: a short fixed name such as `limiter` or `usage`). */
  readonly redisError: (operation: string) => void;
  /** One Drive `files.get` of change detection, by outcome. */
  readonly onDriveCall: (outcome: 'ok' | 'refused' | 'unavailable') => void;
  /** Where the change-detection mode is read at each scrape. */
  readonly changeDetectionMode: (source: () => 'drive' | 'off') => void;
  /**
   * For `createHttpServer(app, { onResponse })`: counts one response in the latency histogram. The server times every
   * response of the app without a middleware or a listener per request; this is how the service times its own.
   */
  readonly observeResponse: (statusCode: number, seconds: number) => void;
  /**
   * The same count for an app that another server serves: a middleware that times every request it sees until its
   * response is finished, and passes it on. Mount it before the routes to time (first of `publicRoutes`).
   */
  readonly requestTimer: RequestHandler;
}

const OTHER_CLIENT = '_other';
/** Accepted requests of one client label since the last scrape. */
interface ClientCell {
  readonly label: string;
  n: number;
}
/** `client` of a rate-limit rejection that has no key: the per-address throttle of failed attempts. */
const NO_CLIENT = '_address';
/** `res.locals` key of the request timer's start time. */
const STARTED_AT = 'sheetgateStartedAt';
/**
 * Prometheus collectors for sheetgate. Labels are outcome codes, Sheets method names and client names
 * (capped by `maxClientLabels`) — never a key, a key preview or a key id. Snapshot age and key count are computed at
 * scrape time.
 * @throws Error when `maxClientLabels` is not a non-negative integer.
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const maxClients = options.maxClientLabels ?? 50;
  if (!Number.isInteger(maxClients) || maxClients < 0) {
    throw new Error(`metrics: maxClientLabels must be a non-negative integer, got ${maxClients}`);
  }
  const now = options.now ?? Date.now;
  const registry = new Registry();
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
  }
  const registers = [registry];

  // One series per mode, 1 for the mode in force: `sheetgate_auth_mode{mode!="enforce"} == 1` is an open gate.
  const authMode = new Gauge({
    name: 'sheetgate_auth_mode',
    help: 'Auth mode in force (1) and the others (0): enforce, degraded (no credentials: every request allowed), disabled.',
    labelNames: ['mode'] as const,
    registers,
  });
  for (const mode of AUTH_MODES) {
    authMode.set({ mode }, mode === (options.authMode ?? 'enforce') ? 1 : 0);
  }

  // Hot-path counts are plain numbers, folded into prom-client at scrape time (`collect`): `inc()` on a labelled child
  // hashes its label set on every call, and these run on every request.
  const decisionCounts = new Map<string, number>(AUTH_ERROR_CODES.map((outcome) => [outcome, 0]));
  let acceptedSinceScrape = 0;
  new Counter({
    name: 'sheetgate_auth_decisions_total',
    help: 'Auth decisions by outcome: ok or the problem code of the refusal.',
    labelNames: ['outcome'] as const,
    registers,
    collect() {
      // n = 0 still creates the series, so rate() sees the first refusal
      this.inc({ outcome: 'ok' }, acceptedSinceScrape);
      acceptedSinceScrape = 0;
      for (const [outcome, n] of decisionCounts) {
        this.inc({ outcome }, n);
        decisionCounts.set(outcome, 0);
      }
    },
  });
  /** Accepted requests since the last scrape, one cell per client label (names over the cap share `_other`'s)... */
  const labelCells = new Map<string, ClientCell>();
  /** ...reached from the client name in one lookup. */
  const cellOf = new Map<string, ClientCell>();
  new Counter({
    name: 'sheetgate_client_requests_total',
    help: 'Accepted requests by client name (capped; see maxClientLabels).',
    labelNames: ['client'] as const,
    registers,
    collect() {
      for (const cell of labelCells.values()) {
        if (cell.n > 0) {
          this.inc({ client: cell.label }, cell.n);
          cell.n = 0;
        }
      }
    },
  });
  const rejected = new Counter({
    name: 'sheetgate_rate_limit_rejections_total',
    help: 'Requests refused with 429 by client name (_address: the per-address throttle of failed attempts).',
    labelNames: ['client'] as const,
    registers,
  });
  const latency = new LatencyHistogram(registers);

  let snapshot: Snapshot | undefined;
  new Gauge({
    name: 'sheetgate_snapshot_age_seconds',
    help: 'Age of the key snapshot in use; +Inf until one has loaded.',
    registers,
    collect() {
      this.set(snapshot === undefined ? Infinity : Math.max(0, (now() - snapshot.loadedAt) / 1000));
    },
  });
  new Gauge({
    name: 'sheetgate_keys_loaded',
    help: 'Usable keys in the snapshot in use.',
    registers,
    collect() {
      this.set(snapshot?.byHash.size ?? 0);
    },
  });
  new Gauge({
    name: 'sheetgate_snapshot_problem_rows',
    help: 'Sheet rows refused at the last load (invalid or ambiguous).',
    registers,
    collect() {
      this.set(snapshot?.problems.length ?? 0);
    },
  });

  const sheetsCalls = new Counter({
    name: 'sheetgate_sheets_calls_total',
    help: 'Google Sheets API calls by method and outcome.',
    labelNames: ['method', 'outcome'] as const,
    registers,
  });
  const sheetsLatency = new Histogram({
    name: 'sheetgate_sheets_call_duration_seconds',
    help: 'Google Sheets API call duration by method.',
    labelNames: ['method'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const flushes = new Histogram({
    name: 'sheetgate_usage_flush_duration_seconds',
    help: 'Usage write-back duration by outcome.',
    labelNames: ['outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  let pending: (() => number) | undefined;
  new Gauge({
    name: 'sheetgate_usage_pending_deltas',
    help: 'Usage increments counted but not yet written to the sheet.',
    registers,
    collect() {
      this.set(pending?.() ?? 0);
    },
  });
  const redisErrors = new Counter({
    name: 'sheetgate_redis_errors_total',
    help: 'Failed Redis commands by operation.',
    labelNames: ['operation'] as const,
    registers,
  });

  const driveCalls = new Counter({
    name: 'sheetgate_drive_calls_total',
    help: 'Drive files.get calls of change detection by outcome (ok, refused, unavailable).',
    labelNames: ['outcome'] as const,
    registers,
  });
  let detectionMode: (() => 'drive' | 'off') | undefined;
  new Gauge({
    name: 'sheetgate_change_detection_mode',
    help: 'How edits reach this instance: 1 for the current mode (drive: within seconds; off: cache duration).',
    labelNames: ['mode'] as const,
    registers,
    collect() {
      const mode = detectionMode?.() ?? 'off';
      this.set({ mode: 'drive' }, mode === 'drive' ? 1 : 0);
      this.set({ mode: 'off' }, mode === 'off' ? 1 : 0);
    },
  });

  const clients = new Set<string>();
  const clientLabel = (name: string): string => {
    if (clients.has(name)) {
      return name;
    }
    if (clients.size < maxClients) {
      clients.add(name);
      return name;
    }
    return OTHER_CLIENT;
  };

  const cellFor = (name: string): ClientCell => {
    const label = clientLabel(name);
    let cell = labelCells.get(label);
    if (cell === undefined) {
      cell = { label, n: 0 };
      labelCells.set(label, cell);
    }
    cellOf.set(name, cell);
    return cell;
  };
  // One listener function for every response, not a closure (and a `once` wrapper) per request; the start time rides
  // on `res.locals`, Express's per-request store.
  const observeLatency = function sheetgateObserveLatency(this: Response): void {
    const start: unknown = this.locals[STARTED_AT];
    if (typeof start === 'number') {
      latency.record(this.statusCode, (performance.now() - start) / 1000);
    }
  };
  const requestTimer = function sheetgateRequestTimer(_req: Request, res: Response, next: NextFunction): void {
    res.locals[STARTED_AT] = performance.now();
    res.on('finish', observeLatency);
    next();
  };

  return {
    registry,
    onDecision: (decision) => {
      if (decision.outcome === 'ok') {
        acceptedSinceScrape += 1;
        if (decision.key !== undefined) {
          const name = decision.key.clientName;
          (cellOf.get(name) ?? cellFor(name)).n += 1;
        }
        return;
      }
      decisionCounts.set(decision.outcome, (decisionCounts.get(decision.outcome) ?? 0) + 1);
      if (decision.outcome === 'rate_limited') {
        rejected.inc({ client: decision.key === undefined ? NO_CLIENT : clientLabel(decision.key.clientName) });
      }
    },
    countAccepted: (key) => {
      const name = key.clientName;
      let cell: ClientCell | undefined;
      return () => {
        acceptedSinceScrape += 1;
        // Found on the first accepted request, as onDecision would find it then: a key refused so far takes no label.
        cell ??= cellOf.get(name) ?? cellFor(name);
        cell.n += 1;
      };
    },
    onSheetsCall: (call) => {
      sheetsCalls.inc({ method: call.method, outcome: call.outcome });
      sheetsLatency.observe({ method: call.method }, call.ms / 1000);
    },
    onSnapshot: (next) => {
      snapshot = next;
    },
    observeFlush: (ms, outcome = 'ok') => {
      flushes.observe({ outcome }, ms / 1000);
    },
    pendingDeltas: (source) => {
      pending = source;
    },
    redisError: (operation) => {
      redisErrors.inc({ operation });
    },
    onDriveCall: (outcome) => {
      driveCalls.inc({ outcome });
    },
    changeDetectionMode: (source) => {
      detectionMode = source;
    },
    observeResponse: (statusCode, seconds) => {
      latency.record(statusCode, seconds);
    },
    requestTimer,
  };
}
