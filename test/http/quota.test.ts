import type { Server } from 'node:http';
import request from 'supertest';
import { createApp } from '../../src/app';
import { createHttpServer } from '../../src/http/http-server';
import { hashKey, keyIdOf } from '../../src/keys/key-id';
import { sheetgate } from '../../src/sheetgate';
import type { Sheetgate } from '../../src/sheetgate';
import { UsageCounter } from '../../src/usage/counter';
import { captureLogger } from '../helpers/log-capture';
import { FixedSource } from '../helpers/fixed-source';

const DAILY = 'sk-convergence-11111111-1111-4111-8111-111111111111';
const MONTHLY = 'sk-convergence-22222222-2222-4222-8222-222222222222';
const TIGHT = 'sk-convergence-33333333-3333-4333-8333-333333333333';
const PLAIN = 'sk-convergence-44444444-4444-4444-8444-444444444444';
const HEADER = ['api_key', 'client_name', 'is_active', 'rate_limit', 'quota', 'quota_used', 'quota_period'];
const ZONE = 'America/New_York';
/** 2026-12-05 22:00 in New York (UTC−5): two hours before the day ends there, though UTC is already on the 6th. */
const T0 = Date.UTC(2026, 11, 6, 3, 0, 0);
const DAY_END = Date.UTC(2026, 11, 6, 5, 0, 0);

function rows(): (string | number | boolean)[][] {
  return [
    HEADER,
    [DAILY, 'Daily', true, 1000, '5/day', 2, '2026-12-05'],
    [MONTHLY, 'Monthly', true, 1000, '300/month', 290, '2026-11'], // last month's count: this month starts at 0
    [TIGHT, 'Tight', true, 2, '100/day', '', ''],
    [PLAIN, 'Plain', true, 1000, '', '', ''],
  ];
}

describe('quotas over HTTP', () => {
  let now: number;
  let gate: Sheetgate;
  let usage: UsageCounter;
  let app: ReturnType<typeof createApp>;
  const { logger, capture } = captureLogger();
  const get = (key: string) => request(app).get('/api/hello').set('Authorization', `Bearer ${key}`);

  beforeEach(async () => {
    now = T0;
    usage = new UsageCounter();
    gate = sheetgate({ source: new FixedSource(rows(), ZONE), logger, usage, now: () => now });
    await gate.ready();
    app = createApp({ gate, logger });
  });

  afterEach(async () => {
    await gate.close();
  });

  afterAll(() => {
    for (const key of [DAILY, MONTHLY, TIGHT, PLAIN]) {
      expect(capture.text()).not.toContain(key);
    }
  });

  it('counts from the sheet’s quota_used for the current period, then refuses with 429 quota_exceeded', async () => {
    const first = await get(DAILY).expect(200);
    expect(first.headers['x-sheetgate-quota-limit']).toBe('5');
    expect(first.headers['x-sheetgate-quota-remaining']).toBe('2'); // 2 in the sheet + this one
    expect(first.headers['x-sheetgate-quota-reset']).toBe(String((DAY_END - T0) / 1000));
    expect(first.headers['ratelimit-policy']).toBe('1000;w=60, 5;w=86400');
    expect(first.headers['ratelimit-limit']).toBe('1000'); // RateLimit-* still describe the per-minute limit
    await get(DAILY).expect(200);
    await get(DAILY).expect(200);
    now += 1500;
    const refused = await get(DAILY).expect(429);
    expect(refused.body).toMatchObject({ code: 'quota_exceeded', status: 429, title: 'Quota exceeded' });
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.headers['retry-after']).toBe(String(Math.ceil((DAY_END - now) / 1000)));
    expect(refused.headers['x-sheetgate-code']).toBe('quota_exceeded');
    expect(refused.headers['x-sheetgate-quota-remaining']).toBe('0');
    expect(refused.headers['www-authenticate']).toBeUndefined();
  });

  it('refused requests are not usage', async () => {
    for (let i = 0; i < 6; i++) {
      await get(DAILY);
    }
    const counted = [...usage.peek().values()];
    expect(counted.map((u) => u.count)).toEqual([3]);
  });

  it('a new day in the sheet’s zone gives a fresh allowance; Retry-After is never below 1', async () => {
    for (let i = 0; i < 3; i++) {
      await get(DAILY).expect(200);
    }
    now = DAY_END - 200;
    expect((await get(DAILY).expect(429)).headers['retry-after']).toBe('1');
    now = DAY_END;
    const next = await get(DAILY).expect(200);
    expect(next.headers['x-sheetgate-quota-remaining']).toBe('4');
    expect(next.headers['x-sheetgate-quota-reset']).toBe('86400');
  });

  it('a count of last month does not count in this one; the month window is its length in seconds', async () => {
    const res = await get(MONTHLY).expect(200);
    expect(res.headers['x-sheetgate-quota-remaining']).toBe('299');
    expect(res.headers['ratelimit-policy']).toBe('1000;w=60, 300;w=2678400'); // December: 31 days
  });

  it('the per-minute limit still applies beside the quota, and its refusal spends no quota', async () => {
    await get(TIGHT).expect(200);
    await get(TIGHT).expect(200);
    const limited = await get(TIGHT).expect(429);
    expect(limited.body.code).toBe('rate_limited');
    expect(limited.headers['x-sheetgate-quota-remaining']).toBeUndefined();
    // The next charge is the third of the period: the rate-limited request was not one.
    const charge = { keyId: keyIdOf(hashKey(TIGHT)), period: '2026-12-05', limit: 100, seed: 0, endsAt: DAY_END };
    expect((await gate.quotas.consume(charge)).used).toBe(3);
  });

  it('a key without a quota carries no quota headers', async () => {
    const res = await get(PLAIN).expect(200);
    expect(res.headers['x-sheetgate-quota-limit']).toBeUndefined();
    expect(res.headers['ratelimit-policy']).toBe('1000;w=60');
  });

  it('/auth/whoami shows the key’s quota (limit and period), null for a key without one', async () => {
    const daily = await request(app).get('/auth/whoami').set('X-API-Key', DAILY).expect(200);
    expect(daily.body).toMatchObject({ clientName: 'Daily', quota: { limit: 5, period: 'day' } });
    expect(daily.headers['x-sheetgate-quota-remaining']).toBe('2');
    const monthly = await request(app).get('/auth/whoami').set('X-API-Key', MONTHLY).expect(200);
    expect(monthly.body).toMatchObject({ quota: { limit: 300, period: 'month' } });
    const plain = await request(app).get('/auth/whoami').set('X-API-Key', PLAIN).expect(200);
    expect(plain.body).toMatchObject({ clientName: 'Plain', quota: null });
  });

  it('200 concurrent requests on a quota of 100: exactly 100 pass', async () => {
    await gate.close();
    gate = sheetgate({
      source: new FixedSource([HEADER, [DAILY, 'Daily', true, 1000, '100/day', '', '']], ZONE),
      logger,
      usage,
      now: () => now,
    });
    await gate.ready();
    const server: Server = createHttpServer(createApp({ gate, logger }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const statuses = await Promise.all(
        Array.from({ length: 200 }, () =>
          fetch(`http://127.0.0.1:${port}/api/hello`, { headers: { 'x-api-key': DAILY } }).then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s === 200)).toHaveLength(100);
      expect(statuses.filter((s) => s === 429)).toHaveLength(100);
      expect([...usage.peek().values()].map((u) => u.count)).toEqual([100]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
