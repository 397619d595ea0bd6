/**
 * `npm run demo`: throwaway credentials, the local Sheets v4 emulator seeded with demo keys, and sheetgate pointed at
 * it — the real googleapis client over real HTTP. Prints curl lines for each outcome. Ctrl-C stops both.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator } from '../emulator/server';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/log';
import { startServer } from '../src/server';
import { makeCredentials } from '../emulator/credentials';

async function main(): Promise<void> {
  const dir = join(process.cwd(), '.demo');
  mkdirSync(dir, { recursive: true });
  const { path: credentialsPath, credentials } = makeCredentials(dir);

  const emulator = await startEmulator({ port: Number(process.env['EMULATOR_PORT'] ?? 0) });
  emulator.trust(credentials);
  const key = (): string => `sk-convergence-${randomUUID()}`;
  const keys = { active: key(), inactive: key(), expired: key(), limited: key() };
  const sheetId = emulator.createSpreadsheet({
    id: 'demo-sheet',
    timeZone: 'Europe/Paris',
    tabs: {
      API_Keys: [
        ['api_key', 'client_name', 'created_at', 'expires_at', 'is_active', 'rate_limit', 'notes'],
        [keys.active, 'Demo Client', '2026-01-01', '', 'TRUE', '', 'active, default limit'],
        [keys.inactive, 'Revoked Client', '2026-01-01', '', 'FALSE', '', 'is_active FALSE'],
        [keys.expired, 'Expired Client', '2024-01-01', '2025-01-01', 'TRUE', '', 'expired'],
        [keys.limited, 'Limited Client', '2026-01-01', '', 'yes', '5', '5 requests/minute'],
      ],
    },
  });

  const config = loadConfig({
    PORT: process.env['PORT'] ?? '8000',
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info',
    GOOGLE_CREDENTIALS_PATH: credentialsPath,
    GOOGLE_SHEET_ID: sheetId,
    GOOGLE_SHEETS_ROOT_URL: emulator.url,
    API_KEY_CACHE_DURATION: '30',
    USAGE_FLUSH_INTERVAL: '10',
  });
  const logger = createLogger({ level: config.logLevel, format: 'pretty' });
  const running = await startServer(config, logger);
  const base = `http://localhost:${running.port}`;

  const lines = [
    `# 200 + X-Client-Name + RateLimit-*`,
    `curl -i ${base}/api/hello -H "Authorization: Bearer ${keys.active}"`,
    `# 401 missing_api_key`,
    `curl -i ${base}/api/hello`,
    `# 401 malformed_authorization`,
    `curl -i ${base}/api/hello -H "Authorization: Basic abc"`,
    `# 401 invalid_api_key`,
    `curl -i ${base}/api/hello -H "Authorization: Bearer sk-convergence-not-a-real-key"`,
    `# 401 key_inactive`,
    `curl -i ${base}/api/hello -H "X-API-Key: ${keys.inactive}"`,
    `# 401 key_expired`,
    `curl -i ${base}/api/hello -H "Authorization: ApiKey ${keys.expired}"`,
    `# 200 five times, then 429 rate_limited with Retry-After`,
    `for i in $(seq 6); do curl -s -o /dev/null -w '%{http_code}\\n' ${base}/api/hello -H "X-API-Key: ${keys.limited}"; done`,
    `# who am I; forward-auth check`,
    `curl -s ${base}/auth/whoami -H "X-API-Key: ${keys.active}"`,
    `curl -i ${base}/auth/verify -H "X-API-Key: ${keys.active}"`,
    `# public: liveness, readiness, status, metrics`,
    `curl -s ${base}/health; curl -s ${base}/ready; curl -s ${base}/auth/status`,
    `# usage written back to the sheet every 10 s (emulator view of the tab)`,
    `curl -s ${emulator.url}__emulator/spreadsheets/${sheetId}/tabs/API_Keys`,
  ];
  process.stdout.write(
    `\nsheetgate demo: service ${base}, Sheets emulator ${emulator.url}\n` +
      `These keys exist only in this demo run. Try:\n\n${lines.join('\n')}\n\nCtrl-C stops both.\n\n`,
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      return;
    }
    stopping = true;
    void running
      .shutdown(signal)
      .then(() => emulator.close())
      .then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

void main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
