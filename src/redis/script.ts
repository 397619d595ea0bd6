import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A Lua script run with `EVALSHA`, falling back to `EVAL` once when Redis does not know it yet (after a restart or a
 * `SCRIPT FLUSH`). Each script runs atomically: no other command interleaves (the point of every script here).
 */
export class RedisScript {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Runs the script. @throws the Redis error (connection, `NOSCRIPT` twice, or an error the script raised). */
  async run(client: Redis, keys: readonly string[], args: readonly (string | number)[] = []): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
        return client.eval(this.lua, keys.length, ...keys, ...args);
      }
      throw err;
    }
  }
}
