/**
 * ChangeDetector's bookkeeping of versions, with a fake of its Drive port (a version number the test moves) and a
 * fixed sheet source: which version a table is credited with, and how own writes are told from edits.
 */
import { describe, expect, it } from '@jest/globals';
import { ChangeDetector } from '../../src/keys/change-detector';
import { DriveError } from '../../src/keys/drive-version';
import type { DriveVersionSource } from '../../src/keys/drive-version';
import { captureLogger } from '../helpers/log-capture';
import { FixedSource } from '../helpers/fixed-source';
import { readWholeTable } from '../../src/keys/load-snapshot';

/** The file: a version that edits and writes bump. */
class FakeDrive implements DriveVersionSource {
  version_ = 7;
  calls = 0;
  refuse = false;
  version(): Promise<string> {
    this.calls += 1;
    return this.refuse
      ? Promise.reject(new DriveError('refused', 'the Google Drive API is not enabled', 403))
      : Promise.resolve(String(this.version_));
  }
}

function setup(): { drive: FakeDrive; detector: ChangeDetector; reloads: () => number; load: () => Promise<void> } {
  const drive = new FakeDrive();
  let reloads = 0;
  const detector = new ChangeDetector({
    drive,
    reload: () => {
      reloads += 1;
      return Promise.resolve();
    },
    intervalMs: 5000,
    logger: captureLogger().logger,
  });
  const source = detector.source(new FixedSource([['api_key', 'client_name', 'is_active']]));
  const load = async (): Promise<void> => {
    await readWholeTable(source);
  };
  return { drive, detector, reloads: () => reloads, load };
}

describe('ChangeDetector', () => {
  it('a table is credited with the version read before its read began; unchanged → no reload, changed → one', async () => {
    const { drive, detector, reloads, load } = setup();
    await load();
    expect(detector.status()).toMatchObject({ mode: 'drive', version: '7' });
    await detector.check();
    expect(reloads()).toBe(0);
    drive.version_ = 8;
    await detector.check();
    expect(reloads()).toBe(1);
  });

  it("an own write's bump is adopted without a reload", async () => {
    const { drive, detector, reloads, load } = setup();
    await load();
    await detector.ownWrite(() => {
      drive.version_ += 1;
      return Promise.resolve();
    });
    expect(detector.status().version).toBe('8');
    await detector.check();
    expect(reloads()).toBe(0);
  });

  it('an edit made before an own write is not hidden by it: the next poll reloads', async () => {
    const { drive, detector, reloads, load } = setup();
    await load();
    drive.version_ += 1; // an admin edits
    await detector.ownWrite(() => {
      drive.version_ += 1;
      return Promise.resolve();
    });
    expect(detector.status().version).toBe('7');
    await detector.check();
    expect(reloads()).toBe(1);
  });

  it('a poll that overlaps an own write drops its answer', async () => {
    const { drive, detector, reloads, load } = setup();
    await load();
    let poll: Promise<void> | undefined;
    await detector.ownWrite(async () => {
      drive.version_ += 1;
      poll = detector.check(); // reads the bumped version while the write is under way
      await poll;
    });
    await poll;
    expect(reloads()).toBe(0);
  });

  it('Drive refusing: mode off with the reason, no reload asked, back to drive when it answers', async () => {
    const { drive, detector, reloads, load } = setup();
    drive.refuse = true;
    await load();
    await detector.check();
    expect(detector.status()).toMatchObject({ mode: 'off', reason: expect.stringContaining('not enabled') });
    expect(reloads()).toBe(0);
    drive.refuse = false;
    await detector.check();
    expect(detector.status()).toMatchObject({ mode: 'drive', reason: null });
    expect(reloads()).toBe(1); // the table's version was never known: reloaded once
  });
});
