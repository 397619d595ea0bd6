/**
 * What the CLI writes, as the service reads it: the sheetgate middleware loads the same emulator spreadsheet through
 * the real googleapis client, and supertest sends requests with the keys the CLI printed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { create } from '../../src/cli/create';
import { init } from '../../src/cli/init';
import { revoke } from '../../src/cli/revoke';
import { rotate } from '../../src/cli/rotate';
import { createApp } from '../../src/app';
import { requireScope } from '../../src/auth/middleware';
import { sheetgate } from '../../src/sheetgate';
import type { Sheetgate } from '../../src/sheetgate';
import { captureLogger } from '../helpers/log-capture';
import { cliHarness } from './harness';
import type { CliHarness, RunResult } from './harness';

const NOW = Date.UTC(2026, 0, 15, 11, 0, 0);
const HOUR = 3_600_000;

let h: CliHarness;
const { logger, capture } = captureLogger();
const gates: Sheetgate[] = [];
const secrets: string[] = [];

function printedKey(result: RunResult): string {
  expect(result.code).toBe(0);
  const k = /^sk-convergence-[0-9a-f-]{36}$/m.exec(result.stdout)?.[0];
  expect(k).toBeDefined();
  secrets.push(k!);
  return k!;
}

/** A spreadsheet initialised by the CLI itself. */
async function freshSheet(): Promise<string> {
  const id = h.seed([]);
  expect((await h.run(init, id, [])).code).toBe(0);
  return id;
}

/** The service's middleware and app over that spreadsheet, loaded once. */
async function serviceFor(spreadsheetId: string, clock: () => number = Date.now) {
  const gate = sheetgate({
    sheet: { spreadsheetId, credentials: h.credentialsPath, rootUrl: h.emulator.url },
    logger,
    now: clock,
  });
  gates.push(gate);
  await gate.ready();
  const scoped = express.Router();
  scoped.get('/api/generate', requireScope('audio:generate'), (req, res) => {
    res.json({ ok: true, client: req.auth?.clientName });
  });
  scoped.get('/api/admin', requireScope('admin'), (_req, res) => {
    res.json({ ok: true });
  });
  return { gate, app: createApp({ gate, logger, protectedRoutes: [scoped] }) };
}

beforeAll(async () => {
  h = await cliHarness();
});

afterEach(async () => {
  await Promise.all(gates.splice(0).map((g) => g.close()));
});

afterAll(async () => {
  await h.close();
  const logs = capture.text() + h.logs.text();
  for (const k of secrets) {
    expect(logs).not.toContain(k);
  }
});

describe('hashed keys end to end', () => {
  it('create --hash → the printed key authenticates, and the sheet never contains it', async () => {
    const id = await freshSheet();
    const key = printedKey(await h.run(create, id, ['--client', 'Hashed Client', '--hash']));
    expect(h.displayed(id)).not.toContain(key);
    expect(h.displayed(id)).not.toContain(key.slice(15));

    const { app } = await serviceFor(id);
    const ok = await request(app).get('/auth/whoami').set('Authorization', `Bearer ${key}`).expect(200);
    expect(ok.body).toMatchObject({ clientName: 'Hashed Client' });
    expect(ok.headers['x-client-name']).toBe('Hashed Client');
    const wrong = await request(app).get('/api/generate').set('Authorization', `Bearer ${key}x`).expect(401);
    expect(JSON.parse(wrong.text)).toMatchObject({ code: 'invalid_api_key' });
  });

  it('revoke by key id → key_inactive after the next refresh', async () => {
    const id = await freshSheet();
    const result = await h.run(create, id, ['--client', 'Soon Revoked', '--hash', '--json']);
    const { key, keyId } = JSON.parse(result.stdout) as { key: string; keyId: string };
    secrets.push(key);
    const { app, gate } = await serviceFor(id);
    await request(app).get('/api/generate').set('X-API-Key', key).expect(200);
    expect((await h.run(revoke, id, [keyId])).code).toBe(0);
    await gate.store?.refresh();
    const refused = await request(app).get('/api/generate').set('X-API-Key', key).expect(401);
    expect(JSON.parse(refused.text)).toMatchObject({ code: 'key_inactive' });
  });
});

describe('rotation grace, with an injected clock', () => {
  it('the old key works until the grace ends, then key_expired; the new key works throughout', async () => {
    const id = await freshSheet();
    const oldKey = printedKey(await h.run(create, id, ['--client', 'Rotating', '--rate-limit', '1000'], NOW));
    const newKey = printedKey(await h.run(rotate, id, [oldKey, '--grace', '24h'], NOW + HOUR));
    const graceEnd = NOW + 25 * HOUR;

    let clock = NOW + HOUR;
    const { app } = await serviceFor(id, () => clock);
    const call = (k: string) => request(app).get('/api/generate').set('Authorization', `ApiKey ${k}`);

    for (const t of [NOW + HOUR, graceEnd - 60_000, graceEnd - 1000]) {
      clock = t;
      await call(oldKey).expect(200);
      await call(newKey).expect(200);
    }
    for (const t of [graceEnd, graceEnd + HOUR, graceEnd + 365 * 24 * HOUR]) {
      clock = t;
      const refused = await call(oldKey).expect(401);
      expect(JSON.parse(refused.text)).toMatchObject({ code: 'key_expired' });
      await call(newKey).expect(200);
    }
  });
});

describe('scopes', () => {
  it('a key with scopes gets 403 insufficient_scope on routes needing another; a key without scopes has full access', async () => {
    const id = await freshSheet();
    const scoped = printedKey(await h.run(create, id, ['--client', 'Audio Only', '--scopes', 'audio:generate']));
    const full = printedKey(await h.run(create, id, ['--client', 'Everything']));
    const { app } = await serviceFor(id);

    await request(app).get('/api/generate').set('X-API-Key', scoped).expect(200);
    const denied = await request(app).get('/api/admin').set('X-API-Key', scoped).expect(403);
    expect(denied.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(denied.text)).toMatchObject({ code: 'insufficient_scope' });
    expect(denied.headers['www-authenticate']).toMatch(/error="insufficient_scope", scope="admin"/);
    expect(denied.text).not.toContain(scoped);

    await request(app).get('/api/generate').set('X-API-Key', full).expect(200);
    await request(app).get('/api/admin').set('X-API-Key', full).expect(200);
    const whoami = await request(app).get('/auth/whoami').set('X-API-Key', scoped).expect(200);
    expect(whoami.body).toMatchObject({ scopes: ['audio:generate'] });
  });
});
