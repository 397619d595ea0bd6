/**
 * Usage deltas pooled in Redis (issue 6): every instance adds its deltas to one pending hash; the leader takes them,
 * writes them to the sheet and settles the write. Every step is one Lua script, so each is atomic, and every step
 * that a lost reply could make run twice is idempotent (push ids, write ids). Nothing that was pushed is ever only in
 * one process's memory: a leader that crashes at any point leaves what it held in Redis, for the next leader.
 *
 * Keys (`ns` is the deployment's namespace, e.g. `sheetgate:{3f2a9c1b2d4e}`):
 * - `ns:usage:pending` hash `n:<hash>` → requests, `t:<hash>` → latest use (epoch ms): what instances pushed.
 * - `ns:usage:taken` same shape: what a flush took and has not sent yet (survives the leader's crash).
 * - `ns:usage:sent` hash `id`, `json`: the attempts of a write that was sent and is not known to have landed
 *   (the in-doubt write; the next leader settles it by reading the sheet, as the in-process flusher does).
 * - `ns:usage:push:<id>` marker of an applied push (24 h), so a push retried after a lost reply counts once.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { keyIdOf } from '../keys/key-id';
import { toRedisError } from '../redis/redis-error';
import { RedisScript } from '../redis/script';
import type { KeyUsage, UsageBatch } from './counter';
import type { Attempt, Attempts } from './plan';

/** What a flush takes: new deltas, and the attempts of an earlier write whose outcome is unknown. */
export interface TakenUsage {
  readonly batch: UsageBatch;
  readonly inDoubt: Attempts;
}

const PUSH_MARKER_TTL_MS = 24 * 3600_000;

/** Merges `hash, n, t` triples (ARGV from `first`) into hash KEYS[k]: counts add, the latest use wins. */
const MERGE_FN = `
local function merge(key, args, first)
  for i = first, #args, 3 do
    redis.call('HINCRBY', key, 'n:' .. args[i], args[i + 1])
    local seen = redis.call('HGET', key, 't:' .. args[i])
    if not seen or tonumber(args[i + 2]) > tonumber(seen) then redis.call('HSET', key, 't:' .. args[i], args[i + 2]) end
  end
end
local function leads(lease, token) return redis.call('GET', lease) == token end
`;

/** KEYS: pending, marker. ARGV: marker ttl, then triples. Applies a push once per id. */
const PUSH = new RedisScript(`${MERGE_FN}
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then return 0 end
merge(KEYS[1], ARGV, 2)
return 1`);

/** KEYS: lease, pending, taken, sent. ARGV: token. Moves pending into taken; returns taken and the in-doubt json. */
const TAKE = new RedisScript(`${MERGE_FN}
if not leads(KEYS[1], ARGV[1]) then return redis.error_reply('NOTLEADER') end
if redis.call('EXISTS', KEYS[3]) == 0 then
  if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('RENAME', KEYS[2], KEYS[3]) end
else
  local p = redis.call('HGETALL', KEYS[2])
  for i = 1, #p, 2 do
    local f, v = p[i], p[i + 1]
    if string.sub(f, 1, 2) == 'n:' then redis.call('HINCRBY', KEYS[3], f, v)
    else
      local seen = redis.call('HGET', KEYS[3], f)
      if not seen or tonumber(v) > tonumber(seen) then redis.call('HSET', KEYS[3], f, v) end
    end
  end
  redis.call('DEL', KEYS[2])
end
return { redis.call('HGETALL', KEYS[3]), redis.call('HGET', KEYS[4], 'json') or '' }`);

/**
 * KEYS: lease, taken, sent. ARGV: token, lease ttl, write id, attempts json ('' = nothing to send).
 * Everything taken is now in these attempts (or was kept out of the sheet): taken is cleared and the attempts become
 * the in-doubt write, replacing the one the plan's read just settled. Renews the lease so that no other instance can
 * take over while the write may still land.
 */
const SENDING = new RedisScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('NOTLEADER') end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
if ARGV[4] == '' then redis.call('DEL', KEYS[3]) else redis.call('HSET', KEYS[3], 'id', ARGV[3], 'json', ARGV[4]) end
return 1`);

/** KEYS: sent. ARGV: write id. The write landed: forget it (unless a newer write replaced it meanwhile). */
const WRITTEN = new RedisScript(`
if redis.call('HGET', KEYS[1], 'id') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

/** KEYS: lease, sent, taken. ARGV: token, write id, triples. Google refused the write: its deltas are taken again. */
const REFUSED = new RedisScript(`${MERGE_FN}
if not leads(KEYS[1], ARGV[1]) then return 0 end
if redis.call('HGET', KEYS[2], 'id') ~= ARGV[2] then return 0 end
merge(KEYS[3], ARGV, 3)
redis.call('DEL', KEYS[2])
return 1`);

function triples(batch: Iterable<KeyUsage>): (string | number)[] {
  const out: (string | number)[] = [];
  for (const u of batch) {
    out.push(u.hash, u.count, u.lastUsedAt);
  }
  return out;
}

/** `n:<hash>`/`t:<hash>` pairs from HGETALL → a batch. Malformed fields are skipped. */
export function parseUsageHash(flat: readonly string[]): UsageBatch {
  const counts = new Map<string, number>();
  const times = new Map<string, number>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const field = flat[i] ?? '';
    const value = Number(flat[i + 1]);
    (field.startsWith('n:') ? counts : times).set(field.slice(2), value);
  }
  const batch = new Map<string, KeyUsage>();
  for (const [hash, count] of counts) {
    if (Number.isSafeInteger(count) && count > 0) {
      batch.set(hash, { hash, keyId: keyIdOf(hash), count, lastUsedAt: times.get(hash) ?? 0 });
    }
  }
  return batch;
}

function parseAttempts(json: string): Attempts {
  if (json === '') {
    return new Map();
  }
  const list = JSON.parse(json) as [string, Attempt][];
  return new Map(list);
}

function fail(err: unknown): never {
  throw toRedisError(err);
}

/** The Redis side of pooled usage. Holds no state but names: every fact lives in Redis. */
export class RedisUsageLedger {
  private readonly keys;

  constructor(
    private readonly client: Redis,
    /** Deployment namespace, e.g. `sheetgate:{3f2a9c1b2d4e}`. */
    namespace: string,
    /** The leader lease key and this instance's token (see {@link Lease}). */
    private readonly lease: { readonly key: string; readonly token: string; readonly ttlMs: number },
  ) {
    this.keys = {
      pending: `${namespace}:usage:pending`,
      taken: `${namespace}:usage:taken`,
      sent: `${namespace}:usage:sent`,
      push: `${namespace}:usage:push:`,
    };
  }

  /** A fresh push id: pass the same id again to retry the same batch (it is applied once). */
  static pushId(): string {
    return randomUUID();
  }

  /** Adds a batch of local deltas to the pool, once per `id`. @throws RedisError (the batch may be retried with the same id). */
  async push(id: string, batch: UsageBatch): Promise<void> {
    if (batch.size > 0) {
      const keys = [this.keys.pending, this.keys.push + id];
      await PUSH.run(this.client, keys, [PUSH_MARKER_TTL_MS, ...triples(batch.values())]).catch(fail);
    }
  }

  /** Leader only: everything pushed so far plus what an earlier flush took and never sent. @throws RedisError */
  async take(): Promise<TakenUsage> {
    const keys = [this.lease.key, this.keys.pending, this.keys.taken, this.keys.sent];
    const reply = (await TAKE.run(this.client, keys, [this.lease.token]).catch(fail)) as [string[], string];
    return { batch: parseUsageHash(reply[0]), inDoubt: parseAttempts(reply[1]) };
  }

  /**
   * Leader only, right before the write is sent: records its attempts as the in-doubt write and clears what was
   * taken. Returns the write id. Empty attempts = nothing will be sent (everything was settled or kept out).
   * @throws RedisError (`not_leader` or `unavailable`): then the write must not be sent.
   */
  async sending(attempts: Attempts): Promise<string> {
    const id = randomUUID();
    const json = attempts.size === 0 ? '' : JSON.stringify([...attempts]);
    await SENDING.run(
      this.client,
      [this.lease.key, this.keys.taken, this.keys.sent],
      [this.lease.token, this.lease.ttlMs, id, json],
    ).catch(fail);
    return id;
  }

  /** The write `id` landed. A failure here is harmless: the next leader reads the sheet and finds it applied. */
  async written(id: string): Promise<void> {
    await WRITTEN.run(this.client, [this.keys.sent], [id]);
  }

  /** Google refused write `id` (not applied): its deltas are taken again. No-op once the lease is lost. */
  async refused(id: string, attempts: Attempts): Promise<void> {
    const usage = [...attempts.values()].map((a) => a.usage);
    await REFUSED.run(
      this.client,
      [this.lease.key, this.keys.sent, this.keys.taken],
      [this.lease.token, id, ...triples(usage)],
    );
  }
}
