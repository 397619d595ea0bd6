import request from 'supertest';
import { createApp } from '../../src/app';
import { createMetrics } from '../../src/http/metrics';
import { metricsRoutes } from '../../src/http/metrics-route';
import type { Metrics } from '../../src/http/metrics';
import { hashKey, keyIdOf } from '../../src/keys/key-id';
import { sheetgate } from '../../src/sheetgate';
import type { Sheetgate } from '../../src/sheetgate';
import { FixedSource, HEADER } from '../helpers/fixed-source';
import { captureLogger } from '../helpers/log-capture';

const ACTIVE = 'sk-convergence-11111111-1111-4111-8111-111111111111';
const INACTIVE = 'sk-convergence-22222222-2222-4222-8222-222222222222';
const LIMITED = 'sk-convergence-44444444-4444-4444-8444-444444444444';
const UNKNOWN = 'sk-convergence-55555555-5555-4555-8555-555555555555';
const ALL_KEYS = [ACTIVE, INACTIVE, LIMITED, UNKNOWN];
const ROWS = [
  HEADER,
  [ACTIVE, 'Acme', '2026-01-01', '', true, ''],
  [INACTIVE, 'Gone Inc', '2026-01-01', '', false, ''],
  [LIMITED, 'Small "Co"', '2026-01-01', '', true, 1],
  ['', 'no key: a problem row', '', '', true, ''],
];
const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

/** Prometheus text exposition → `name{a="x",b="y"}` (labels sorted) → value. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      continue;
    }
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) {
      throw new Error(`unparsable exposition line: ${line}`);
    }
    const [, name, labels = '', value = ''] = match;
    const pairs = [...labels.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}="${v}"`).sort();
    samples.set(`${name}{${pairs.join(',')}}`, value === '+Inf' ? Infinity : Number(value));
  }
  return samples;
}

describe('metrics', () => {
  const { logger } = captureLogger();
  let now: number;
  let metrics: Metrics;
  let gate: Sheetgate;
  let app: ReturnType<typeof createApp>;

  const build = async (options: Parameters<typeof createMetrics>[0] = {}, token?: string): Promise<void> => {
    metrics = createMetrics({ now: () => now, ...options });
    gate = sheetgate({
      source: new FixedSource(ROWS),
      logger,
      now: () => now,
      onDecision: metrics.onDecision,
      onSnapshot: metrics.onSnapshot,
      onSheetsCall: metrics.onSheetsCall,
    });
    await gate.ready();
    app = createApp({
      gate,
      logger,
      publicRoutes: [metricsRoutes(metrics.registry, { token }), metrics.requestTimer],
    });
  };

  const scrape = async (): Promise<{ text: string; samples: Map<string, number> }> => {
    const res = await request(app).get('/metrics').expect(200);
    return { text: res.text, samples: parseExposition(res.text) };
  };

  beforeEach(() => {
    now = T0;
  });

  afterEach(async () => {
    await gate.close();
  });

  it('counts a scripted sequence of requests by outcome, client, status class; gauges computed at scrape', async () => {
    await build();
    for (let i = 0; i < 3; i++) {
      await request(app).get('/api/hello').set('Authorization', `Bearer ${ACTIVE}`).expect(200);
    }
    await request(app).get('/api/hello').expect(401);
    await request(app).get('/api/hello').set('X-API-Key', UNKNOWN).expect(401);
    await request(app).get('/api/hello').set('X-API-Key', INACTIVE).expect(401);
    await request(app).get('/api/hello').set('X-API-Key', LIMITED).expect(200);
    await request(app).get('/api/hello').set('X-API-Key', LIMITED).expect(429);
    await request(app).get('/api/hello').set('X-API-Key', LIMITED).expect(429);
    metrics.onSheetsCall({ method: 'values.get', outcome: 'ok', ms: 120 });
    metrics.onSheetsCall({ method: 'values.get', outcome: 'quota', ms: 80 });
    metrics.onSheetsCall({ method: 'values.batchUpdate', outcome: 'ok', ms: 300 });
    metrics.observeFlush(250);
    metrics.observeFlush(40, 'error');
    let pending = 7;
    metrics.pendingDeltas(() => pending);
    metrics.redisError('limiter');
    metrics.redisError('limiter');
    now = T0 + 42_000;

    const { text, samples } = await scrape();
    const expected: Record<string, number> = {
      'sheetgate_auth_decisions_total{outcome="ok"}': 4,
      'sheetgate_auth_decisions_total{outcome="missing_api_key"}': 1,
      'sheetgate_auth_decisions_total{outcome="invalid_api_key"}': 1,
      'sheetgate_auth_decisions_total{outcome="key_inactive"}': 1,
      'sheetgate_auth_decisions_total{outcome="rate_limited"}': 2,
      'sheetgate_auth_decisions_total{outcome="key_expired"}': 0,
      'sheetgate_auth_decisions_total{outcome="auth_unavailable"}': 0,
      'sheetgate_client_requests_total{client="Acme"}': 3,
      'sheetgate_client_requests_total{client="Small \\"Co\\""}': 1,
      'sheetgate_rate_limit_rejections_total{client="Small \\"Co\\""}': 2,
      'sheetgate_http_request_duration_seconds_count{status_class="2xx"}': 4,
      'sheetgate_http_request_duration_seconds_count{status_class="4xx"}': 5,
      'sheetgate_snapshot_age_seconds{}': 42,
      'sheetgate_keys_loaded{}': 3,
      'sheetgate_snapshot_problem_rows{}': 1,
      'sheetgate_sheets_calls_total{method="values.get",outcome="ok"}': 1,
      'sheetgate_sheets_calls_total{method="values.get",outcome="quota"}': 1,
      'sheetgate_sheets_calls_total{method="values.batchUpdate",outcome="ok"}': 1,
      'sheetgate_sheets_call_duration_seconds_sum{method="values.get"}': 0.2,
      'sheetgate_usage_flush_duration_seconds_count{outcome="ok"}': 1,
      'sheetgate_usage_flush_duration_seconds_sum{outcome="ok"}': 0.25,
      'sheetgate_usage_flush_duration_seconds_count{outcome="error"}': 1,
      'sheetgate_usage_pending_deltas{}': 7,
      'sheetgate_redis_errors_total{operation="limiter"}': 2,
    };
    for (const [series, value] of Object.entries(expected)) {
      expect([series, samples.get(series)]).toEqual([series, expect.closeTo(value, 6)]);
    }
    expect(samples.has('process_cpu_seconds_total{}')).toBe(true);
    for (const key of ALL_KEYS) {
      expect(text).not.toContain(key);
      expect(text).not.toContain(key.slice(-12));
      expect(text).not.toContain(keyIdOf(hashKey(key)));
    }

    pending = 0;
    now = T0 + 50_000;
    const again = (await scrape()).samples;
    expect(again.get('sheetgate_usage_pending_deltas{}')).toBe(0);
    expect(again.get('sheetgate_snapshot_age_seconds{}')).toBe(50);
  });

  it('reports +Inf snapshot age and no keys until a snapshot is seen', async () => {
    metrics = createMetrics({ defaultMetrics: false });
    gate = sheetgate({ source: new FixedSource(ROWS), logger });
    await gate.ready();
    app = createApp({ gate, logger, publicRoutes: [metricsRoutes(metrics.registry)] });
    const { samples } = await scrape();
    expect(samples.get('sheetgate_snapshot_age_seconds{}')).toBe(Infinity);
    expect(samples.get('sheetgate_keys_loaded{}')).toBe(0);
    expect(samples.has('process_cpu_seconds_total{}')).toBe(false);
  });

  it('caps the client label: names past maxClientLabels count as _other', async () => {
    await build({ maxClientLabels: 1, defaultMetrics: false });
    await request(app).get('/api/hello').set('X-API-Key', ACTIVE).expect(200);
    await request(app).get('/api/hello').set('X-API-Key', LIMITED).expect(200);
    await request(app).get('/api/hello').set('X-API-Key', LIMITED).expect(429);
    await request(app).get('/api/hello').set('X-API-Key', ACTIVE).expect(200);
    const { samples } = await scrape();
    expect(samples.get('sheetgate_client_requests_total{client="Acme"}')).toBe(2);
    expect(samples.get('sheetgate_client_requests_total{client="_other"}')).toBe(1);
    expect(samples.get('sheetgate_rate_limit_rejections_total{client="_other"}')).toBe(1);
    expect([...samples.keys()].filter((s) => s.includes('Small'))).toEqual([]);
  });

  it('METRICS_TOKEN: /metrics needs Authorization: Bearer <token>', async () => {
    await build({ defaultMetrics: false }, 's3cret-metrics-token');
    const missing = await request(app).get('/metrics').expect(401);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(missing.text)).toMatchObject({ code: 'missing_api_key' });
    const wrong = await request(app).get('/metrics').set('Authorization', 'Bearer s3cret-metrics-tokeN').expect(401);
    expect(JSON.parse(wrong.text)).toMatchObject({ code: 'invalid_api_key' });
    expect(wrong.text).not.toContain('s3cret');
    await request(app).get('/metrics').set('Authorization', 'Bearer s3cret').expect(401);
    // An API key from the sheet is not the metrics token.
    await request(app).get('/metrics').set('Authorization', `Bearer ${ACTIVE}`).expect(401);
    const ok = await request(app).get('/metrics').set('Authorization', 'bearer  s3cret-metrics-token ').expect(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(ok.text).toContain('sheetgate_auth_decisions_total');
  });

  it('refuses an empty token and a bad maxClientLabels at construction', () => {
    expect(() => metricsRoutes(createMetrics({ defaultMetrics: false }).registry, { token: '' })).toThrow(/empty/);
    expect(() => createMetrics({ maxClientLabels: -1 })).toThrow(/maxClientLabels/);
  });

  it('keeps registries apart: two instances do not share counters', async () => {
    await build({ defaultMetrics: false });
    const other = createMetrics({ defaultMetrics: false });
    await request(app).get('/api/hello').expect(401);
    const mine = (await scrape()).samples;
    const theirs = parseExposition(await other.registry.metrics());
    expect(mine.get('sheetgate_auth_decisions_total{outcome="missing_api_key"}')).toBe(1);
    expect(theirs.get('sheetgate_auth_decisions_total{outcome="missing_api_key"}')).toBe(0);
  });
});
