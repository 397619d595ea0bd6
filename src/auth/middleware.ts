import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { addressMatcher } from '../keys/address-list';
import type { AddressMatcher } from '../keys/address-list';
import { hashKey, maskKey } from '../keys/key-id';
import type { Quota } from '../keys/quota';
import type { KeyRecord, Snapshot } from '../keys/types';
import type { FailureThrottle } from '../limits/failure-throttle';
import type { KeyDecider, LimitDecision, Limiter } from '../limits/limiter';
import type { QuotaCounter } from '../limits/quota-counter';
import type { Logger } from '../log';
import { headerSafe } from './header-safe';
import { credentialHeaders, parseCredentials } from './credentials';
import { sendProblem } from './errors';
import type { AuthErrorCode, ProblemExtras } from './errors';
import { quotaGate } from './quota-gate';
import { hasScope, keyRefusal } from './verify';
import type { KeyRefusal } from './verify';

/** What a route sees about an authenticated caller: `req.auth`. */
export interface AuthContext {
  readonly clientName: string;
  readonly keyId: string;
  readonly scopes: readonly string[];
  /** Requests per minute. */
  readonly limit: number;
  /** Epoch ms after which the key is refused; undefined = never expires. */
  readonly expiresAt: number | undefined;
  /** The key's day/month quota; undefined = none. */
  readonly quota: Quota | undefined;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by the sheetgate middleware for an accepted key; undefined when auth is disabled or degraded. */
    auth?: AuthContext;
  }
}

/** `enforce` checks keys; `degraded` (no credentials) and `disabled` (AUTH_ENABLED=false) let everything through. */
export type AuthMode =
  { readonly kind: 'enforce' } | { readonly kind: 'degraded'; readonly reason: string } | { readonly kind: 'disabled' };

/** Where the middleware reads the current snapshot (the KeyStore). */
export interface SnapshotProvider {
  snapshot(): Snapshot | undefined;
}

/** Counts accepted requests per key (usage write-back). */
export interface UsageRecorder {
  record(key: KeyRecord, at: number): void;
  /**
   * `record` for one key, as a function the middleware keeps with the key's answer: called for each accepted request of
   * that key instead of `record`, so that a recorder that can need not look the key up per request.
   */
  recorderFor?(key: KeyRecord): (at: number) => void;
  /** A request of `key` was refused for its day/month quota (not usage; the flush looks at the key's row). */
  quotaRefused?(key: KeyRecord): void;
}

/** One auth decision, for metrics. */
export interface AuthDecision {
  readonly outcome: 'ok' | AuthErrorCode;
  readonly key?: KeyRecord;
}

export interface AuthMiddlewareOptions {
  readonly mode: AuthMode;
  readonly keys: SnapshotProvider;
  readonly limiter: Limiter;
  /** Day/month quota counters for keys with a `quota`; without it, quotas are not enforced. */
  readonly quotas?: QuotaCounter;
  readonly logger: Logger;
  readonly usage?: UsageRecorder;
  readonly onDecision?: (decision: AuthDecision) => void;
  /**
   * Per-key counting of accepted requests (metrics): called once per key and snapshot, when the key is first
   * presented; the function it returns is called for each accepted request of that key instead of `onDecision`, so
   * a per-key count is reached without a lookup per request. Refusals still go to `onDecision`.
   */
  readonly countAccepted?: (key: KeyRecord) => () => void;
  /** Per-address throttle of refused attempts (`AUTH_FAILURE_LIMIT`); off when undefined. */
  readonly failures?: FailureThrottle;
  /** Clock for expiry; defaults to `Date.now`. */
  readonly now?: () => number;
}

/** Seconds a client should wait before retrying while no snapshot has loaded. */
const UNAVAILABLE_RETRY_SEC = 5;

/**
 * What every accepted request of one key answers with, computed once per key and snapshot (records are immutable and
 * replaced whole by each refresh) rather than on every request: the record itself, `req.auth`, the header-safe client
 * name, the fixed RateLimit-* values, the expiry header, the address check, the limiter's window and the metrics
 * decision or count. An accepted request reads its answer and what the answer holds, never the record: a key's data is
 * a few objects rather than a dozen, which is what keeps a 100,000-key sheet close to a 10,000-key one.
 */
interface KeyAnswer {
  readonly key: KeyRecord;
  /** Before this time (epoch ms) the key is usable: -Infinity when inactive, Infinity when it never expires. */
  readonly usableBefore: number;
  readonly quota: Quota | undefined;
  /** From the limiter's `deciderFor`; undefined when the limiter decides through `consumeInto` or `consume`. */
  readonly decider: KeyDecider | undefined;
  readonly auth: AuthContext;
  readonly clientHeader: string;
  readonly limitHeader: string;
  readonly policyHeader: string;
  /** `X-Sheetgate-Key-Expiration`; undefined for a key that never expires (no header). */
  readonly expirationHeader: string | undefined;
  /** The key's `allowed_ips`, its ranges parsed once here; undefined when any address may use it. */
  readonly allowedFrom: AddressMatcher | undefined;
  readonly accepted: AuthDecision;
  /** From `countAccepted`; undefined when accepted requests go to `onDecision`. */
  readonly counted: (() => void) | undefined;
  /** From the usage recorder's `recorderFor`; undefined when the middleware records through `record`. */
  readonly recordUse: ((at: number) => void) | undefined;
}

/**
 * One string per distinct value (`RateLimit-Limit`, `RateLimit-Policy`, expiry header): keys with the same limit or
 * expiry share it, so a request does not read a string of its own key's for each of those headers.
 */
type Shared = (value: string) => string;

function keyAnswer(
  key: KeyRecord,
  limiter: Limiter,
  shared: Shared,
  countAccepted: ((key: KeyRecord) => () => void) | undefined,
  usage: UsageRecorder | undefined,
): KeyAnswer {
  return {
    key,
    usableBefore: key.active ? (key.expiresAt ?? Infinity) : -Infinity,
    quota: key.quota,
    decider: limiter.deciderFor?.(key.keyId, key.rateLimit),
    auth: Object.freeze({
      clientName: key.clientName,
      keyId: key.keyId,
      scopes: key.scopes,
      limit: key.rateLimit,
      expiresAt: key.expiresAt,
      quota: key.quota,
    }),
    clientHeader: headerSafe(key.clientName),
    limitHeader: shared(String(key.rateLimit)),
    policyHeader: shared(`${key.rateLimit};w=60`),
    expirationHeader: key.expiresAt === undefined ? undefined : shared(new Date(key.expiresAt).toISOString()),
    allowedFrom: key.allowedIps.length === 0 ? undefined : addressMatcher(key.allowedIps),
    accepted: Object.freeze({ outcome: 'ok', key }),
    counted: countAccepted?.(key),
    recordUse: usage?.recorderFor?.(key),
  };
}

function setLimitHeaders(res: Response, answer: KeyAnswer, d: LimitDecision): void {
  res.setHeader('RateLimit-Limit', answer.limitHeader);
  res.setHeader('RateLimit-Remaining', String(d.remaining));
  res.setHeader('RateLimit-Reset', String(Math.max(1, Math.ceil(d.resetMs / 1000))));
  res.setHeader('RateLimit-Policy', answer.policyHeader);
}

/**
 * The auth middleware: credentials → snapshot lookup → expiry/active → allowed address → per-key limit (and quota) →
 * `req.auth` and the answer's headers.
 * Refusals are problem+json with a stable `code`. No Sheets call happens here, ever.
 */
export function authMiddleware(options: AuthMiddlewareOptions): RequestHandler {
  const { mode, keys, limiter, logger, usage, onDecision, countAccepted, failures } = options;
  const now = options.now ?? Date.now;
  const quotas = options.quotas === undefined ? undefined : quotaGate(options.quotas);
  // winston builds and pipes an entry before filtering by level: decide once, not per request (LOG_LEVEL is fixed).
  const debug = logger.isDebugEnabled();
  // The answers of the keys presented, by hash: a key presented before is found, record and answer, in one lookup.
  // The map holds for one key table: a refresh that shares the previous table (no row changed) keeps it, any other
  // starts a new one. Behind it, answers by record: a record the new table kept (its row did not change) keeps its
  // answer, and the rest go with the old table's records.
  let answeredTable: Snapshot['byHash'] | undefined;
  let answers = new Map<string, KeyAnswer>();
  const byRecord = new WeakMap<KeyRecord, KeyAnswer>();
  // Header values shared between answers, for one key table like `answers`.
  let values = new Map<string, string>();
  const shared: Shared = (value) => {
    const known = values.get(value);
    if (known !== undefined) {
      return known;
    }
    values.set(value, value);
    return value;
  };
  /** The answer of the key with this hash in `snapshot`; undefined when there is no such key. */
  const answerFor = (snapshot: Snapshot, hash: string): KeyAnswer | undefined => {
    if (snapshot.byHash !== answeredTable) {
      answeredTable = snapshot.byHash;
      answers = new Map();
      values = new Map();
    }
    let answer = answers.get(hash);
    if (answer === undefined) {
      const key = snapshot.byHash.get(hash);
      if (key === undefined) {
        return undefined;
      }
      answer = byRecord.get(key);
      if (answer === undefined) {
        answer = keyAnswer(key, limiter, shared, countAccepted, usage);
        byRecord.set(key, answer);
      }
      answers.set(key.hash, answer);
    }
    return answer;
  };

  const refuse = (res: Response, code: AuthErrorCode, key?: KeyRecord, extras?: ProblemExtras): void => {
    onDecision?.({ outcome: code, ...(key === undefined ? {} : { key }) });
    sendProblem(res, code, extras);
  };
  // A refused key (not a limit or an outage) counts against the caller's address when the throttle is on.
  const refuseKey = async (req: Request, res: Response, code: AuthErrorCode, key?: KeyRecord): Promise<void> => {
    await failures?.fail(req.ip ?? 'unknown');
    refuse(res, code, key);
  };

  const refusePresented = (req: Request, res: Response, code: KeyRefusal, presented: string): Promise<void> => {
    if (debug) {
      logger.debug('auth refused', { code, keyPreview: maskKey(presented) });
    }
    return refuseKey(req, res, code);
  };

  const refuseLimit = (res: Response, code: 'rate_limited' | 'quota_exceeded', key: KeyRecord, waitMs: number) => {
    if (debug) {
      logger.debug('auth refused', { code, client: key.clientName, keyId: key.keyId });
    }
    refuse(res, code, key, { retryAfterSec: waitMs / 1000 });
  };

  const admit = (
    req: Request,
    res: Response,
    next: NextFunction,
    key: KeyRecord,
    answer: KeyAnswer,
    decision: LimitDecision,
    at: number,
  ): void => {
    setLimitHeaders(res, answer, decision);
    if (!decision.allowed) {
      refuseLimit(res, 'rate_limited', key, decision.resetMs);
      return;
    }
    accept(req, res, next, key, answer, at);
  };

  const accept = (
    req: Request,
    res: Response,
    next: NextFunction,
    key: KeyRecord,
    answer: KeyAnswer,
    at: number,
  ): void => {
    res.setHeader('X-Client-Name', answer.clientHeader);
    if (answer.expirationHeader !== undefined) {
      res.setHeader('X-Sheetgate-Key-Expiration', answer.expirationHeader);
    }
    req.auth = answer.auth;
    if (answer.recordUse === undefined) {
      usage?.record(key, at);
    } else {
      answer.recordUse(at);
    }
    if (answer.counted === undefined) {
      onDecision?.(answer.accepted);
    } else {
      answer.counted();
    }
    if (debug) {
      logger.debug('auth ok', { client: key.clientName, keyId: key.keyId, keyPreview: key.preview });
    }
    next();
  };

  const authenticate = (req: Request, res: Response, next: NextFunction): Promise<void> | undefined => {
    const credentials = parseCredentials(credentialHeaders(req.rawHeaders));
    if (credentials.kind !== 'key') {
      const code = credentials.kind === 'missing' ? 'missing_api_key' : 'malformed_authorization';
      if (debug) {
        logger.debug('auth refused', { code, path: req.path });
      }
      return refuseKey(req, res, code);
    }
    const snapshot = keys.snapshot();
    if (snapshot === undefined) {
      refuse(res, 'auth_unavailable', undefined, { retryAfterSec: UNAVAILABLE_RETRY_SEC });
      return Promise.resolve();
    }
    const at = now();
    // By sha256 of the presented key, so timing depends on the hash, never on how much of the key matched.
    const answer = answerFor(snapshot, hashKey(credentials.key));
    if (answer === undefined) {
      return refusePresented(req, res, 'invalid_api_key', credentials.key);
    }
    // The answer's bound settles the common case; past it, `keyRefusal` says which refusal (inactive, expired).
    const refusal = at < answer.usableBefore ? undefined : keyRefusal(answer.key, at);
    if (refusal !== undefined) {
      return refusePresented(req, res, refusal, credentials.key);
    }
    const { key } = answer;
    // Before the limiter: a key used from elsewhere spends none of its owner's limit. `req.ip` follows TRUST_PROXY.
    if (answer.allowedFrom !== undefined) {
      const address = req.ip;
      if (!answer.allowedFrom(address)) {
        if (debug) {
          logger.debug('auth refused', { code: 'ip_not_allowed', client: key.clientName, keyId: key.keyId, address });
        }
        return refuseKey(req, res, 'ip_not_allowed', key);
      }
    }
    if (answer.quota !== undefined && quotas !== undefined) {
      return limitAndQuota(req, res, next, key, answer, answer.quota, snapshot.timeZone);
    }
    if (answer.decider !== undefined) {
      // Decided at once (in memory): what admitting throws goes to Express's error handlers like any middleware's.
      admit(req, res, next, key, answer, answer.decider.decide(), at);
      return undefined;
    }
    // Otherwise the request is admitted when the limiter decides (through `consumeInto` when the limiter has it, in its
    // own promise reaction with Redis): its failure, and anything thrown while admitting, goes to Express's error
    // handlers here, so nothing is returned for the router to chain a handler of its own to.
    const decided = (decision: LimitDecision): void => {
      try {
        admit(req, res, next, key, answer, decision, at);
      } catch (err: unknown) {
        next(err);
      }
    };
    if (limiter.consumeInto === undefined) {
      limiter.consume(key.keyId, key.rateLimit).then(decided, next);
    } else {
      limiter.consumeInto(key.keyId, key.rateLimit, decided, next);
    }
    return undefined;
  };

  // The per-minute limit first: a request it refuses never reaches the quota. A request the quota refuses has spent
  // its per-minute point, which changes nothing for a key that is refused until its period ends.
  const limitAndQuota = async (
    req: Request,
    res: Response,
    next: NextFunction,
    key: KeyRecord,
    answer: KeyAnswer,
    quota: Quota,
    zone: string,
  ): Promise<void> => {
    const decision = await limiter.consume(key.keyId, key.rateLimit);
    const at = now();
    if (!decision.allowed || quotas === undefined) {
      admit(req, res, next, key, answer, decision, at);
      return;
    }
    setLimitHeaders(res, answer, decision);
    const charged = await quotas.consume(key, quota, zone, at);
    res.setHeader('RateLimit-Policy', `${answer.policyHeader}, ${charged.policy}`);
    res.setHeader('X-Sheetgate-Quota-Limit', String(charged.decision.limit));
    res.setHeader('X-Sheetgate-Quota-Remaining', String(charged.decision.remaining));
    res.setHeader('X-Sheetgate-Quota-Reset', String(Math.max(1, Math.ceil((charged.endsAt - at) / 1000))));
    if (!charged.decision.allowed) {
      usage?.quotaRefused?.(key);
      refuseLimit(res, 'quota_exceeded', key, charged.endsAt - at);
      return;
    }
    accept(req, res, next, key, answer, at);
  };

  const throttled = async (req: Request, res: Response, next: NextFunction, throttle: FailureThrottle) => {
    const waitMs = await throttle.blockedFor(req.ip ?? 'unknown');
    if (waitMs > 0) {
      refuse(res, 'rate_limited', undefined, {
        retryAfterSec: waitMs / 1000,
        detail: 'Too many failed authentication attempts from this address.',
      });
      return;
    }
    await authenticate(req, res, next);
  };

  // Not an async function: the accepted path has one promise (the limiter's), not an extra one per await.
  return function sheetgateAuth(req: Request, res: Response, next: NextFunction): Promise<void> | undefined {
    if (mode.kind !== 'enforce') {
      next();
      return undefined;
    }
    return failures === undefined ? authenticate(req, res, next) : throttled(req, res, next, failures);
  };
}

/**
 * Requires `scope` on the route (403 `insufficient_scope` otherwise). Keys without scopes have every application
 * scope but no reserved `sheetgate:` one; when auth is disabled or degraded there is no `req.auth` and the route is
 * open like every other.
 */
export function requireScope(scope: string): RequestHandler {
  return function sheetgateRequireScope(req: Request, res: Response, next: NextFunction): void {
    if (req.auth !== undefined && !hasScope(req.auth, scope)) {
      sendProblem(res, 'insufficient_scope', { scope, detail: `This route requires the scope "${scope}".` });
      return;
    }
    next();
  };
}
