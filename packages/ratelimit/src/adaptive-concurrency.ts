import type { ConcurrencyLimiter } from './concurrency-limiter.ts';
import { isLimiterStoppedError, isQueueFullError, isQueueTimeoutError } from './queue-errors.ts';
import { isRateLimitedError, isRateLimitUnavailableError } from './rate-limit-errors.ts';

// AIMD, as TCP does it: a sign of overload halves the limit (multiplicative decrease), each success adds
// 1/limit to it, so a full round of `limit` successes adds one call (additive increase). Overloads that arrive
// together (every call in flight answering 429 at once) are one event, not eight halvings: after a decrease,
// further overloads are ignored for `cooldownMs`. The limit grows only while it is being used, otherwise a quiet
// deployment would drift to `max` and learn nothing.

/**
 * Defaults of {@link AdaptiveConcurrencyOptions}.
 *
 * @example
 * ```ts
 * console.log(`halves on overload: ${ADAPTIVE_CONCURRENCY_DEFAULTS.decreaseFactor}`);
 * ```
 */
export const ADAPTIVE_CONCURRENCY_DEFAULTS = {
  min: 1,
  decreaseFactor: 0.5,
  increaseBy: 1,
  cooldownMs: 1000,
  name: 'adaptive',
} as const;

/**
 * Why the limit went down.
 *
 * @example
 * ```ts
 * const reason: OverloadReason | undefined = adaptive.recordError(error);
 * ```
 */
export type OverloadReason = 'rate_limit' | 'overloaded' | 'timeout';

/**
 * What an adaptive limit reports through `onEvent`: one event per change of the whole-number limit.
 *
 * @example
 * ```ts
 * const onEvent = (event: AdaptiveConcurrencyEvent): void => gauge.set({ deployment: event.name }, event.to);
 * ```
 */
export type AdaptiveConcurrencyEvent =
  | { type: 'decrease'; name: string; from: number; to: number; reason: OverloadReason }
  | { type: 'increase'; name: string; from: number; to: number };

/**
 * Options of {@link createAdaptiveConcurrency}.
 *
 * @example
 * ```ts
 * const options: AdaptiveConcurrencyOptions = { limiter, min: 2, max: 64, cooldownMs: 2000 };
 * ```
 */
export interface AdaptiveConcurrencyOptions {
  /** The largest limit, an integer >= `min`. */
  max: number;
  /** The smallest limit, an integer >= 1. Default 1. */
  min?: number | undefined;
  /** The starting limit, between `min` and `max`. Default: the limiter's `maxConcurrency`, else `max`. */
  initial?: number | undefined;
  /** Multiplies the limit on overload, a number in (0, 1). Default 0.5. */
  decreaseFactor?: number | undefined;
  /** What a full round of successes (as many as the limit) adds, a number > 0. Default 1. */
  increaseBy?: number | undefined;
  /** After a decrease, overloads within this many ms are part of the same event. Default 1000. */
  cooldownMs?: number | undefined;
  /**
   * The concurrency limiter to steer: its `maxConcurrency` follows the limit (via `setMaxConcurrency`), and the
   * limit grows only while at least half of it is in use (running + queued).
   */
  limiter?: ConcurrencyLimiter | undefined;
  /** Labels events and the snapshot, e.g. the deployment id. Default: the limiter's name, else `'adaptive'`. */
  name?: string | undefined;
  /** Clock in ms for the cooldown. Default `Date.now`. */
  now?: (() => number) | undefined;
  /** Called synchronously on each change; it must not throw (an error it throws is re-thrown on a microtask). */
  onEvent?: ((event: AdaptiveConcurrencyEvent) => void) | undefined;
}

/**
 * The state of an adaptive limit, for a health view.
 *
 * @example
 * ```ts
 * const health: AdaptiveConcurrencySnapshot = adaptive.snapshot(); // { limit: 12, min: 2, max: 64, ... }
 * ```
 */
export interface AdaptiveConcurrencySnapshot {
  name: string;
  /** The whole-number limit in force. */
  limit: number;
  /** The limit with its fraction (successes add fractions). */
  value: number;
  min: number;
  max: number;
  increases: number;
  decreases: number;
  /** The reason of the last decrease, if any. */
  lastDecrease: OverloadReason | undefined;
}

/**
 * A concurrency limit that adapts to the upstream. Create it with {@link createAdaptiveConcurrency}.
 *
 * @example
 * ```ts
 * const adaptive: AdaptiveConcurrency = createAdaptiveConcurrency({ max: 32 });
 * adaptive.recordOverload('rate_limit');
 * ```
 */
export interface AdaptiveConcurrency {
  /** The whole-number limit in force now. */
  readonly limit: number;
  /** Records a call that succeeded (or failed for a reason that says nothing about load, like a 400). */
  recordSuccess(): void;
  /** Records a sign of overload: the limit goes down unless it already did within `cooldownMs`. */
  recordOverload(reason: OverloadReason): void;
  /**
   * Records a failed call by its error's shape: `kind` `rate_limit` / `overloaded` / `timeout`, or else `status`
   * 429, 503, 529 (Anthropic's overloaded) or 504, or a `TimeoutError` is an overload; anything else (a 400, a
   * `quota` 429, an abort, this package's own refusals, which say nothing about the upstream) is recorded as
   * nothing. Returns the reason when it was an overload.
   */
  recordError(error: unknown): OverloadReason | undefined;
  snapshot(): AdaptiveConcurrencySnapshot;
}

/**
 * Creates an AIMD concurrency limit: lowered on upstream 429 / 529 / timeouts, raised slowly on success, within
 * `[min, max]`, optionally steering a {@link ConcurrencyLimiter}'s `maxConcurrency` (queued calls are never dropped
 * when it shrinks).
 *
 * @example
 * ```ts
 * const limiter = createConcurrencyLimiter({ name: 'openai', maxConcurrency: 16 });
 * const adaptive = createAdaptiveConcurrency({ limiter, min: 2, max: 64, onEvent: (event) => metrics.record(event) });
 *
 * async function call(request: Request): Promise<Response> {
 *   try {
 *     const response = await limiter.run(() => fetch(request));
 *     if (response.status === 429 || response.status === 529) adaptive.recordOverload('rate_limit');
 *     else adaptive.recordSuccess();
 *     return response;
 *   } catch (error) {
 *     adaptive.recordError(error);
 *     throw error;
 *   }
 * }
 * ```
 */
export function createAdaptiveConcurrency(options: AdaptiveConcurrencyOptions): AdaptiveConcurrency {
  const limiter = options.limiter;
  const max = options.max;
  const min = options.min ?? ADAPTIVE_CONCURRENCY_DEFAULTS.min;
  const decreaseFactor = options.decreaseFactor ?? ADAPTIVE_CONCURRENCY_DEFAULTS.decreaseFactor;
  const increaseBy = options.increaseBy ?? ADAPTIVE_CONCURRENCY_DEFAULTS.increaseBy;
  const cooldownMs = options.cooldownMs ?? ADAPTIVE_CONCURRENCY_DEFAULTS.cooldownMs;
  const name = options.name ?? limiter?.name ?? ADAPTIVE_CONCURRENCY_DEFAULTS.name;
  const now = options.now ?? Date.now;
  const onEvent = options.onEvent;
  const initial = options.initial ?? Math.min(max, limiter?.maxConcurrency ?? max);

  if (!Number.isInteger(min) || min < 1) throw new RangeError(`min must be an integer >= 1, got ${min}`);
  if (!Number.isInteger(max) || max < min) throw new RangeError(`max must be an integer >= min (${min}), got ${max}`);
  if (!(initial >= min && initial <= max)) {
    throw new RangeError(`initial must be between min (${min}) and max (${max}), got ${initial}`);
  }
  if (!(decreaseFactor > 0 && decreaseFactor < 1)) {
    throw new RangeError(`decreaseFactor must be a number between 0 and 1, got ${decreaseFactor}`);
  }
  if (!(increaseBy > 0) || !Number.isFinite(increaseBy)) {
    throw new RangeError(`increaseBy must be a finite number > 0, got ${increaseBy}`);
  }
  if (!(cooldownMs >= 0)) throw new RangeError(`cooldownMs must be a number >= 0, got ${cooldownMs}`);

  let value = initial;
  let limit = Math.floor(initial);
  let increases = 0;
  let decreases = 0;
  let lastDecrease: OverloadReason | undefined;
  let lastDecreaseAt = -Infinity;
  limiter?.setMaxConcurrency(limit);

  function emit(event: AdaptiveConcurrencyEvent): void {
    if (onEvent === undefined) return;
    try {
      onEvent(event);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  function apply(next: number): number {
    const from = limit;
    value = next;
    // Fractions added one success at a time land a hair under the whole number (5.999999999999999).
    limit = Math.floor(next + 1e-9);
    if (limit !== from) limiter?.setMaxConcurrency(limit);
    return from;
  }

  function recordSuccess(): void {
    if (value >= max) return;
    // Growing an unused limit teaches nothing: only when at least half of it is busy (the call just ended
    // included, since it usually released its slot before being recorded).
    if (limiter !== undefined && (limiter.running + limiter.queued + 1) * 2 < limit) return;
    const from = apply(Math.min(max, value + increaseBy / limit));
    if (limit === from) return;
    increases += 1;
    emit({ type: 'increase', name, from, to: limit });
  }

  function recordOverload(reason: OverloadReason): void {
    const at = now();
    if (at - lastDecreaseAt < cooldownMs) return;
    lastDecreaseAt = at;
    lastDecrease = reason;
    const from = apply(Math.max(min, Math.floor(value * decreaseFactor)));
    if (limit === from) return;
    decreases += 1;
    emit({ type: 'decrease', name, from, to: limit, reason });
  }

  function recordError(error: unknown): OverloadReason | undefined {
    const reason = overloadReasonOf(error);
    if (reason !== undefined) recordOverload(reason);
    return reason;
  }

  return {
    // eslint-disable-next-line no-restricted-syntax -- one per deployment, built at start.
    get limit() {
      return limit;
    },
    recordSuccess,
    recordOverload,
    recordError,
    snapshot: () => ({ name, limit, value, min, max, increases, decreases, lastDecrease }),
  };
}

const OVERLOAD_BY_STATUS: ReadonlyMap<number, OverloadReason> = new Map([
  [429, 'rate_limit'],
  [503, 'overloaded'],
  // Anthropic's "overloaded_error".
  [529, 'overloaded'],
  [504, 'timeout'],
]);

function overloadReasonOf(error: unknown): OverloadReason | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  // Our own refusals are local: a full queue or a spent rate limit is not the upstream pushing back.
  if (isQueueFullError(error) || isQueueTimeoutError(error) || isLimiterStoppedError(error)) return undefined;
  if (isRateLimitedError(error) || isRateLimitUnavailableError(error)) return undefined;
  const kind: unknown = Reflect.get(error, 'kind');
  if (typeof kind === 'string') {
    // A kind is the thrower's own verdict; `quota` (a 429 for an empty balance) and the rest say nothing of load.
    return kind === 'rate_limit' || kind === 'overloaded' || kind === 'timeout' ? kind : undefined;
  }
  const status: unknown = Reflect.get(error, 'status');
  if (typeof status === 'number') return OVERLOAD_BY_STATUS.get(status);
  return Reflect.get(error, 'name') === 'TimeoutError' ? 'timeout' : undefined;
}
