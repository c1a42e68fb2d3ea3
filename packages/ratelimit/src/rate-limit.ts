// The vocabulary shared by the rate limiter and its stores: what a limit is, what a take reports, and the
// contract a store keeps. The algorithms themselves live in the stores (memory-store.ts with sliding-log.ts,
// redis-scripts.ts), which must agree number for number; test-store-suite.ts holds them to that.

/**
 * What a limit counts: requests (each take costs `requests`, default 1) or tokens (each take costs `tokens`).
 *
 * @example
 * ```ts
 * const unit: RateLimitUnit = 'tokens';
 * ```
 */
export type RateLimitUnit = 'requests' | 'tokens';

/**
 * How a limit counts what was taken.
 * - `'sliding-window'` (default): exact. Each take is remembered (its time and amount) for `windowMs`; a take fits
 *   when what was taken in the last `windowMs` plus its cost is within `limit`. So `limit` units fit at once, no
 *   rolling window ever holds more than `limit`, and nothing is refused while less than `limit` was taken in the
 *   last `windowMs`. Costs one entry per take in the window.
 * - `'gcra'`: smooth, O(1). `limit` units fit at once, then capacity returns continuously (`windowMs / limit` per
 *   unit); nothing is refused while less than `limit` was taken in the last `windowMs`, but a rolling window can
 *   hold up to `2 × limit − 1`.
 * - `'fixed-window'`: counts per calendar window aligned to the Unix epoch (every UTC minute, hour, day) and
 *   starts again from zero when the window ends, for vendors that count that way (requests per day).
 *
 * @example
 * ```ts
 * const perDay: RateLimit = { scope: 'user:42', unit: 'requests', limit: 1000, windowMs: 86_400_000, algorithm: 'fixed-window' satisfies RateLimitAlgorithm };
 * ```
 */
export type RateLimitAlgorithm = 'sliding-window' | 'gcra' | 'fixed-window';

/** The algorithm of a limit that names none. */
export const DEFAULT_ALGORITHM: RateLimitAlgorithm = 'sliding-window';

/** The default window of a limit: one minute (RPM, TPM). */
export const DEFAULT_WINDOW_MS = 60_000;

/**
 * One limit to check: `limit` units of `unit` per `windowMs` for `scope`.
 *
 * @example
 * ```ts
 * const tpm: RateLimit = { scope: composeScope('key', keyId), unit: 'tokens', limit: 200_000 };
 * ```
 */
export interface RateLimit {
  /**
   * Whose limit it is: any string, e.g. from {@link composeScope}. Limits with the same scope, unit, algorithm
   * and window share one counter, whatever `limit` says (so a limit changed at runtime keeps its history).
   */
  readonly scope: string;
  readonly unit: RateLimitUnit;
  /** Units allowed per window; a number > 0. */
  readonly limit: number;
  /** The window in ms, an integer > 0. Default 60 000 (per minute); 86 400 000 is per (UTC) day. */
  readonly windowMs?: number | undefined;
  /** Default `'sliding-window'`. */
  readonly algorithm?: RateLimitAlgorithm | undefined;
}

/**
 * Where one limit stands after a take: enough for the `x-ratelimit-limit-*`, `x-ratelimit-remaining-*` and
 * `x-ratelimit-reset-*` headers of OpenAI (`-requests` or `-tokens` by `unit`).
 *
 * @example
 * ```ts
 * for (const state of lease.limits) headers[`x-ratelimit-remaining-${state.unit}`] = String(state.remaining);
 * ```
 */
export interface LimitState {
  readonly scope: string;
  readonly unit: RateLimitUnit;
  /** The limit per window. */
  readonly limit: number;
  /** Whole units that would fit right now (after this take when it was allowed); 0 when in debt. */
  readonly remaining: number;
  /**
   * Ms until the limit is whole again: until the newest take leaves the window (sliding-window), fully refilled
   * (gcra), or the window's end (fixed-window).
   */
  readonly resetMs: number;
}

/**
 * What one take costs, per unit.
 *
 * @example
 * ```ts
 * store.take(limits, { requests: 1, tokens: 800 } satisfies RateLimitAmounts);
 * ```
 */
export interface RateLimitAmounts {
  readonly requests: number;
  readonly tokens: number;
}

/**
 * A store's answer to a take: all limits debited, or none.
 *
 * @example
 * ```ts
 * const result: StoreTakeResult = await store.take(limits, { requests: 1, tokens: 0 });
 * if (!result.allowed) console.log(`retry in ${result.retryAfterMs} ms`);
 * ```
 */
export interface StoreTakeResult {
  readonly allowed: boolean;
  /** The store's clock at the take, in ms. Handed back to `adjust`, which corrects the window debited then. */
  readonly at: number;
  /** One state per limit, in the order of the limits. */
  readonly states: LimitState[];
  /** The limit whose wait is the longest when refused (the one to name in the error); -1 when allowed. */
  readonly refusedIndex: number;
  /** Ms until a retry can pass (0 when allowed); `Infinity` when the amount exceeds the limit itself. */
  readonly retryAfterMs: number;
}

/**
 * Where counters live. {@link createMemoryRateLimitStore} keeps them in this process,
 * {@link createRedisRateLimitStore} in Redis, shared by every process that uses the same Redis and prefix.
 * Both obey the same test suite.
 *
 * @example
 * ```ts
 * const store: RateLimitStore = process.env.REDIS_URL
 *   ? createRedisRateLimitStore({ client: new Redis(process.env.REDIS_URL) })
 *   : createMemoryRateLimitStore();
 * ```
 */
export interface RateLimitStore {
  /**
   * Checks every limit and debits all of them if all have room, atomically; debits none otherwise. An error
   * (thrown or rejected) means the store could not decide, except a `RangeError`, which means the input cannot
   * be served by this store (the limiter passes it on instead of failing open).
   */
  take(
    limits: readonly RateLimit[],
    amounts: RateLimitAmounts,
    signal?: AbortSignal,
  ): StoreTakeResult | Promise<StoreTakeResult>;
  /**
   * Adds `delta` units (negative: a refund) to each limit, as if the take at `at` had cost that much more. A take
   * that has left its window since `at` (sliding-window) or whose fixed window has ended is left alone. Never makes
   * a limit more than whole.
   */
  adjust(limits: readonly RateLimit[], delta: number, at: number, signal?: AbortSignal): void | Promise<void>;
}

// Tolerances for float arithmetic, the same in both stores. A take that exactly fills a limit (7 takes of 1 unit
// drained at 7 per minute) must not be refused for a rounding error in the last bit.
/** Slack in ms when rounding a duration (59 999.9999 ms is 60 000). */
export const TIME_EPSILON_MS = 0.001;

/** Slack in units when comparing with `limit` or flooring a remaining count (6.9999999 left is 7). */
export function unitSlack(limit: number): number {
  return 1e-6 + limit * 1e-12;
}

/** Throws a `RangeError` naming the first field of `limits` or `amounts` that is out of range. */
export function checkTake(limits: readonly RateLimit[], amounts: RateLimitAmounts): void {
  checkAmount('requests', amounts.requests);
  checkAmount('tokens', amounts.tokens);
  for (const limit of limits) {
    if (typeof limit.scope !== 'string') throw new RangeError(`a limit's scope must be a string`);
    if (limit.unit !== 'requests' && limit.unit !== 'tokens') {
      throw new RangeError(`unit must be 'requests' or 'tokens', got ${String(limit.unit)}`);
    }
    if (!(limit.limit > 0) || !Number.isFinite(limit.limit)) {
      throw new RangeError(`limit must be a finite number > 0, got ${limit.limit} for ${limit.scope}`);
    }
    const windowMs = limit.windowMs;
    if (windowMs !== undefined && (!Number.isSafeInteger(windowMs) || windowMs <= 0)) {
      throw new RangeError(`windowMs must be an integer > 0, got ${windowMs} for ${limit.scope}`);
    }
    const algorithm = limit.algorithm;
    if (
      algorithm !== undefined &&
      algorithm !== 'sliding-window' &&
      algorithm !== 'gcra' &&
      algorithm !== 'fixed-window'
    ) {
      throw new RangeError(`algorithm must be 'sliding-window', 'gcra' or 'fixed-window', got ${String(algorithm)}`);
    }
  }
}

function checkAmount(name: string, amount: number): void {
  if (!(amount >= 0) || !Number.isFinite(amount)) {
    throw new RangeError(`${name} must be a finite number >= 0, got ${amount}`);
  }
}
