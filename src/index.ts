/**
 * Library entry: mount sheetgate in an existing Express app.
 *
 *   import { sheetgate, requireScope } from 'sheetgate';
 *   app.use(sheetgate({ sheet: { spreadsheetId, credentials: './sa.json' } }));
 *   app.post('/generate', requireScope('audio:generate'), handler);
 */
export { sheetgate } from './sheetgate';
export type { Sheetgate, SheetgateOptions, SheetOptions } from './sheetgate';
/** What `sheetgate({ source })` accepts: a source that streams the tab (`streamTable`) or reads it whole (`readTable`). */
export type { KeySource as SheetSource } from './sheetgate';
export { requireScope } from './auth/middleware';
export type { AuthContext, AuthMode, AuthDecision, UsageRecorder } from './auth/middleware';
export { AUTH_ERROR_CODES } from './auth/errors';
export type { AuthErrorCode } from './auth/errors';
export type { ServiceAccount, TableReader, TableSink } from './keys/sheet-source';
export type { KeyDecider, Limiter, LimitDecision } from './limits/limiter';
export type { KeyRecord, KeyTable, Snapshot, SheetTable } from './keys/types';
export { createMetrics } from './http/metrics';
export type { Metrics, MetricsOptions } from './http/metrics';
export { metricsHandler, metricsRoutes } from './http/metrics-route';
export type { MetricsRoutesOptions } from './http/metrics-route';
export { proxyRoutes, upgradeHandler } from './http/proxy';
export { createHttpServer } from './http/http-server';
export type { ProxyOptions } from './http/proxy';
