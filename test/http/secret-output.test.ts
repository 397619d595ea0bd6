/**
 * No URL password in output: config errors are covered in test/unit/config.test.ts and by the real process in
 * test/integration/startup.test.ts; here the log lines (a capture transport), a real Redis connection error and
 * `/auth/status`.
 */
import { createServer } from 'node:net';
import request from 'supertest';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { SheetsError } from '../../src/keys/sheets-error';
import { connectRedis } from '../../src/redis/connection';
import { startServer } from '../../src/server';
import { sheetgate } from '../../src/sheetgate';
import { FixedSource, HEADER } from '../helpers/fixed-source';
import { captureLogger } from '../helpers/log-capture';

const PASSWORD = 'hunter2-not-for-logs';

/** A "Redis" that resets every connection it accepts: ioredis reports ECONNRESET and reconnects. */
async function resettingServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 1,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('no URL password in output', () => {
  it('masks a URL password in every log line, message and metadata alike', () => {
    const { logger, capture } = captureLogger();
    logger.warn(`cannot reach redis://:${PASSWORD}@cache:6379`, {
      upstream: `http://ops:${PASSWORD}@api.internal/`,
      error: new Error(`connect to rediss://default:${PASSWORD}@cache failed`),
    });
    const text = capture.text();
    expect(text).not.toContain(PASSWORD);
    expect(text).toContain('redis://:***@cache:6379');
    expect(text).toContain('http://ops:***@api.internal/');
    expect(text).toContain('rediss://default:***@cache');
  });

  it('masks the password of REDIS_URL in the connection error log line (real ioredis, Redis down)', async () => {
    const { logger, capture } = captureLogger();
    const redis = await resettingServer();
    const url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;
    const link = connectRedis(url, { logger });
    try {
      for (let i = 0; i < 100 && !capture.text().includes('Redis unavailable'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(capture.text()).toMatch(/Redis unavailable at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+/);
      expect(link.where).toBe(url.replace(PASSWORD, '***'));
      expect(capture.text()).not.toContain(PASSWORD);
    } finally {
      await link.close();
      await redis.close();
    }
  });

  it('masks a URL password quoted by the last refresh error in /auth/status', async () => {
    const { logger, capture } = captureLogger();
    const source = new FixedSource([HEADER]);
    source.failWith = new SheetsError(
      'unavailable',
      `Sheets API unavailable (request to https://proxy-user:${PASSWORD}@egress.internal:3128/v4 failed)`,
      true,
    );
    const gate = sheetgate({ source, logger });
    await gate.ready();
    try {
      const status = await request(createApp({ gate, logger })).get('/auth/status').expect(200);
      expect(status.body.lastError.message).toContain('https://proxy-user:***@egress.internal:3128/v4');
      expect(JSON.stringify(status.body)).not.toContain(PASSWORD);
      expect(capture.text()).not.toContain(PASSWORD);
    } finally {
      await gate.close();
    }
  });

  it('refuses an UPSTREAM_URL with credentials at startup without printing them', async () => {
    const { logger, capture } = captureLogger();
    const config = loadConfig({ PORT: '0', UPSTREAM_URL: `http://ops:${PASSWORD}@127.0.0.1:9/` });
    const failure = await startServer(config, logger).then(
      async (running) => {
        await running.shutdown('test');
        return 'started';
      },
      (err: unknown) => String(err),
    );
    expect(failure).toMatch(/must not carry credentials/);
    expect(failure).not.toContain(PASSWORD);
    expect(capture.text()).not.toContain(PASSWORD);
  });
});
