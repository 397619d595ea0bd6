import type { Redis } from 'ioredis';
import type { Logger } from '../log';

/** What the key store offers the bus. */
export interface Refreshable {
  refresh(): Promise<void>;
}

/** What an admin refresh did. `cluster`: every instance will reload; `instance`: Redis is down, only this one did. */
export interface RefreshOutcome {
  readonly scope: 'cluster' | 'instance';
  /** Instances subscribed when the request was published (cluster scope). */
  readonly receivers?: number;
}

export interface RefreshBusOptions {
  readonly client: Redis;
  /** A connection that only subscribes (`RedisLink.subscriber()`). */
  readonly subscriber: Redis;
  readonly source: {
    readonly channel: string;
    lastVersion(): number;
    lastReadStartedAt(): number;
  };
  readonly lease: { held(): boolean; tick(): Promise<boolean> };
  readonly logger: Logger;
  /** Forced (admin) reads of Google by the leader are at least this far apart; requests in between join. Defaults to `5000` ms. */
  readonly minForcedIntervalMs?: number;
  readonly now?: () => number;
}

/** Refreshes a follower may make to catch up with one announced version (a load under way may predate it). */
const CATCH_UP_TRIES = 3;

/**
 * Refresh over pub/sub. On the namespace channel, the leader announces `table:<version>` after each read
 * it stored, and every follower reloads from Redis at once, so all instances serve the same table within moments.
 * `request()` (the admin endpoint) publishes `refresh`: the leader re-reads Google now — coalesced, at most once per
 * `minForcedIntervalMs`, so an admin loop cannot spend the read quota — and announces the result. After its
 * subscription comes back from an outage, an instance reloads once, since announcements made meanwhile were lost.
 */
export class RefreshBus {
  private store: Refreshable | undefined;
  private lastForcedAt = 0;
  private forcedTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly minForcedIntervalMs: number;
  private subscribedOnce = false;

  constructor(private readonly options: RefreshBusOptions) {
    this.now = options.now ?? Date.now;
    this.minForcedIntervalMs = options.minForcedIntervalMs ?? 5000;
  }

  /** Subscribes and starts reloading `store` on announcements. */
  follow(store: Refreshable): void {
    this.store = store;
    const { subscriber, source } = this.options;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === source.channel) {
        this.onMessage(message);
      }
    });
    subscriber.on('ready', () => {
      if (this.subscribedOnce) {
        void store.refresh(); // announcements made while we were away are lost: catch up
      }
      this.subscribedOnce = true;
    });
    subscriber.subscribe(source.channel).catch((err: unknown) => {
      this.options.logger.warn(`refresh channel not subscribed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  /** Asks every instance to reload now (the admin endpoint). Falls back to this instance when Redis is down. */
  async request(): Promise<RefreshOutcome> {
    try {
      await this.options.lease.tick(); // nobody leads (a leader just died)? then this instance reads Google
      const receivers = await this.options.client.publish(this.options.source.channel, 'refresh');
      this.options.logger.info('key refresh requested for all instances', { receivers });
      return { scope: 'cluster', receivers };
    } catch {
      this.options.logger.warn('key refresh requested while Redis is down: refreshing this instance only');
      await this.store?.refresh();
      return { scope: 'instance' };
    }
  }

  close(): void {
    clearTimeout(this.forcedTimer);
    this.forcedTimer = undefined;
    this.options.subscriber.unsubscribe().catch(() => undefined);
  }

  private onMessage(message: string): void {
    if (message === 'refresh') {
      if (this.options.lease.held()) {
        this.forced();
      }
      return;
    }
    const version = /^table:(\d+)$/.exec(message)?.[1];
    if (version !== undefined && !this.options.lease.held()) {
      void this.catchUp(Number(version));
    }
  }

  private async catchUp(version: number): Promise<void> {
    for (let i = 0; i < CATCH_UP_TRIES && this.options.source.lastVersion() < version; i++) {
      await this.store?.refresh();
    }
  }

  /** A Google read that starts after every request it serves, coalesced to one per `minForcedIntervalMs`. */
  private forced(): void {
    if (this.forcedTimer !== undefined) {
      return; // one is scheduled: it starts after this request, so it covers it
    }
    const wait = Math.max(0, this.lastForcedAt + this.minForcedIntervalMs - this.now());
    this.forcedTimer = setTimeout(() => {
      this.forcedTimer = undefined;
      const firedAt = this.now();
      this.lastForcedAt = firedAt;
      void (async () => {
        await this.store?.refresh();
        // A load already under way was joined: it began before the requests, so it may miss the admin's edit.
        if (this.options.source.lastReadStartedAt() < firedAt) {
          await this.store?.refresh();
        }
      })();
    }, wait);
    this.forcedTimer.unref();
  }
}
