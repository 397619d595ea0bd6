/**
 * The accepted path's shortcuts must answer exactly as the general machinery they replace: helmet's headers set from a
 * list read once, routes found in a Map instead of Express route layers, the latency histogram counted in arrays and
 * exposed at scrape time, and the limiter's promise handled by the middleware itself.
 */
import express from 'express';
import type { RequestHandler } from 'express';
import helmet from 'helmet';
import { Histogram, Registry } from 'prom-client';
import request from 'supertest';
import { createApp, fixedHeaders } from '../../src/app';
import { createHttpServer } from '../../src/http/http-server';
import { LatencyHistogram } from '../../src/http/latency-histogram';
import { createMetrics } from '../../src/http/metrics';
import { metricsHandler } from '../../src/http/metrics-route';
import { pathLookup } from '../../src/http/path-routes';
import type { LimitDecision, Limiter } from '../../src/limits/limiter';
import { sheetgate } from '../../src/sheetgate';
import { captureLogger } from '../helpers/log-capture';
import { FixedSource, HEADER } from '../helpers/fixed-source';

const KEY = 'sk-convergence-77777777-7777-4777-8777-777777777777';
const SECURITY = {
  'content-security-policy': "default-src 'none';frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
};

describe('fixedHeaders', () => {
  it('reads the headers helmet sets on a real response', async () => {
    const options = { xPoweredBy: false, crossOriginEmbedderPolicy: true } as const;
    const real = express()
      .use(helmet(options))
      .get('/', (_req, res) => {
        res.end();
      });
    const res = await request(real).get('/').expect(200);
    const headers = fixedHeaders(helmet(options));
    expect(headers.length).toBeGreaterThan(5);
    for (const [name, value] of headers) {
      expect([name, res.headers[name.toLowerCase()]]).toEqual([name, value]);
    }
  });

  it('refuses a middleware that does more than set headers, or passes the request on later', () => {
    expect(() => fixedHeaders(helmet())).toThrow(); // the default removes X-Powered-By
    const later: RequestHandler = (_req, _res, next) => {
      setImmediate(next);
    };
    expect(() => fixedHeaders(later)).toThrow(/synchronously/);
  });
});

describe('the app’s front layer and own routes', () => {
  const { logger } = captureLogger();

  it('sets the security headers on public answers, accepted and refused requests and 404s', async () => {
    const gate = sheetgate({ source: new FixedSource([HEADER, [KEY, 'Acme', '', '', true, '']]), logger });
    await gate.ready();
    const app = createApp({ gate, logger });
    const answers = [
      await request(app).get('/health').expect(200),
      await request(app).get('/api/hello').set('Authorization', `Bearer ${KEY}`).expect(200),
      await request(app).get('/api/hello').expect(401),
      await request(app).get('/nowhere').set('Authorization', `Bearer ${KEY}`).expect(404),
    ];
    for (const res of answers) {
      expect(res.headers).toMatchObject(SECURITY);
    }
    await gate.close();
  });

  it('matches paths as Express routes do: any case, one trailing slash, HEAD for GET; others go to auth', async () => {
    const gate = sheetgate({ source: new FixedSource([HEADER, [KEY, 'Acme', '', '', true, '']]), logger });
    await gate.ready();
    const app = createApp({ gate, logger });
    await request(app).get('/HEALTH').expect(200, { status: 'ok' });
    await request(app).get('/health/').expect(200, { status: 'ok' });
    await request(app).head('/ready').expect(200);
    await request(app).post('/health').expect(401);
    await request(app).get('/healthz').expect(401);
    await request(app).get('/health//').expect(401);
    const key = `Bearer ${KEY}`;
    await request(app).get('/Auth/WhoAmI/').set('Authorization', key).expect(200);
    // A length no public route has, but one of sheetgate's own routes has.
    await request(app).get('/API/Hello/').set('Authorization', key).expect(200, { message: 'hello, Acme' });
    await request(app).post('/auth/verify').set('Authorization', key).expect(200);
    await request(app).post('/api/hello').set('Authorization', key).expect(404);
    await gate.close();
  });

  it('refuses route paths it could not match as Express would', () => {
    const handler: RequestHandler = (_req, res) => {
      res.end();
    };
    expect(() => pathLookup([{ path: '/Health', method: 'GET', handler }])).toThrow(/lower-case/);
    expect(() => pathLookup([{ path: 'health', method: 'GET', handler }])).toThrow(/lower-case/);
    const twice = { path: '/a', method: 'GET', handler } as const;
    expect(() => pathLookup([twice, twice])).toThrow(/of its own/);
  });

  it('sends an error thrown while admitting a request to the error handler (500), not to an unhandled rejection', async () => {
    const gate = sheetgate({
      source: new FixedSource([HEADER, [KEY, 'Acme', '', '', true, '']]),
      logger,
      onDecision: (decision) => {
        if (decision.outcome === 'ok') {
          throw new Error('decision hook failed');
        }
      },
    });
    await gate.ready();
    const app = createApp({ gate, logger });
    const res = await request(app).get('/api/hello').set('Authorization', `Bearer ${KEY}`).expect(500);
    expect(res.body).toMatchObject({ code: 'internal_error' });
    await gate.close();
  });
});

describe('usage counted through the recorder a key keeps', () => {
  const { logger } = captureLogger();

  it.each([
    ['with recorderFor: through it, made once per key', true, { record: 0, made: 1, recorded: 3 }],
    ['without: through record, every time', false, { record: 3, made: 0, recorded: 0 }],
  ])('%s', async (_name, withRecorder, expected) => {
    const calls = { record: 0, made: 0, recorded: 0 };
    const usage = {
      record: () => {
        calls.record += 1;
      },
      ...(withRecorder
        ? {
            recorderFor: () => {
              calls.made += 1;
              return () => {
                calls.recorded += 1;
              };
            },
          }
        : {}),
    };
    const gate = sheetgate({ source: new FixedSource([HEADER, [KEY, 'Acme', '', '', true, '']]), logger, usage });
    await gate.ready();
    const app = createApp({ gate, logger });
    for (let i = 0; i < 3; i++) {
      await request(app).get('/api/hello').set('Authorization', `Bearer ${KEY}`).expect(200);
    }
    expect(calls).toEqual(expected);
    await gate.close();
  });
});

describe('a limiter with only the promise form of the port', () => {
  const { logger } = captureLogger();
  const promiseOnly = (allowed: boolean, fail = false): Limiter => ({
    consume: (_keyId, limit) =>
      fail
        ? Promise.reject(new Error('limiter store down'))
        : Promise.resolve({ allowed, limit, remaining: allowed ? limit - 1 : 0, resetMs: 30_000 }),
    close: () => Promise.resolve(),
  });

  it.each([
    ['admits a request it allows', promiseOnly(true), 200, '4'],
    ['refuses one it does not with 429', promiseOnly(false), 429, '0'],
    ['sends its failure to the error handler (500)', promiseOnly(true, true), 500, undefined],
  ])('%s', async (_name, limiter, status, remaining) => {
    const gate = sheetgate({ source: new FixedSource([HEADER, [KEY, 'Acme', '', '', true, 5]]), logger, limiter });
    await gate.ready();
    const res = await request(createApp({ gate, logger }))
      .get('/api/hello')
      .set('Authorization', `Bearer ${KEY}`)
      .expect(status);
    expect(res.headers['ratelimit-remaining']).toBe(remaining);
    await gate.close();
  });
});

describe('a limiter that hands out per-key deciders', () => {
  const { logger } = captureLogger();
  /** Decides through `deciderFor` when `decides`, through `consume` otherwise; counts both. */
  const withDeciders = (decision: (limit: number) => LimitDecision, decides = true) => {
    const calls = { deciderFor: 0, decide: 0, consume: 0 };
    const limiter: Limiter = {
      consume: (_keyId, limit) => {
        calls.consume += 1;
        return Promise.resolve(decision(limit));
      },
      deciderFor: (_keyId, limit) => {
        calls.deciderFor += 1;
        return decides
          ? {
              decide: () => {
                calls.decide += 1;
                return decision(limit);
              },
            }
          : undefined;
      },
      close: () => Promise.resolve(),
    };
    return { limiter, calls };
  };
  const allowed = (limit: number): LimitDecision => ({ allowed: true, limit, remaining: limit - 1, resetMs: 30_000 });
  const refused = (limit: number): LimitDecision => ({ allowed: false, limit, remaining: 0, resetMs: 30_000 });
  const broken = (): LimitDecision => {
    throw new Error('decider broke');
  };

  it.each([
    ['admits a request its decider allows', allowed, 200, '4'],
    ['refuses one it does not with 429', refused, 429, '0'],
    ['sends what the decider throws to the error handler (500)', broken, 500, undefined],
  ])('%s', async (_name, decision, status, remaining) => {
    const { limiter, calls } = withDeciders(decision);
    const gate = sheetgate({ source: new FixedSource([HEADER, [KEY, 'Acme', '', '', true, 5]]), logger, limiter });
    await gate.ready();
    const app = createApp({ gate, logger });
    for (let i = 0; i < 3; i++) {
      const res = await request(app).get('/api/hello').set('Authorization', `Bearer ${KEY}`).expect(status);
      expect(res.headers['ratelimit-remaining']).toBe(remaining);
    }
    // One decider for the key, kept with its answer; every request decided through it, none through `consume`.
    expect(calls).toEqual({ deciderFor: 1, decide: 3, consume: 0 });
    await gate.close();
  });

  it('charges through `consume` for a key it hands no decider for', async () => {
    const { limiter, calls } = withDeciders(allowed, false);
    const gate = sheetgate({ source: new FixedSource([HEADER, [KEY, 'Acme', '', '', true, 5]]), logger, limiter });
    await gate.ready();
    const app = createApp({ gate, logger });
    await request(app).get('/api/hello').set('Authorization', `Bearer ${KEY}`).expect(200);
    await request(app).get('/api/hello').set('Authorization', `Bearer ${KEY}`).expect(200);
    expect(calls).toEqual({ deciderFor: 1, decide: 0, consume: 2 });
    await gate.close();
  });
});

describe('request metrics through the http server', () => {
  const { logger } = captureLogger();

  it('times every response of the app and serves /metrics as a public path', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const gate = sheetgate({ source: new FixedSource([HEADER, [KEY, 'Acme', '', '', true, '']]), logger });
    await gate.ready();
    const app = createApp({
      gate,
      logger,
      publicPaths: { '/metrics': metricsHandler(metrics.registry, { token: 'scrape-token' }) },
    });
    const server = createHttpServer(app, { onResponse: metrics.observeResponse });
    await request(server).get('/api/hello').set('Authorization', `Bearer ${KEY}`).expect(200);
    await request(server).get('/api/hello').set('Authorization', `Bearer ${KEY}`).expect(200);
    await request(server).get('/api/hello').expect(401);
    await request(server).get('/metrics').expect(401);
    const text = (await request(server).get('/metrics').set('Authorization', 'Bearer scrape-token').expect(200)).text;
    expect(text).toContain('sheetgate_http_request_duration_seconds_count{status_class="2xx"} 2\n');
    expect(text).toContain('sheetgate_http_request_duration_seconds_count{status_class="4xx"} 2\n');
    await gate.close();
  });

  it('counts each response in the metrics of the server that timed it, and no other', async () => {
    const timed = createMetrics({ defaultMetrics: false });
    const other = createMetrics({ defaultMetrics: false });
    const gate = sheetgate({ source: new FixedSource([HEADER, [KEY, 'Acme', '', '', true, '']]), logger });
    await gate.ready();
    const probe = express.Router().get('/api/probe', (_req, res) => {
      res.end();
    });
    const key = `Bearer ${KEY}`;
    // One app behind two servers: timing one of them leaves the app, and so the other, untouched.
    const app = createApp({ gate, logger, protectedRoutes: [probe] });
    const untimed = createHttpServer(app);
    const server = createHttpServer(app, { onResponse: timed.observeResponse });
    await request(untimed).get('/api/probe').set('Authorization', key).expect(200);
    await request(server).get('/api/probe').set('Authorization', key).expect(200);
    await request(server).get('/api/hello').set('Authorization', key).expect(200);
    await request(untimed).get('/api/hello').set('Authorization', key).expect(200);
    const count = async (metrics: typeof timed): Promise<string> => {
      const text = await metrics.registry.metrics();
      return /sheetgate_http_request_duration_seconds_count\{status_class="2xx"\} (\d+)/.exec(text)?.[1] ?? '0';
    };
    expect(await count(timed)).toBe('2');
    expect(await count(other)).toBe('0');
    await gate.close();
  });
});

describe('LatencyHistogram', () => {
  it('exposes what prom-client’s own histogram exposes for the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const folded = new LatencyHistogram([ours]);
    const reference = new Histogram({
      name: 'sheetgate_http_request_duration_seconds',
      help: 'Time to answer a request (auth, and the upstream in proxy mode), by status class.',
      labelNames: ['status_class'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [theirs],
    });
    const seen: [number, number][] = [
      [200, 0.0004],
      [200, 0.001], // on a bound: counted in that bucket
      [201, 0.003],
      [204, 12], // above every bound: +Inf only
      [404, 0.07],
      [503, 2.5],
      [101, 0.02],
    ];
    for (const [status, seconds] of seen) {
      folded.record(status, seconds);
      reference.observe({ status_class: `${Math.floor(status / 100)}xx` }, seconds);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
    ours.resetMetrics();
    theirs.resetMetrics();
    folded.record(302, 0.2);
    reference.observe({ status_class: '3xx' }, 0.2);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
