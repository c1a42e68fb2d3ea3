import {
  checkTake,
  DEFAULT_WINDOW_MS,
  type LimitState,
  type RateLimit,
  type RateLimitAmounts,
  type RateLimitStore,
  type RateLimitUnit,
  type StoreTakeResult,
} from './rate-limit.ts';
import { RateLimitedError, RateLimitUnavailableError } from './rate-limit-errors.ts';

// Handed out by settles that have nothing left to wait for; awaiting a settled promise twice is harmless.
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * What a limiter does when its store cannot decide: let the request through (`'open'`) or refuse it (`'closed'`).
 *
 * @example
 * ```ts
 * const failMode: FailMode = process.env.RATE_LIMITS_STRICT === '1' ? 'closed' : 'open';
 * ```
 */
export type FailMode = 'open' | 'closed';

/**
 * What a rate limiter reports through `onEvent`, for metrics and logs (the library itself never logs).
 *
 * @example
 * ```ts
 * const onEvent = (event: RateLimiterEvent): void => {
 *   if (event.type === 'store_down') logger.error({ err: event.error }, 'rate limits unavailable');
 * };
 * ```
 */
export type RateLimiterEvent =
  | {
      type: 'refused';
      scope: string;
      unit: RateLimitUnit;
      /** Undefined when the amount exceeds the whole limit. */
      retryAfterMs: number | undefined;
    }
  /** The store failed after working (or at its first call): once per outage, however many calls fail in it. */
  | { type: 'store_down'; error: unknown }
  /** The store answered again: `downMs` after `store_down`, with `errors` failed calls in between. */
  | { type: 'store_up'; downMs: number; errors: number };

/**
 * Options of {@link createRateLimiter}.
 *
 * @example
 * ```ts
 * const options: RateLimiterOptions = { store: createMemoryRateLimitStore(), failMode: 'closed' };
 * ```
 */
export interface RateLimiterOptions {
  store: RateLimitStore;
  /**
   * When the store fails (Redis down or slow): `'open'` (default) lets requests through uncounted, `'closed'`
   * refuses them with a `RateLimitUnavailableError` (503). Either way the outage is reported once and counted.
   */
  failMode?: FailMode | undefined;
  /** Called synchronously; it must not throw (an error it throws is re-thrown on a microtask). */
  onEvent?: ((event: RateLimiterEvent) => void) | undefined;
  /** Clock for `downMs`, in ms. Default `Date.now`. */
  now?: (() => number) | undefined;
}

/**
 * Options of one {@link RateLimiter.take}.
 *
 * @example
 * ```ts
 * await limiter.take(limits, { requests: 1, tokens: promptTokens + maxTokens, signal } satisfies TakeOptions);
 * ```
 */
export interface TakeOptions {
  /** What the take costs against `requests` limits; default 1. */
  requests?: number | undefined;
  /** What it costs against `tokens` limits: an estimate, corrected by `lease.settle(actual)`. Default 0. */
  tokens?: number | undefined;
  /** Aborting it while the store answers rejects the take with the abort reason. */
  signal?: AbortSignal | undefined;
}

/**
 * What an allowed take returns: the limits as they stand, and the way to correct the token estimate.
 *
 * @example
 * ```ts
 * const lease: RateLimitLease = await limiter.take(limits, { tokens: 1200 });
 * await lease.settle(usage.total_tokens);
 * ```
 */
export interface RateLimitLease {
  /** One state per limit, in the order given (empty when `degraded`). */
  readonly limits: readonly LimitState[];
  /** True when the store failed and the limiter failed open: nothing was counted, `settle` does nothing. */
  readonly degraded: boolean;
  /**
   * Corrects the `tokens` limits of the take from the estimate to `actualTokens`: a refund when fewer were used,
   * an extra debit (possibly into debt, refusing later takes until repaid) when more. Only the first call counts.
   * A lease never settled keeps its estimate. Never rejects for a store failure (that is counted and reported);
   * rejects with a `RangeError` for an amount that is not a finite number >= 0.
   */
  settle(actualTokens: number, options?: { signal?: AbortSignal | undefined }): Promise<void>;
}

/**
 * Counters since the limiter was created.
 *
 * @example
 * ```ts
 * const { refused, storeDown }: RateLimiterStats = limiter.stats();
 * ```
 */
export interface RateLimiterStats {
  allowed: number;
  refused: number;
  /** Takes let through uncounted because the store failed (`failMode: 'open'`). */
  failedOpen: number;
  /** Takes refused because the store failed (`failMode: 'closed'`). */
  failedClosed: number;
  /** Store calls that failed: takes and settles. */
  storeErrors: number;
  /** Outages: `store_down` events. */
  outages: number;
  /** Whether the last store call failed. */
  storeDown: boolean;
}

/**
 * Checks and debits RPM/TPM-style limits. Create it with {@link createRateLimiter}.
 *
 * @example
 * ```ts
 * const limiter: RateLimiter = createRateLimiter({ store: createMemoryRateLimitStore() });
 * await limiter.take([{ scope: 'ip:203.0.113.7', unit: 'requests', limit: 120 }]);
 * ```
 */
export interface RateLimiter {
  /**
   * Checks every limit and debits all of them (`requests` limits by `options.requests`, `tokens` limits by
   * `options.tokens`) if all have room; otherwise debits none and rejects with a `RateLimitedError`. Invalid
   * limits or amounts reject with a `RangeError`.
   */
  take(limits: readonly RateLimit[], options?: TakeOptions): Promise<RateLimitLease>;
  stats(): RateLimiterStats;
}

/**
 * Creates a rate limiter over a store (memory or Redis). Limits are given per take, so each caller (an API key,
 * a user, an IP) can have its own, and several limits of different scopes are checked together, all or nothing.
 *
 * @example
 * ```ts
 * const limiter = createRateLimiter({ store: createMemoryRateLimitStore() });
 * const limits: RateLimit[] = [
 *   { scope: composeScope('key', keyId), unit: 'requests', limit: 600 },
 *   { scope: composeScope('key', keyId), unit: 'tokens', limit: 200_000 },
 * ];
 * const lease = await limiter.take(limits, { tokens: estimatedTokens }); // or a RateLimitedError (429)
 * const response = await callModel();
 * await lease.settle(response.usage.total_tokens);
 * ```
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const store = options.store;
  const failMode = options.failMode ?? 'open';
  const onEvent = options.onEvent;
  const now = options.now ?? Date.now;
  if (failMode !== 'open' && failMode !== 'closed') {
    throw new RangeError(`failMode must be 'open' or 'closed', got ${String(failMode)}`);
  }

  const stats: RateLimiterStats = {
    allowed: 0,
    refused: 0,
    failedOpen: 0,
    failedClosed: 0,
    storeErrors: 0,
    outages: 0,
    storeDown: false,
  };
  let downSince = 0;
  let errorsWhileDown = 0;

  function emit(event: RateLimiterEvent): void {
    if (onEvent === undefined) return;
    try {
      onEvent(event);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  function storeAnswered(): void {
    if (!stats.storeDown) return;
    stats.storeDown = false;
    emit({ type: 'store_up', downMs: now() - downSince, errors: errorsWhileDown });
  }

  function storeFailed(error: unknown): void {
    stats.storeErrors += 1;
    if (stats.storeDown) {
      errorsWhileDown += 1;
      return;
    }
    stats.storeDown = true;
    stats.outages += 1;
    downSince = now();
    errorsWhileDown = 1;
    emit({ type: 'store_down', error });
  }

  // The lease of a take, as a class: one per allowed request, so its shape is shared and it holds no closures.
  class Lease implements RateLimitLease {
    readonly limits: readonly LimitState[];
    readonly degraded: boolean;
    #pending: boolean;
    readonly #taken: readonly RateLimit[];
    readonly #estimate: number;
    readonly #at: number;

    constructor(taken: readonly RateLimit[], estimate: number, result: StoreTakeResult | undefined) {
      this.limits = result === undefined ? [] : result.states;
      this.degraded = result === undefined;
      this.#pending = result !== undefined;
      this.#taken = taken;
      this.#estimate = estimate;
      this.#at = result === undefined ? 0 : result.at;
    }

    settle(actualTokens: number, settleOptions?: { signal?: AbortSignal | undefined }): Promise<void> {
      if (!(actualTokens >= 0) || !Number.isFinite(actualTokens)) {
        return Promise.reject(new RangeError(`actualTokens must be a finite number >= 0, got ${actualTokens}`));
      }
      if (!this.#pending) return RESOLVED;
      this.#pending = false;
      const delta = actualTokens - this.#estimate;
      if (delta === 0) return RESOLVED;
      const tokenLimits = this.#taken.filter((limit) => limit.unit === 'tokens');
      if (tokenLimits.length === 0) return RESOLVED;
      const signal = settleOptions?.signal;
      const failed = (error: unknown): void => {
        if (signal?.aborted === true && error === signal.reason) return;
        storeFailed(error);
      };
      try {
        const answer = store.adjust(tokenLimits, delta, this.#at, signal);
        // The memory store adjusts synchronously: no promise to wait for.
        if (answer instanceof Promise) return answer.then(storeAnswered, failed);
        storeAnswered();
      } catch (error) {
        failed(error);
      }
      return RESOLVED;
    }
  }

  function decide(limits: readonly RateLimit[], tokens: number, result: StoreTakeResult): RateLimitLease {
    storeAnswered();
    if (result.allowed) {
      stats.allowed += 1;
      return new Lease(limits, tokens, result);
    }
    stats.refused += 1;
    const refused = limits[result.refusedIndex] as RateLimit;
    const retryAfterMs = result.retryAfterMs === Infinity ? undefined : result.retryAfterMs;
    emit({ type: 'refused', scope: refused.scope, unit: refused.unit, retryAfterMs });
    throw new RateLimitedError({
      scope: refused.scope,
      unit: refused.unit,
      limit: refused.limit,
      windowMs: refused.windowMs ?? DEFAULT_WINDOW_MS,
      retryAfterMs,
      limits: result.states,
    });
  }

  function fail(limits: readonly RateLimit[], tokens: number, error: unknown, signal?: AbortSignal): RateLimitLease {
    // The caller's own abort, and input this store cannot serve, are answers for the caller, not an outage.
    if (signal?.aborted === true && error === signal.reason) throw error;
    if (error instanceof RangeError) throw error;
    storeFailed(error);
    if (failMode === 'closed') {
      stats.failedClosed += 1;
      throw new RateLimitUnavailableError({ cause: error });
    }
    stats.failedOpen += 1;
    return new Lease(limits, tokens, undefined);
  }

  function take(limits: readonly RateLimit[], takeOptions: TakeOptions = {}): Promise<RateLimitLease> {
    const amounts: RateLimitAmounts = { requests: takeOptions.requests ?? 1, tokens: takeOptions.tokens ?? 0 };
    const signal = takeOptions.signal;
    let answer: StoreTakeResult | Promise<StoreTakeResult>;
    try {
      checkTake(limits, amounts);
      if (signal?.aborted === true) throw signal.reason;
    } catch (error) {
      return Promise.reject(error);
    }
    try {
      answer = store.take(limits, amounts, signal);
    } catch (error) {
      try {
        return Promise.resolve(fail(limits, amounts.tokens, error, signal));
      } catch (failure) {
        return Promise.reject(failure);
      }
    }
    if (answer instanceof Promise) {
      return answer.then(
        (result) => decide(limits, amounts.tokens, result),
        (error: unknown) => fail(limits, amounts.tokens, error, signal),
      );
    }
    // The memory store answers synchronously: deciding now saves a promise turn on every request.
    try {
      return Promise.resolve(decide(limits, amounts.tokens, answer));
    } catch (refusal) {
      return Promise.reject(refusal);
    }
  }

  return { take, stats: () => ({ ...stats }) };
}
