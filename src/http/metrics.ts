import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AUTH_ERROR_CODES, sendProblem } from '../auth/errors';
import type { AuthDecision, AuthMode } from '../auth/middleware';
import type { SheetsCall } from '../keys/sheet-source';
import type { Snapshot } from '../keys/types';

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
  /** Times every request it sees and passes it on: mount it before the routes to time (first of `publicRoutes`). */
  readonly requestTimer: RequestHandler;
  /** The same timer as a hook, for `createApp({ onRequest })`: times the request until its response is finished. */
  readonly timeRequest: (req: Request, res: Response) => void;
}

const OTHER_CLIENT = '_other';
/** `client` of a rate-limit rejection that has no key: the per-address throttle of failed attempts. */
const NO_CLIENT = '_address';
/** `res.locals` key of the request timer's start time. */
const STARTED_AT = 'sheetgateStartedAt';
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LATENCY_HELP = 'Time to answer a request (auth, and the upstream in proxy mode), by status class.';
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** In a status class's cells: the count of each bucket, then of values above the last bound, the sum, the count. */
const SUM_CELL = LATENCY_BUCKETS.length + 1;
const COUNT_CELL = SUM_CELL + 1;

/** One series of the exposition, as prom-client's registry reads it (`getForPromString`). */
interface SeriesValue {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly sharedLabels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly metricName: string;
  /** prom-client's buckets carry one (none here: exemplars are off). */
  readonly exemplar?: null;
}

/**
 * The request-latency histogram, counted per request in a few typed-array cells and turned into prom-client's series
 * only when scraped. prom-client's own `observe` builds a label object and a label hash and looks the series up on
 * every call; this runs on every request. The exposition is prom-client's histogram's, series for series: cumulative
 * `_bucket`s with `le`, `+Inf`, `_sum`, `_count`, for each status class seen.
 */
export class LatencyHistogram extends Histogram<'status_class'> {
  private cells: Float64Array[] | undefined;
  /** Status classes in the order first seen, which is the order prom-client gives its series. */
  private order: number[] = [];

  constructor(registers: Registry[]) {
    super({
      name: 'sheetgate_http_request_duration_seconds',
      help: LATENCY_HELP,
      labelNames: ['status_class'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.reset();
  }

  /** Counts one answer with `statusCode` that took `seconds`. */
  record(statusCode: number, seconds: number): void {
    const n = Math.floor(statusCode / 100) - 1;
    const cells = this.cells?.[n];
    if (cells === undefined) {
      return;
    }
    cells[COUNT_CELL] = (cells[COUNT_CELL] ?? 0) + 1;
    if (cells[COUNT_CELL] === 1) {
      this.order.push(n);
    }
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[bucket] ?? Infinity)) {
      bucket += 1;
    }
    cells[bucket] = (cells[bucket] ?? 0) + 1;
    cells[SUM_CELL] = (cells[SUM_CELL] ?? 0) + seconds;
  }

  /** What prom-client's registry calls to write the exposition (and `get()` to build its JSON). */
  getForPromString(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    values: SeriesValue[];
    aggregator: 'sum';
  }> {
    const name = 'sheetgate_http_request_duration_seconds';
    const values: SeriesValue[] = [];
    for (const n of this.order) {
      const cells = this.cells?.[n];
      const sharedLabels = { status_class: STATUS_CLASSES[n] ?? '' };
      let below = 0;
      const buckets = LATENCY_BUCKETS.map((le, b): SeriesValue => {
        below += cells?.[b] ?? 0;
        return { labels: { le }, sharedLabels, value: below, metricName: `${name}_bucket`, exemplar: null };
      });
      const count = cells?.[COUNT_CELL] ?? 0;
      values.push(
        ...buckets,
        { labels: { le: '+Inf' }, sharedLabels, value: count, metricName: `${name}_bucket`, exemplar: null },
        { labels: {}, sharedLabels, value: cells?.[SUM_CELL] ?? 0, metricName: `${name}_sum` },
        { labels: {}, sharedLabels, value: count, metricName: `${name}_count` },
      );
    }
    return Promise.resolve({ name, help: LATENCY_HELP, type: 'histogram', values, aggregator: 'sum' });
  }

  override reset(): void {
    // prom-client's constructor calls no reset; this one starts the cells, and zeroes them when the registry resets.
    this.cells = STATUS_CLASSES.map(() => new Float64Array(COUNT_CELL + 1));
    this.order = [];
  }
}

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
  const labelCells = new Map<string, { readonly label: string; n: number }>();
  /** ...reached from the client name in one lookup. */
  const cellOf = new Map<string, { readonly label: string; n: number }>();
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

  const cellFor = (name: string): { readonly label: string; n: number } => {
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
  const timeRequest = (_req: Request, res: Response): void => {
    res.locals[STARTED_AT] = performance.now();
    res.on('finish', observeLatency);
  };
  const requestTimer = function sheetgateRequestTimer(req: Request, res: Response, next: NextFunction): void {
    timeRequest(req, res);
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
    requestTimer,
    timeRequest,
  };
}

export interface MetricsRoutesOptions {
  /** `METRICS_TOKEN`: when set, `/metrics` requires `Authorization: Bearer <token>`. */
  readonly token?: string | undefined;
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** The token of `Authorization: Bearer <token>` (scheme case-insensitive), or undefined. */
function bearerToken(header: string | undefined): string | undefined {
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * `GET /metrics` in the Prometheus text format, as a route handler (`createApp({ publicPaths: { '/metrics': … } })`).
 * With a token, a scrape without it is 401 `missing_api_key` and a wrong one 401 `invalid_api_key`; the comparison is
 * constant-time (sha256 of both, then `timingSafeEqual`), so neither the token's content nor its length leaks through
 * timing.
 * @throws Error when `token` is the empty string.
 */
export function metricsHandler(registry: Registry, options: MetricsRoutesOptions = {}): RequestHandler {
  if (options.token === '') {
    throw new Error('metrics: token must not be empty (leave it undefined for a public /metrics)');
  }
  const expected = options.token === undefined ? undefined : digest(options.token);
  return async function sheetgateScrape(req: Request, res: Response): Promise<void> {
    if (expected !== undefined) {
      const presented = bearerToken(req.headers.authorization);
      if (presented === undefined) {
        sendProblem(res, 'missing_api_key', { detail: 'Send the metrics token as "Authorization: Bearer <token>".' });
        return;
      }
      if (!timingSafeEqual(digest(presented), expected)) {
        sendProblem(res, 'invalid_api_key', { detail: 'The metrics token is not valid.' });
        return;
      }
    }
    const body = await registry.metrics();
    res.setHeader('Cache-Control', 'no-store');
    res.type(registry.contentType).send(body);
  };
}

/**
 * {@link metricsHandler} as a middleware that passes every other request on, for an app of one's own
 * (`app.use(metricsRoutes(registry))`). A plain middleware, not an Express `Router`: it sits before auth, so every
 * request walks past it, and a nested router's dispatch (closures, `req` properties set and restored) is work for
 * nothing on each of them.
 * @throws Error when `token` is the empty string.
 */
export function metricsRoutes(registry: Registry, options: MetricsRoutesOptions = {}): RequestHandler {
  const scrape = metricsHandler(registry, options);
  return function sheetgateMetrics(req: Request, res: Response, next: NextFunction): unknown {
    if (req.path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      next();
      return undefined;
    }
    return scrape(req, res, next);
  };
}
