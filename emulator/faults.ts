/**
 * Fault injection and call counting: what the emulator does to requests that reached "Google" besides answering
 * them. Faults are consumed first-in first-out, one per matching request.
 */
import { DRIVE_METHODS, isDrive, isWrite, READ_METHODS, WRITE_METHODS } from './errors';
import type { ApiMethod } from './errors';

/** A failure to inject. All fields optional; `{}` alone is a no-op fault that still consumes a request. */
export interface Fault {
  /** Answer with this HTTP status and Google's body for it (e.g. 429 RESOURCE_EXHAUSTED, 500, 503). */
  readonly status?: number;
  /** Overrides Google's default message for `status`. */
  readonly message?: string;
  /** How many matching requests this fault affects. Defaults to `1`. */
  readonly times?: number;
  /** Wait this long before handling the request (a slow or hung Google; the client may time out meanwhile). */
  readonly latencyMs?: number;
  /**
   * Which requests: a method (`values.get`, `values.batchUpdate`, `files.get`, ...), `read`, `write`, `any` (the
   * Sheets methods) or `drive` (Drive's). Defaults to `any`.
   */
  readonly method?: string;
  /**
   * Handle the request fully (a write IS applied), then delay the response this long, then answer — with `status`
   * if set: the "unknown outcome" case where the client sees a timeout or an error although the write happened.
   */
  readonly applyThenDelayMs?: number;
}

/** Accepted values of {@link Fault.method}. */
export const FAULT_TARGETS: readonly string[] = [
  ...READ_METHODS,
  ...WRITE_METHODS,
  ...DRIVE_METHODS,
  'read',
  'write',
  'any',
  'drive',
];

interface Armed {
  readonly fault: Fault;
  remaining: number;
}

function check(fault: Fault): void {
  const problems: string[] = [];
  if (fault.method !== undefined && !FAULT_TARGETS.includes(fault.method)) {
    problems.push(`method "${fault.method}" is not one of ${FAULT_TARGETS.join(', ')}`);
  }
  if (fault.status !== undefined && !(Number.isInteger(fault.status) && fault.status >= 400 && fault.status <= 599)) {
    problems.push(`status ${String(fault.status)} is not an HTTP error status (400-599)`);
  }
  if (fault.message !== undefined && typeof fault.message !== 'string') {
    problems.push('message must be a string');
  }
  for (const key of ['times', 'latencyMs', 'applyThenDelayMs'] as const) {
    const v = fault[key];
    if (v !== undefined && !(typeof v === 'number' && v >= 0)) {
      problems.push(`${key} must be a number >= 0`);
    }
  }
  if (problems.length > 0) {
    throw new Error(`emulator.fault(): ${problems.join('; ')}`);
  }
}

function matches(target: string | undefined, method: ApiMethod): boolean {
  if (isDrive(method)) {
    return target === 'drive' || target === method; // a Sheets fault never lands on a change-detection poll
  }
  switch (target) {
    case undefined:
    case 'any':
      return true;
    case 'read':
      return !isWrite(method);
    case 'write':
      return isWrite(method);
    default:
      return target === method;
  }
}

/** The armed faults of one emulator. */
export class Faults {
  private queue: Armed[] = [];

  /** @throws Error naming each invalid field. */
  add(fault: Fault): void {
    check(fault);
    this.queue.push({ fault: { ...fault }, remaining: fault.times ?? 1 });
  }

  /** The first armed fault matching `method`, consumed once; undefined when none. */
  take(method: ApiMethod): Fault | undefined {
    const armed = this.queue.find((a) => a.remaining > 0 && matches(a.fault.method, method));
    if (armed === undefined) {
      return undefined;
    }
    armed.remaining -= 1;
    this.queue = this.queue.filter((a) => a.remaining > 0);
    return armed.fault;
  }

  clear(): void {
    this.queue = [];
  }
}

/** Calls that reached the emulator's API surface (faulted and refused ones included), like Google's quota. */
export interface Stats {
  /** `spreadsheets.get`, `values.get`, `values.batchGet`. */
  readonly reads: number;
  /** `spreadsheets.batchUpdate`, `values.update`, `values.batchUpdate`, `values.append`, `values.clear`, `values.batchClear`. */
  readonly writes: number;
  /** Drive `files.get` (the change-detection poll): Drive quota, not Sheets'. */
  readonly drive: number;
  readonly byMethod: Readonly<Record<string, number>>;
}

/** Call counters of one emulator. */
export class Counters {
  private reads = 0;
  private writes = 0;
  private drive = 0;
  private byMethod: Record<string, number> = {};

  record(method: ApiMethod): void {
    if (isDrive(method)) {
      this.drive += 1;
    } else if (isWrite(method)) {
      this.writes += 1;
    } else {
      this.reads += 1;
    }
    this.byMethod[method] = (this.byMethod[method] ?? 0) + 1;
  }

  /** A frozen copy: later calls do not change it. */
  snapshot(): Stats {
    return Object.freeze({
      reads: this.reads,
      writes: this.writes,
      drive: this.drive,
      byMethod: Object.freeze({ ...this.byMethod }),
    });
  }

  reset(): void {
    this.reads = 0;
    this.writes = 0;
    this.drive = 0;
    this.byMethod = {};
  }
}
