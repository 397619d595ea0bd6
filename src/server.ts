import type { Server } from 'node:http';
import { createApp } from './app';
import type { AuthMode } from './auth/middleware';
import { ConfigError, envWithDotenv, loadConfig, missingCredentials } from './config';
import type { Config } from './config';
import { createHttpServer } from './http/http-server';
import { createMetrics } from './http/metrics';
import { metricsHandler } from './http/metrics-route';
import { proxyRoutes, upgradeHandler } from './http/proxy';
import { ReloadGate } from './keys/reload-gate';
import { GoogleSheet, readServiceAccount } from './keys/sheet-source';
import { changeDetection, changeDetectionSection } from './change-detection';
import type { ChangeDetection } from './change-detection';
import { MemoryQuotaCounter } from './limits/quota-counter';
import { createRlfLimiter } from './limits/rlf-limiter';
import { createLogger } from './log';
import type { Logger } from './log';
import { sheetgate } from './sheetgate';
import { UsageFlusher } from './usage/flusher';
import type { FlushResult } from './usage/flusher';
import { redisNamespace } from './redis/namespace';
import { startRedisCluster } from './redis-cluster';
import type { RedisCluster } from './redis-cluster';
import { maskUrlCredentials } from './mask-url';
import { localRefresh, refreshRoutes } from './http/refresh-route';
import { usageStatusSection } from './usage/status-section';

/** How often degraded mode repeats its warning. */
const DEGRADED_WARNING_MS = 5 * 60_000;

/** Thrown when the service must not start (AUTH_REQUIRED without credentials). */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** Decides enforce / degraded / disabled from the config. @throws StartupError under AUTH_REQUIRED. */
export function authMode(config: Config): AuthMode {
  if (!config.authEnabled) {
    return { kind: 'disabled' };
  }
  const missing = missingCredentials(config);
  if (missing === undefined) {
    return { kind: 'enforce' };
  }
  if (config.authRequired) {
    const why = config.nodeEnv === 'production' ? ' (the default under NODE_ENV=production)' : '';
    throw new StartupError(
      `AUTH_REQUIRED=true${why} but ${missing}: refusing to start (AUTH_REQUIRED=false starts with every request allowed)`,
    );
  }
  return { kind: 'degraded', reason: missing };
}

export interface Running {
  readonly server: Server;
  readonly port: number;
  /** Stops accepting, flushes, releases everything. Idempotent. */
  shutdown(signal: string): Promise<void>;
}

/** Wires adapters into the app and listens. Exported so tests can run the real composition in-process. */
export async function startServer(config: Config, logger: Logger): Promise<Running> {
  const mode = authMode(config);
  const metrics = createMetrics({ authMode: mode.kind });
  const credentials =
    mode.kind === 'enforce' && config.sheetId !== undefined && config.credentialsPath !== undefined
      ? readServiceAccount(config.credentialsPath)
      : undefined;
  const sheet =
    credentials === undefined || config.sheetId === undefined
      ? undefined
      : new GoogleSheet({
          credentials,
          spreadsheetId: config.sheetId,
          sheetName: config.sheetName,
          logger,
          onCall: metrics.onSheetsCall,
          ...(config.sheetsRootUrl === undefined ? {} : { rootUrl: config.sheetsRootUrl }),
        });
  // CHANGE_POLL_INTERVAL: a new Drive version of the file reloads the table (the leader's poll, with Redis).
  const detection: ChangeDetection | undefined =
    sheet === undefined || credentials === undefined
      ? undefined
      : changeDetection(sheet.target, {
          pollIntervalSec: config.changePollIntervalSec,
          driveRootUrl: config.driveRootUrl,
          credentials,
          logger,
          reload: async (): Promise<unknown> => reloads?.request(),
          ...(config.redisUrl === undefined ? {} : { polls: () => cluster?.lease.held() === true }),
          onDriveCall: metrics.onDriveCall,
        });
  // REDIS_URL: limits, usage and the key table shared by every instance; one leader reads and writes Google.
  const cluster: RedisCluster | undefined =
    config.redisUrl === undefined || sheet === undefined
      ? undefined
      : startRedisCluster({
          url: config.redisUrl,
          namespace: redisNamespace(sheet.target),
          logger,
          sheet: detection?.source(sheet) ?? sheet,
          maxAgeMs: config.cacheDurationSec * 1000,
          onRedisError: metrics.redisError,
          refreshMinIntervalMs: config.refreshMinIntervalSec * 1000,
        });
  // One set of quota counters for the middleware that charges them and the flush that writes their totals back.
  const quotas = cluster?.quotas ?? new MemoryQuotaCounter();
  const flusher =
    sheet === undefined
      ? undefined
      : new UsageFlusher({
          sheet: detection?.usageSheet(sheet) ?? sheet,
          logger,
          quotas,
          intervalMs: config.usageFlushIntervalSec * 1000,
          ...(config.usageHistoryTab === undefined ? {} : { historyTab: config.usageHistoryTab }),
          timeZone: () => gate.store?.snapshot()?.timeZone,
          onFlush: (result: FlushResult) => {
            metrics.observeFlush(result.ms, result.outcome === 'written' ? 'ok' : 'error');
          },
          ...(cluster === undefined ? {} : { ledger: cluster.ledger }),
        });
  const keySource = sheet === undefined ? undefined : (cluster?.source ?? detection?.source(sheet) ?? sheet);
  const gate = sheetgate({
    mode,
    logger,
    limiter: cluster?.limiter ?? createRlfLimiter(),
    quotas,
    defaultRateLimit: config.defaultRateLimit,
    cacheDurationSec: config.cacheDurationSec,
    authFailureLimit: config.authFailureLimit,
    onDecision: metrics.onDecision,
    countAccepted: metrics.countAccepted,
    onSnapshot: metrics.onSnapshot,
    ...(keySource === undefined ? {} : { source: keySource }),
    ...(flusher === undefined ? {} : { usage: flusher }),
  });
  if (cluster !== undefined && gate.store !== undefined) {
    cluster.follow(gate.store);
  }
  // Admin refreshes (and detected changes) reload at most once per REFRESH_MIN_INTERVAL, deployment-wide with Redis.
  const reloads =
    gate.store === undefined
      ? undefined
      : new ReloadGate({
          reload: cluster?.refresh ?? localRefresh(gate.store),
          intervalMs: config.refreshMinIntervalSec * 1000,
          logger,
          ...(cluster === undefined ? {} : { slot: cluster.reloadSlot }),
        });
  if (detection !== undefined && gate.store !== undefined) {
    detection.start();
    metrics.changeDetectionMode(() => detection.status().mode);
  }
  if (flusher !== undefined) {
    flusher.start();
    metrics.pendingDeltas(() => flusher.status().pendingRequests);
  }
  let degradedTimer: NodeJS.Timeout | undefined;
  if (mode.kind === 'degraded') {
    const warn = (): void => {
      logger.warn(
        `AUTHENTICATION IS OFF (degraded mode): ${mode.reason}. Every request is allowed. Set AUTH_REQUIRED=true to refuse to start instead.`,
      );
    };
    warn();
    degradedTimer = setInterval(warn, DEGRADED_WARNING_MS);
    degradedTimer.unref();
  } else if (mode.kind === 'disabled') {
    logger.warn('Authentication disabled (AUTH_ENABLED=false): every request is allowed.');
  }
  if (config.trustProxy === true) {
    logger.warn(
      'TRUST_PROXY=true trusts every hop: clients choose their own address (X-Forwarded-For), as sheetgate and the upstream see it. Set the number of proxies in front of sheetgate (TRUST_PROXY=1) or their addresses instead.',
    );
  }

  const app = createApp({
    gate,
    logger,
    ...(config.trustProxy === undefined ? {} : { trustProxy: config.trustProxy }),
    publicPaths: { '/metrics': metricsHandler(metrics.registry, { token: config.metricsToken }) },
    demoApi: config.upstreamUrl === undefined,
    protectedRoutes: [
      ...(reloads === undefined ? [] : [refreshRoutes(() => reloads.request())]),
      ...(config.upstreamUrl === undefined ? [] : [proxyRoutes(config.upstreamUrl, { logger })]),
    ],
    statusSections: {
      ...(flusher === undefined ? {} : { usage: usageStatusSection(flusher) }),
      ...(cluster === undefined ? {} : { redis: cluster.status }),
      ...(detection === undefined ? {} : { changeDetection: changeDetectionSection(detection) }),
    },
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = createHttpServer(app, { onResponse: metrics.observeResponse });
    s.once('error', reject);
    s.listen(config.port, '0.0.0.0', () => {
      s.off('error', reject);
      resolve(s);
    });
  });
  // Websockets: the upgrade request passes the same app (auth, limits), then is tunnelled to the upstream.
  const upgrades = config.upstreamUrl === undefined ? undefined : upgradeHandler(app);
  if (upgrades !== undefined) {
    server.on('upgrade', upgrades);
  }
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  logger.info(`sheetgate listening on port ${port}`, {
    mode: mode.kind,
    ...(config.upstreamUrl === undefined ? {} : { upstream: maskUrlCredentials(config.upstreamUrl) }),
  });

  let closing: Promise<void> | undefined;
  const shutdown = (signal: string): Promise<void> => {
    closing ??= (async () => {
      logger.info(`${signal}: shutting down`);
      clearInterval(degradedTimer);
      // Stop accepting first, so the final usage flush sees every request that was served. Requests still in flight
      // after SHUTDOWN_TIMEOUT are cut, so that the flush and exit happen within the orchestrator's grace period
      // (Kubernetes sends SIGKILL 30 s after SIGTERM); they were counted when admitted, so the flush still has them.
      await new Promise<void>((resolve) => {
        const cut = setTimeout(() => {
          logger.warn(
            `${signal}: requests still in flight after SHUTDOWN_TIMEOUT=${config.shutdownTimeoutSec}s are cut`,
          );
          server.closeAllConnections();
        }, config.shutdownTimeoutSec * 1000);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
        upgrades?.closeAll(); // an open websocket would otherwise keep server.close() waiting forever
      });
      detection?.stop();
      reloads?.close();
      await flusher?.stop();
      await gate.close();
      await cluster?.close(); // after the final flush: releases the lease so another instance leads at once
    })();
    return closing;
  };
  return { server, port, shutdown };
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(envWithDotenv(process.env));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sheetgate: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const pretty = process.stdout.isTTY && config.nodeEnv !== 'production';
  const logger = createLogger({ level: config.logLevel, format: pretty ? 'pretty' : 'json' });
  let running: Running;
  try {
    running = await startServer(config, logger);
  } catch (err) {
    logger.error(`sheetgate cannot start: ${(err as Error).message}`);
    process.exitCode = 1;
    logger.on('finish', () => process.exit(1));
    logger.end();
    return;
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void running.shutdown(signal).then(() => process.exit(0));
    });
  }
}

if (require.main === module) {
  void main();
}
