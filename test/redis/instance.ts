/**
 * One sheetgate instance with the Redis pieces wired in, as a child process for the Redis tests and bench/cluster.ts
 * (`node --import tsx test/redis/instance.ts`). The same composition as src/server.ts plus `startRedisCluster`;
 * test-only knobs: SHEETGATE_TEST_NAMESPACE, SHEETGATE_TEST_RL_PREFIX, SHEETGATE_TEST_LEASE_TTL_MS,
 * SHEETGATE_TEST_PUSH_MS, SHEETGATE_TEST_SHEETS_TIMEOUT_MS, SHEETGATE_TEST_LIMITER=memory (bench: the limiter's cost).
 */
import type { Server } from 'node:http';
import type { RequestHandler } from 'express';
import { Router } from 'express';
import { createApp } from '../../src/app';
import { changeDetection, changeDetectionSection } from '../../src/change-detection';
import { createHttpServer } from '../../src/http/http-server';
import { loadConfig } from '../../src/config';
import { createRlfLimiter } from '../../src/limits/rlf-limiter';
import { ReloadGate } from '../../src/keys/reload-gate';
import { GoogleSheet, readServiceAccount } from '../../src/keys/sheet-source';
import { createLogger } from '../../src/log';
import { refreshRoutes } from '../../src/http/refresh-route';
import { redisNamespace } from '../../src/redis/namespace';
import { startRedisCluster } from '../../src/redis-cluster';
import { UsageFlusher } from '../../src/usage/flusher';
import { sheetgate } from '../../src/sheetgate';
import { usageStatusSection } from '../../src/usage/status-section';

const env = process.env;
const config = loadConfig(env);
const logger = createLogger({ level: config.logLevel, format: 'json' });
const number = (name: string): number | undefined => (env[name] === undefined ? undefined : Number(env[name]));

if (config.redisUrl === undefined || config.sheetId === undefined || config.credentialsPath === undefined) {
  throw new Error('instance.ts needs REDIS_URL, GOOGLE_SHEET_ID and GOOGLE_CREDENTIALS_PATH');
}
const sheetsTimeoutMs = number('SHEETGATE_TEST_SHEETS_TIMEOUT_MS');
const credentials = readServiceAccount(config.credentialsPath);
const google = new GoogleSheet({
  credentials,
  spreadsheetId: config.sheetId,
  sheetName: config.sheetName,
  logger,
  ...(config.sheetsRootUrl === undefined ? {} : { rootUrl: config.sheetsRootUrl }),
  ...(sheetsTimeoutMs === undefined ? {} : { timeoutMs: sheetsTimeoutMs }),
});
const leaseTtlMs = number('SHEETGATE_TEST_LEASE_TTL_MS');
const pushIntervalMs = number('SHEETGATE_TEST_PUSH_MS');
const detection = changeDetection(google.target, {
  pollIntervalSec: config.changePollIntervalSec,
  driveRootUrl: config.driveRootUrl,
  credentials,
  logger,
  reload: async () => reloads.request(),
  polls: () => cluster.lease.held(),
});
const cluster = startRedisCluster({
  url: config.redisUrl,
  namespace: env['SHEETGATE_TEST_NAMESPACE'] ?? redisNamespace(google.target),
  logger,
  sheet: detection.source(google),
  maxAgeMs: config.cacheDurationSec * 1000,
  ...(leaseTtlMs === undefined ? {} : { leaseTtlMs }),
  ...(pushIntervalMs === undefined ? {} : { pushIntervalMs }),
  ...(env['SHEETGATE_TEST_RL_PREFIX'] === undefined ? {} : { limiterPrefix: env['SHEETGATE_TEST_RL_PREFIX'] }),
  refreshMinIntervalMs: config.refreshMinIntervalSec * 1000,
});
const flusher = new UsageFlusher({
  sheet: detection.usageSheet(google),
  ledger: cluster.ledger,
  logger,
  intervalMs: config.usageFlushIntervalSec * 1000,
  ...(config.usageHistoryTab === undefined ? {} : { historyTab: config.usageHistoryTab }),
  timeZone: () => gate.store?.snapshot()?.timeZone,
  quotas: cluster.quotas,
});
const gate = sheetgate({
  source: cluster.source,
  logger,
  limiter: env['SHEETGATE_TEST_LIMITER'] === 'memory' ? createRlfLimiter() : cluster.limiter,
  quotas: cluster.quotas,
  usage: flusher,
  defaultRateLimit: config.defaultRateLimit,
  cacheDurationSec: config.cacheDurationSec,
});
const store = gate.store;
if (store === undefined) {
  throw new Error('instance.ts: no key store');
}
cluster.follow(store);
flusher.start();
const reloads = new ReloadGate({
  reload: cluster.refresh,
  intervalMs: config.refreshMinIntervalSec * 1000,
  slot: cluster.reloadSlot,
  logger,
});
detection.start();

const hello: RequestHandler = (req, res) => {
  res.json({ message: `hello, ${req.auth?.clientName ?? 'anonymous'}`, pid: process.pid });
};
const app = createApp({
  gate,
  logger,
  protectedRoutes: [refreshRoutes(() => reloads.request()), Router().get('/api/hello', hello)],
  statusSections: {
    usage: usageStatusSection(flusher),
    redis: cluster.status,
    changeDetection: changeDetectionSection(detection),
  },
});
const server: Server = createHttpServer(app).listen(config.port, '127.0.0.1', () => {
  const address = server.address();
  logger.info(`sheetgate listening on port ${typeof address === 'object' && address !== null ? address.port : 0}`);
});

let closing = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (closing) {
      return;
    }
    closing = true;
    void (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      detection.stop();
      reloads.close();
      await flusher.stop();
      await gate.close();
      await cluster.close();
      logger.on('finish', () => process.exit(0));
      logger.end();
    })();
  });
}
