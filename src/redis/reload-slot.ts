import type { Redis } from 'ioredis';
import type { ReloadSlot, SlotClaim } from '../keys/reload-gate';
import { RedisScript } from './script';

/**
 * KEYS: the slot. ARGV: now ms, interval ms. The slot holds the start of the last reload granted (possibly ahead, when
 * one is set for later); the decision is `claimSlot`'s (src/keys/reload-gate.ts), made atomically for every instance.
 * The key lives two intervals past the start it holds: an expired slot means "no reload lately".
 * Returns { 0 = now | 1 = later | 2 = joined, at }.
 */
const CLAIM = new RedisScript(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local last = tonumber(redis.call('GET', KEYS[1]))
if last == nil or now >= last + interval then
  redis.call('SET', KEYS[1], now, 'PX', interval * 2)
  return {0, now}
end
if last > now then return {2, last} end
local at = last + interval
redis.call('SET', KEYS[1], at, 'PX', at - now + interval * 2)
return {1, at}`);

const RUNS: readonly SlotClaim['run'][] = ['now', 'later', 'joined'];

/**
 * The reload slot of a whole deployment (`<namespace>:reload`), so that `REFRESH_MIN_INTERVAL` bounds the reloads of
 * every instance together. Times are the instances' clocks: a skew between them shifts a scheduled reload by as much.
 */
export class RedisReloadSlot implements ReloadSlot {
  private readonly key: string;

  constructor(
    private readonly client: Redis,
    namespace: string,
  ) {
    this.key = `${namespace}:reload`;
  }

  /** @throws the Redis error: the gate then falls back to this instance's own slot. */
  async claim(now: number, intervalMs: number): Promise<SlotClaim> {
    const reply = (await CLAIM.run(this.client, [this.key], [Math.round(now), Math.round(intervalMs)])) as [
      number,
      number,
    ];
    return { run: RUNS[reply[0]] ?? 'joined', at: reply[1] };
  }
}
