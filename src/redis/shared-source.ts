import type { Redis } from 'ioredis';
import { readWholeTable, streamRows } from '../keys/load-snapshot';
import type { SheetSource, TableSink } from '../keys/sheet-source';
import { streamValueRange, valueRangeJsonSteps } from '../keys/snapshot-json';
import { SheetsError } from '../keys/sheets-error';
import type { SheetsTarget } from '../keys/sheets-error';
import type { SheetTable } from '../keys/types';
import type { Logger } from '../log';
import { runInSlices } from '../slicing';
import type { SliceOptions } from '../slicing';
import { UnredactableTableError, redactTableSteps } from './redact-table';
import { RedisScript } from './script';

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
  /** The leader lease (see lease.ts). */
  readonly lease: { readonly key: string; readonly token: string; held(): boolean; tick(): Promise<boolean> };
  /** `API_KEY_CACHE_DURATION` in ms: a table older than this in Redis is not used. */
  readonly maxAgeMs: number;
  readonly logger: Logger;
  /** How long a follower with no table in Redis waits for the leader's first read before reading Google. Defaults to `3000` ms. */
  readonly waitForLeaderMs?: number;
  readonly onRedisError?: (operation: 'table') => void;
  readonly now?: () => number;
  /** How the redact-and-stringify of a table read from Google gives the event loop its turns; defaults to slices of 5 ms. */
  readonly slicing?: SliceOptions;
}

/** Where the last table came from, for `/auth/status`. */
export interface SharedSourceStatus {
  readonly from: 'google' | 'redis' | undefined;
  /** Version of the table in Redis this instance last stored or read (0 = none). */
  readonly version: number;
}

const POLL_MS = 100;

/**
 * A {@link SheetSource} that keeps total Sheets reads per minute constant as instances are added. The lease holder
 * reads Google, stores the table in Redis — redacted, with no raw key — with a version, and publishes
 * `table:<version>` on the namespace's channel (refresh-bus.ts makes every follower refresh on it). Followers read the table from Redis when it is fresh (younger than `maxAgeMs`), and fall back to
 * Google only when Redis has nothing fresh: leader gone, or Redis down. A follower first tries to take a free lease,
 * and at startup waits briefly for a leader's first read, so N instances starting together read the sheet once.
 * Every table it streams starts with `readAt`, the start of the Google read it comes from (the leader's, for a
 * follower): the snapshot's age is the data's, on every instance. A follower parses the shared table as it streams it
 * to the sink, in slices; the leader, which must redact and store the whole table, streams it once that is done.
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

  /** When the last `streamTable()` began (epoch ms): a refresh requested later needs a later read. */
  lastReadStartedAt(): number {
    return this.readStartedAt;
  }

  /** @throws SheetsError when Google has to be read and fails. */
  async streamTable(sink: TableSink): Promise<void> {
    this.readStartedAt = this.now();
    if (this.from === undefined) {
      await this.connected(); // the first load starts with the process, usually before Redis said hello
    }
    const leads = this.options.lease.held() || (await this.options.lease.tick());
    if (!leads && (await this.streamShared(sink))) {
      return;
    }
    await streamRows(await this.readGoogle(), sink, this.options.slicing);
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
    const table = { ...(await readWholeTable(this.options.inner)), readAt };
    this.from = 'google';
    // Hashing every key and checking every cell of a big table in one piece would block the event loop: in slices.
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
      // Stringifying a big table in one piece would block the event loop.
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

  /**
   * Streams a fresh table from Redis to `sink`, waiting up to `waitForLeaderMs` for a leader's first one. False when
   * there is none (then Google is read), or when the one stored is not valid JSON (the sink is then restarted by the
   * read of Google).
   */
  private async streamShared(sink: TableSink): Promise<boolean> {
    const deadline = this.now() + (this.version === 0 ? (this.options.waitForLeaderMs ?? 3000) : 0);
    for (;;) {
      const found = await this.fetchShared();
      if (found === 'unreachable' || (found === 'absent' && this.now() >= deadline)) {
        return false;
      }
      if (found !== 'absent') {
        return this.streamStored(found, sink);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  private async fetchShared(): Promise<StoredTable | 'absent' | 'unreachable'> {
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
    return { json, readAt, version: Number(version), timeZone };
  }

  private async streamStored(stored: StoredTable, sink: TableSink): Promise<boolean> {
    sink.start(stored.timeZone, stored.readAt);
    try {
      await streamValueRange([stored.json], sink, {
        sliceChars: 16_384,
        ...this.options.slicing,
        otherShapes: 'refuse',
      });
    } catch {
      this.options.logger.warn('the key table stored in Redis is not valid JSON: reading Google instead');
      sink.restart();
      return false;
    }
    this.version = stored.version;
    this.from = 'redis';
    return true;
  }
}

/** A table as the leader stored it in Redis. */
interface StoredTable {
  readonly json: string;
  readonly readAt: number;
  readonly version: number;
  readonly timeZone: string;
}
