/**
 * Usage deltas pooled in Redis: every instance adds its deltas to one pending hash; the leader takes them, writes
 * them to the sheet and settles the write, each step one atomic script (src/usage/redis-ledger-scripts.ts lists the
 * keys). Nothing that was pushed is ever only in one process's memory: a leader that crashes at any point leaves what
 * it held in Redis, for the next leader.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { keyIdOf } from '../keys/key-id';
import { toRedisError } from '../redis/redis-error';
import type { Logger } from '../log';
import type { CountedKey, KeyUsage, PendingUsage, UsageBatch } from './counter';
import type { TakenUsage, UsageLedger } from './ledger';
import type { Attempt, Attempts } from './plan';
import { PUSH, REFUSED, SENDING, TAKE, WRITTEN } from './redis-ledger-scripts';
import { UsagePusher } from './redis-pusher';

export type { TakenUsage };

export interface RedisUsageLedgerOptions {
  readonly logger: Logger;
  /** How often local deltas go to Redis. Defaults to `2000` ms. */
  readonly pushIntervalMs?: number;
  /** Called when a push fails (metrics). */
  readonly onError?: (operation: 'usage') => void;
}

const PUSH_MARKER_TTL_MS = 24 * 3600_000;

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

/**
 * The Redis side of pooled usage, as a {@link UsageLedger}: requests are counted locally and pushed to the pool every
 * few seconds (and before each flush and at shutdown) by a {@link UsagePusher}; only the lease holder writes, taking
 * the pool and settling the write through the scripts above. No fact of the pool lives in this object.
 */
export class RedisUsageLedger implements UsageLedger {
  private readonly keys;
  private readonly pusher: UsagePusher;

  constructor(
    private readonly client: Redis,
    /** Deployment namespace, e.g. `sheetgate:{3f2a9c1b2d4e}`. */
    namespace: string,
    /** The leader lease (see {@link Lease}): its key, this instance's token, and whether it holds it now. */
    private readonly lease: { readonly key: string; readonly token: string; readonly ttlMs: number; held(): boolean },
    options: RedisUsageLedgerOptions,
  ) {
    this.keys = {
      pending: `${namespace}:usage:pending`,
      taken: `${namespace}:usage:taken`,
      sent: `${namespace}:usage:sent`,
      push: `${namespace}:usage:push:`,
    };
    this.pusher = new UsagePusher({
      ledger: this,
      logger: options.logger,
      ...(options.pushIntervalMs === undefined ? {} : { intervalMs: options.pushIntervalMs }),
      ...(options.onError === undefined ? {} : { onError: options.onError }),
    });
  }

  record(key: CountedKey, at: number): void {
    this.pusher.counter.record(key, at);
  }

  recorderFor(key: CountedKey): (at: number) => void {
    return this.pusher.counter.recorderFor(key);
  }

  /** Requests counted here and not yet in Redis. */
  pending(): PendingUsage {
    return this.pusher.pending();
  }

  /** Epoch ms of the last push that reached Redis. */
  lastPush(): number | undefined {
    return this.pusher.lastPush();
  }

  start(): void {
    this.pusher.start();
  }

  async gather(): Promise<void> {
    await this.pusher.push();
  }

  writes(): boolean {
    return this.lease.held();
  }

  /** Nothing to do: what a failed read took stays taken in Redis, and the next `take` adds to it. */
  putBack(): void {
    // The batch is still in the `taken` hash.
  }

  async stop(): Promise<void> {
    await this.pusher.stop();
  }

  /** Everything pushed stays in Redis for the next leader; what was never pushed is logged by the pusher. */
  unwritten(): undefined {
    return undefined;
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
