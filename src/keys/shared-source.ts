import type { Redis } from 'ioredis';
import type { Logger } from '../log';
import { UnredactableTableError, redactTableSteps } from '../redis/redact-table';
import { RedisScript } from '../redis/script';
import type { SheetSource } from './sheet-source';
import { runInSlices } from './snapshot-chunked';
import type { ChunkedBuildOptions } from './snapshot-chunked';
import { parseValueRange, valueRangeJsonSteps } from './snapshot-json';
import { SheetsError } from './sheets-error';
import type { SheetsTarget } from './sheets-error';
import type { SheetTable } from './types';

/**
 * KEYS: lease, table, version counter. ARGV: token, json, readAt, ttl ms, channel, time zone. Stores the leader's
 * table (`json` is a Sheets ValueRange body, `{"values":[…]}`, so followers parse it in slices like Google's) and
 * announces its version. The counter outlives the table (a week from the last read), so versions keep growing after
 * a stored table expired and followers holding a higher version still catch up.
 */
const STORE = new RedisScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local version = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[2], 'json', ARGV[2], 'readAt', ARGV[3], 'version', version, 'zone', ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PEXPIRE', KEYS[3], 604800000)
redis.call('PUBLISH', ARGV[5], 'table:' .. version)
return version`);

export interface SharedSourceOptions {
  /** The Google adapter. */
  readonly inner: SheetSource;
  readonly client: Redis;
  /** Deployment namespace, e.g. `sheetgate:{3f2a9c1b2d4e}`. */
  readonly namespace: string;
  /** The leader lease (see src/redis/lease.ts). */
  readonly lease: { readonly key: string; readonly token: string; held(): boolean; tick(): Promise<boolean> };
  /** `API_KEY_CACHE_DURATION` in ms: a table older than this in Redis is not used. */
  readonly maxAgeMs: number;
  readonly logger: Logger;
  /** How long a follower with no table in Redis waits for the leader's first read before reading Google. Defaults to `3000` ms. */
  readonly waitForLeaderMs?: number;
  readonly onRedisError?: (operation: 'table') => void;
  readonly now?: () => number;
  /** How the redact-and-stringify of a table read from Google gives the event loop its turns; defaults to ~5 ms slices. */
  readonly slicing?: ChunkedBuildOptions;
}

/** Where the last table came from, for `/auth/status`. */
export interface SharedSourceStatus {
  readonly from: 'google' | 'redis' | undefined;
  /** Version of the table in Redis this instance last stored or read (0 = none). */
  readonly version: number;
}

const POLL_MS = 100;

/**
 * A {@link SheetSource} that keeps total Sheets reads per minute constant as instances are added. The lease holder reads Google, stores the table in Redis — redacted, with no raw key — with a
 * version, and publishes `table:<version>` on the namespace's channel (src/redis/refresh-bus.ts makes every follower
 * refresh on it). Followers read the table from Redis when it is fresh (younger than `maxAgeMs`), and fall back to
 * Google only when Redis has nothing fresh: leader gone, or Redis down. A follower first tries to take a free lease,
 * and at startup waits briefly for a leader's first read, so N instances starting together read the sheet once.
 * Every table it gives carries `readAt`, the start of the Google read it comes from (the leader's, for a follower):
 * the snapshot's age is the data's, on every instance.
 */
export class SharedSource implements SheetSource {
  readonly target: SheetsTarget;
  readonly channel: string;
  private readonly tableKey: string;
  private readonly now: () => number;
  private from: SharedSourceStatus['from'];
  private version = 0;
  private readStartedAt = 0;

  constructor(private readonly options: SharedSourceOptions) {
    this.target = options.inner.target;
    this.tableKey = `${options.namespace}:table`;
    this.channel = `${options.namespace}:events`;
    this.now = options.now ?? Date.now;
  }

  status(): SharedSourceStatus {
    return { from: this.from, version: this.version };
  }

  /** Version of the table this instance last used (followers compare it with the versions announced). */
  lastVersion(): number {
    return this.version;
  }

  /** When the last `readTable()` began (epoch ms): a refresh requested later needs a later read. */
  lastReadStartedAt(): number {
    return this.readStartedAt;
  }

  /** @throws SheetsError when Google has to be read and fails. */
  async readTable(): Promise<SheetTable> {
    this.readStartedAt = this.now();
    if (this.from === undefined) {
      await this.connected(); // the first load starts with the process, usually before Redis said hello
    }
    const leads = this.options.lease.held() || (await this.options.lease.tick());
    if (!leads) {
      const shared = await this.readShared();
      if (shared !== undefined) {
        return shared;
      }
    }
    return this.readGoogle();
  }

  /** Resolves once the client is ready or has failed to connect (then read Google), at most `waitForLeaderMs`. */
  private async connected(): Promise<void> {
    const { client } = this.options;
    if (client.status === 'ready' || client.status === 'end') {
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    let settle: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      settle = resolve;
      timer = setTimeout(resolve, this.options.waitForLeaderMs ?? 3000);
      client.once('ready', resolve);
      client.once('error', resolve);
    });
    clearTimeout(timer);
    if (settle !== undefined) {
      client.off('ready', settle);
      client.off('error', settle);
    }
  }

  /**
   * Google's table, stamped with when its read began, and stored for the followers when this instance leads. A table
   * that cannot be redacted is refused by every instance, leader or not, so that all serve the same one.
   * @throws SheetsError `bad_table` when it cannot be stored without a raw key (nothing is stored; the caller keeps
   *   its last good snapshot); as the inner source otherwise
   */
  private async readGoogle(): Promise<SheetTable> {
    const readAt = this.now();
    const table = { ...(await this.options.inner.readTable()), readAt };
    this.from = 'google';
    // Hashing every key and checking every cell of 100,000 rows would block for ~0.2 s: in slices.
    const redacted = await runInSlices(redactTableSteps(table, 100), this.options.slicing).catch((err: unknown) => {
      if (err instanceof UnredactableTableError) {
        throw new SheetsError(
          'bad_table',
          `Sheet not shared through Redis (a key could be left in it): ${err.message}`,
          true,
        );
      }
      throw err;
    });
    if (this.options.lease.held()) {
      await this.store(redacted, readAt);
    }
    return table;
  }

  private async store(redacted: SheetTable, readAt: number): Promise<void> {
    const { client, lease } = this.options;
    try {
      // Stringifying 100,000 rows in one piece would block for tens of ms.
      const json = await runInSlices(valueRangeJsonSteps(redacted.rows, 1000), this.options.slicing);
      const ttl = Math.max(this.options.maxAgeMs * 2, 60_000);
      const keys = [lease.key, this.tableKey, `${this.tableKey}:version`];
      const version = Number(
        await STORE.run(client, keys, [lease.token, json, readAt, ttl, this.channel, redacted.timeZone]),
      );
      if (version > 0) {
        this.version = version;
      }
    } catch {
      this.options.onRedisError?.('table'); // the connection logs the outage; this instance still has its table
    }
  }

  /** A fresh table from Redis, waiting up to `waitForLeaderMs` for a leader's first one. Undefined: none. */
  private async readShared(): Promise<SheetTable | undefined> {
    const deadline = this.now() + (this.version === 0 ? (this.options.waitForLeaderMs ?? 3000) : 0);
    for (;;) {
      const found = await this.fetchShared();
      if (found !== 'absent' || this.now() >= deadline) {
        return found === 'absent' || found === 'unreachable' ? undefined : found;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  private async fetchShared(): Promise<SheetTable | 'absent' | 'unreachable'> {
    let fields: (string | null)[];
    try {
      fields = await this.options.client.hmget(this.tableKey, 'json', 'readAt', 'version', 'zone');
    } catch {
      this.options.onRedisError?.('table');
      return 'unreachable';
    }
    const [json, readAtField, version, timeZone] = fields;
    const readAt = Number(readAtField ?? NaN);
    if (json == null || timeZone == null || !Number.isFinite(readAt) || this.now() - readAt > this.options.maxAgeMs) {
      return 'absent';
    }
    try {
      const rows = await parseValueRange(json);
      this.version = Number(version);
      this.from = 'redis';
      return { timeZone, rows, readAt };
    } catch {
      this.options.logger.warn('the key table stored in Redis is not valid JSON: reading Google instead');
      return 'absent';
    }
  }
}
