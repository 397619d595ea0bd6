import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { claimSlot, ReloadGate } from '../../src/keys/reload-gate';
import type { ReloadSlot, SlotClaim } from '../../src/keys/reload-gate';
import { captureLogger } from '../helpers/log-capture';

describe('claimSlot: one reload per interval, and never one that started before the request', () => {
  it.each<[string, number | undefined, number, SlotClaim]>([
    ['no reload yet', undefined, 5000, { run: 'now', at: 5000 }],
    ['the last one an interval ago', 0, 10_000, { run: 'now', at: 10_000 }],
    ['the last one started 3 s ago', 7000, 10_000, { run: 'later', at: 17_000 }],
    ['the last one started just now', 10_000, 10_000, { run: 'later', at: 20_000 }],
    ['one is set for later', 17_000, 10_000, { run: 'joined', at: 17_000 }],
  ])('%s', (_what, last, now, expected) => {
    expect(claimSlot(last, now, 10_000)).toEqual(expected);
  });
});

describe('ReloadGate', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  function gate(slot?: ReloadSlot): { gate: ReloadGate<string>; reloads: () => number } {
    let reloads = 0;
    const g = new ReloadGate({
      reload: () => Promise.resolve(`reload ${++reloads}`),
      intervalMs: 10_000,
      logger: captureLogger().logger,
      ...(slot === undefined ? {} : { slot }),
    });
    return { gate: g, reloads: () => reloads };
  }

  it('a burst of 30 requests costs two reloads: one now, one at the end of the interval for all the others', async () => {
    const { gate: g, reloads } = gate();
    const first = await g.request();
    expect(first).toEqual({ state: 'started', at: 1_000_000, outcome: 'reload 1' });
    const later = [];
    for (let i = 0; i < 29; i++) {
      jest.advanceTimersByTime(100);
      later.push(await g.request());
    }
    expect(new Set(later.map((t) => JSON.stringify(t)))).toEqual(
      new Set([JSON.stringify({ state: 'scheduled', at: 1_010_000 })]),
    );
    expect(reloads()).toBe(1);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(reloads()).toBe(2);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(reloads()).toBe(2);
  });

  it('falls back to its own slot when the shared one fails (Redis down), still bounded', async () => {
    const broken: ReloadSlot = { claim: () => Promise.reject(new Error('redis down')) };
    const { gate: g, reloads } = gate(broken);
    expect((await g.request()).state).toBe('started');
    expect((await g.request()).state).toBe('scheduled');
    expect(reloads()).toBe(1);
  });

  it('close() cancels a reload set for later', async () => {
    const { gate: g, reloads } = gate();
    await g.request();
    await g.request();
    g.close();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(reloads()).toBe(1);
  });
});
