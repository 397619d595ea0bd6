/**
 * The hot path's shortcuts must not change an answer. Each test fails on the mistake they invite: a
 * shared mutable `req.auth`, a per-key answer outliving a refresh, metrics counted wrong once they are folded in at
 * scrape time.
 */
import express from 'express';
import request from 'supertest';
import { createApp } from '../../src/app';
import { createMetrics } from '../../src/http/metrics';
import { metricsRoutes } from '../../src/http/metrics-route';
import { sheetgate } from '../../src/sheetgate';
import { captureLogger } from '../helpers/log-capture';
import { FixedSource, HEADER } from '../helpers/fixed-source';

const KEY = 'sk-convergence-88888888-8888-4888-8888-888888888888';
const OTHER = 'sk-convergence-99999999-9999-4999-8999-999999999999';
const INACTIVE = 'sk-convergence-66666666-6666-4666-8666-666666666666';

describe('per-key answers computed once per snapshot', () => {
  const { logger } = captureLogger();

  it('gives routes a frozen req.auth, so a route that writes to it cannot change the next request', async () => {
    const gate = sheetgate({ source: new FixedSource([HEADER, [KEY, 'Acme', '', '', true, 5]]), logger });
    await gate.ready();
    const seen: unknown[] = [];
    const tamper = express.Router().get('/api/tamper', (req, res) => {
      seen.push(Object.isFrozen(req.auth));
      try {
        (req.auth as { clientName: string }).clientName = 'Mallory';
      } catch {
        // strict mode: assigning to a frozen property throws; either way it must not stick
      }
      res.json(req.auth);
    });
    const app = createApp({ gate, logger, protectedRoutes: [tamper] });
    const first = await request(app).get('/api/tamper').set('Authorization', `Bearer ${KEY}`).expect(200);
    const whoami = await request(app).get('/auth/whoami').set('Authorization', `Bearer ${KEY}`).expect(200);
    expect(seen).toEqual([true]);
    expect(first.body).toMatchObject({ clientName: 'Acme' });
    expect(whoami.body).toMatchObject({ clientName: 'Acme', rateLimit: 5 });
    await gate.close();
  });

  it.each(['rows', 'body'] as const)(
    'answers with the new name, limit and headers after a refresh changes the row (source streaming %s)',
    async (as) => {
      const source = new FixedSource([HEADER, [KEY, 'Acme', '', '', true, 5]], 'Etc/UTC', as);
      const gate = sheetgate({ source, logger });
      await gate.ready();
      const app = createApp({ gate, logger });
      const before = await request(app).get('/api/hello').set('Authorization', `Bearer ${KEY}`).expect(200);
      expect(before.headers['x-client-name']).toBe('Acme');
      expect(before.headers['ratelimit-limit']).toBe('5');
      source.rows = [HEADER, [KEY, 'Acme Renamed', '', '', true, 7]];
      await gate.store?.refresh();
      const after = await request(app).get('/api/hello').set('Authorization', `Bearer ${KEY}`).expect(200);
      expect(after.body).toEqual({ message: 'hello, Acme Renamed' });
      expect(after.headers['x-client-name']).toBe('Acme Renamed');
      expect(after.headers['ratelimit-limit']).toBe('7');
      expect(after.headers['ratelimit-policy']).toBe('7;w=60');
      await gate.close();
    },
  );

  it('keeps the answer of a key whose row a refresh did not change, and remakes the one whose row changed', async () => {
    const source = new FixedSource(
      [HEADER, [KEY, 'Acme', '', '', true, 5], [OTHER, 'Other', '', '', true, 5]],
      'Etc/UTC',
      'body',
    );
    const gate = sheetgate({ source, logger });
    await gate.ready();
    const seen: unknown[] = [];
    const capture = express.Router().get('/api/capture', (req, res) => {
      seen.push(req.auth);
      res.json({});
    });
    const app = createApp({ gate, logger, protectedRoutes: [capture] });
    const ask = async (key: string): Promise<void> => {
      await request(app).get('/api/capture').set('Authorization', `Bearer ${key}`).expect(200);
    };
    await ask(KEY);
    await ask(OTHER);
    source.rows = [HEADER, [KEY, 'Acme', '', '', true, 5], [OTHER, 'Other', '', '', true, 6]];
    await gate.store?.refresh();
    await ask(KEY);
    await ask(OTHER);
    expect(seen[2]).toBe(seen[0]); // the same frozen req.auth: its answer was kept
    expect(seen[3]).not.toBe(seen[1]);
    expect(seen[3]).toMatchObject({ clientName: 'Other', limit: 6 });
    await gate.close();
  });
});

describe('metrics counted as plain numbers, folded in at scrape time', () => {
  const { logger } = captureLogger();

  it.each([
    ['onDecision alone', false],
    ['onDecision and countAccepted', true],
  ])('counts exactly across scrapes, through %s: nothing lost, nothing counted twice', async (_wiring, perKey) => {
    const metrics = createMetrics({ defaultMetrics: false });
    const gate = sheetgate({
      source: new FixedSource([HEADER, [KEY, 'Acme', '', '', true, ''], [OTHER, 'Beta', '', '', true, '']]),
      logger,
      onDecision: metrics.onDecision,
      ...(perKey ? { countAccepted: metrics.countAccepted } : {}),
    });
    await gate.ready();
    const app = createApp({ gate, logger, publicRoutes: [metrics.requestTimer, metricsRoutes(metrics.registry)] });
    const value = async (series: string): Promise<number> => {
      const text = (await request(app).get('/metrics').expect(200)).text;
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return Number(line?.split(' ')[1]);
    };
    for (let i = 0; i < 3; i++) {
      await request(app).get('/api/hello').set('Authorization', `Bearer ${KEY}`).expect(200);
    }
    await request(app).get('/api/hello').expect(401);
    expect(await value('sheetgate_auth_decisions_total{outcome="ok"}')).toBe(3);
    expect(await value('sheetgate_client_requests_total{client="Acme"}')).toBe(3);
    await request(app).get('/api/hello').set('Authorization', `Bearer ${OTHER}`).expect(200);
    await request(app).get('/api/hello').set('Authorization', `Bearer ${KEY}`).expect(200);
    expect(await value('sheetgate_auth_decisions_total{outcome="ok"}')).toBe(5);
    expect(await value('sheetgate_auth_decisions_total{outcome="missing_api_key"}')).toBe(1);
    expect(await value('sheetgate_client_requests_total{client="Acme"}')).toBe(4);
    expect(await value('sheetgate_client_requests_total{client="Beta"}')).toBe(1);
    // The request timer saw the 5 accepted requests and the 6 scrapes before this one (all 2xx), and the 401.
    expect(await value('sheetgate_http_request_duration_seconds_count{status_class="2xx"}')).toBe(5 + 6);
    expect(await value('sheetgate_http_request_duration_seconds_count{status_class="4xx"}')).toBe(1);
    await gate.close();
  });

  it('gives client labels in the order of first accepted requests through countAccepted, as through onDecision', async () => {
    const metrics = createMetrics({ defaultMetrics: false, maxClientLabels: 1 });
    const gate = sheetgate({
      source: new FixedSource([
        HEADER,
        [INACTIVE, 'Zed', '', '', false, ''],
        [KEY, 'Acme', '', '', true, ''],
        [OTHER, 'Beta', '', '', true, ''],
      ]),
      logger,
      onDecision: metrics.onDecision,
      countAccepted: metrics.countAccepted,
    });
    await gate.ready();
    const app = createApp({ gate, logger });
    await request(app).get('/api/hello').set('Authorization', `Bearer ${INACTIVE}`).expect(401);
    await request(app).get('/api/hello').set('Authorization', `Bearer ${KEY}`).expect(200);
    await request(app).get('/api/hello').set('Authorization', `Bearer ${OTHER}`).expect(200);
    await request(app).get('/api/hello').set('Authorization', `Bearer ${KEY}`).expect(200);
    const text = await metrics.registry.metrics();
    expect(text).toContain('sheetgate_client_requests_total{client="Acme"} 2\n');
    expect(text).toContain('sheetgate_client_requests_total{client="_other"} 1\n');
    expect(text).not.toContain('client="Zed"');
    expect(text).toContain('sheetgate_auth_decisions_total{outcome="key_inactive"} 1\n');
    await gate.close();
  });
});

describe('no ETag, no X-Powered-By on sheetgate’s own answers', () => {
  const { logger } = captureLogger();

  it('answers /api/hello, /auth/whoami and /health without hashing the body into an ETag', async () => {
    const gate = sheetgate({ source: new FixedSource([HEADER, [KEY, 'Acme', '', '', true, '']]), logger });
    await gate.ready();
    const app = createApp({ gate, logger });
    for (const path of ['/api/hello', '/auth/whoami', '/health']) {
      const res = await request(app).get(path).set('Authorization', `Bearer ${KEY}`).expect(200);
      expect(res.headers['etag']).toBeUndefined();
      // helmet's hidePoweredBy is off because Express's header is disabled at the source: still never sent.
      expect(res.headers['x-powered-by']).toBeUndefined();
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
    await gate.close();
  });
});
