/** The service's reload intervals, as configured (`API_KEY_CACHE_DURATION`, `CHANGE_POLL_INTERVAL`, `REFRESH_MIN_INTERVAL`). */
export interface RefreshTiming {
  readonly cacheDurationSec: number;
  readonly changePollIntervalSec: number;
  readonly refreshMinIntervalSec: number;
}

/**
 * How soon a running service sees an edit of the sheet: with change detection, one poll to notice it plus at most one
 * reload interval to wait for its turn (then the reload itself); without, the cache duration.
 */
export function takesEffect(timing: RefreshTiming): string {
  const cache = `${timing.cacheDurationSec} s (API_KEY_CACHE_DURATION)`;
  if (timing.changePollIntervalSec === 0) {
    return `The service sees this change within ${cache}: change detection is off (CHANGE_POLL_INTERVAL=0).\n`;
  }
  const soon = timing.changePollIntervalSec + timing.refreshMinIntervalSec;
  return (
    `The service sees this change within about ${soon} s (it checks the sheet's Drive version every ` +
    `${timing.changePollIntervalSec} s and reloads at most every ${timing.refreshMinIntervalSec} s), ` +
    `and within ${cache} if the Drive API is not enabled.\n`
  );
}
