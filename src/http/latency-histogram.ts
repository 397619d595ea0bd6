import { Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

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
