/**
 * The scripts of the Redis usage ledger. Every step is one Lua script, so each is atomic, and every step that a lost
 * reply could make run twice is idempotent (push ids, write ids).
 *
 * Keys (`ns` is the deployment's namespace, e.g. `sheetgate:{3f2a9c1b2d4e}`):
 * - `ns:usage:pending` hash `n:<hash>` → requests, `t:<hash>` → latest use (epoch ms): what instances pushed.
 * - `ns:usage:taken` same shape: what a flush took and has not sent yet (survives the leader's crash).
 * - `ns:usage:sent` hash `id`, `json`: the attempts of a write that was sent and is not known to have landed
 *   (the in-doubt write; the next leader settles it by reading the sheet).
 * - `ns:usage:push:<id>` marker of an applied push (24 h), so a push retried after a lost reply counts once.
 */
import { RedisScript } from '../redis/script';

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
export const PUSH = new RedisScript(`${MERGE_FN}
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then return 0 end
merge(KEYS[1], ARGV, 2)
return 1`);

/** KEYS: lease, pending, taken, sent. ARGV: token. Moves pending into taken; returns taken and the in-doubt json. */
export const TAKE = new RedisScript(`${MERGE_FN}
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
export const SENDING = new RedisScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('NOTLEADER') end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
if ARGV[4] == '' then redis.call('DEL', KEYS[3]) else redis.call('HSET', KEYS[3], 'id', ARGV[3], 'json', ARGV[4]) end
return 1`);

/** KEYS: sent. ARGV: write id. The write landed: forget it (unless a newer write replaced it meanwhile). */
export const WRITTEN = new RedisScript(`
if redis.call('HGET', KEYS[1], 'id') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

/** KEYS: lease, sent, taken. ARGV: token, write id, triples. Google refused the write: its deltas are taken again. */
export const REFUSED = new RedisScript(`${MERGE_FN}
if not leads(KEYS[1], ARGV[1]) then return 0 end
if redis.call('HGET', KEYS[2], 'id') ~= ARGV[2] then return 0 end
merge(KEYS[3], ARGV, 3)
redis.call('DEL', KEYS[2])
return 1`);
