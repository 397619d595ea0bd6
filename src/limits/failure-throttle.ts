import { RateLimiterMemory } from 'rate-limiter-flexible';

const WINDOW_SEC = 60;

/**
 * Slows key guessing (`AUTH_FAILURE_LIMIT`): after `limit` refused attempts from one client address within a
 * minute, every request from that address is refused with 429 until the minute is over. Valid clients on other
 * addresses are untouched. Per instance, in memory: a guesser spread over N instances gets N × limit.
 * Needs `TRUST_PROXY` behind a proxy, or every client shares the proxy's address.
 */
export class FailureThrottle {
  private readonly limiter: RateLimiterMemory;

  constructor(readonly limit: number) {
    this.limiter = new RateLimiterMemory({ points: limit, duration: WINDOW_SEC, keyPrefix: 'authfail' });
  }

  /** Milliseconds until `address` may try again, or 0 when it is not blocked. */
  async blockedFor(address: string): Promise<number> {
    const res = await this.limiter.get(address);
    return res !== null && res.consumedPoints >= this.limit ? Math.max(1, res.msBeforeNext) : 0;
  }

  /** Records one refused attempt from `address`. */
  async fail(address: string): Promise<void> {
    await this.limiter.penalty(address, 1);
  }
}
