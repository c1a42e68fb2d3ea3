import { hasMarker } from './queue-errors.ts';
import type { LimitState, RateLimitUnit } from './rate-limit.ts';

// Symbol.for, so the guards also recognise errors from a second copy of this package in node_modules.
const RATE_LIMITED_MARKER: unique symbol = Symbol.for('gw.error.rate-limited');
const RATE_LIMIT_UNAVAILABLE_MARKER: unique symbol = Symbol.for('gw.error.rate-limit-unavailable');

// A scope can be anything a caller composed; an error message echoing a megabyte of it would be a leak of its own.
const MAX_SCOPE_IN_MESSAGE = 200;

/**
 * Thrown (as a rejection of `take`) when a limit has no room. It reads like a vendor's 429: `kind: 'rate_limit'`,
 * `status: 429`, and `retryAfterMs` for a `retry-after` header. Nothing was debited, from any limit of the take.
 *
 * When the amount alone is larger than the whole limit (a 200 000-token request against 100 000 tokens per minute),
 * waiting cannot help: `retryable` is false and `retryAfterMs` is undefined, as OpenAI's "Request too large".
 *
 * @example
 * ```ts
 * try {
 *   lease = await limiter.take(limits, { tokens: estimate });
 * } catch (error) {
 *   if (!isRateLimitedError(error)) throw error;
 *   const headers: Record<string, string> = {};
 *   if (error.retryAfterMs !== undefined) headers['retry-after'] = String(Math.ceil(error.retryAfterMs / 1000));
 *   return new Response(error.message, { status: error.status, headers });
 * }
 * ```
 */
export class RateLimitedError extends Error {
  readonly [RATE_LIMITED_MARKER] = true;
  override readonly name = 'RateLimitedError';
  readonly kind = 'rate_limit';
  readonly status = 429;
  /** False only when the amount exceeds the limit itself, so that no wait would let it through. */
  readonly retryable: boolean;
  /** Ms until the same take would pass, if nothing else is taken meanwhile; undefined when it never can. */
  readonly retryAfterMs: number | undefined;
  /** The scope of the limit that refused (the one with the longest wait when several did). */
  readonly scope: string;
  readonly unit: RateLimitUnit;
  /** That limit's size per window. */
  readonly limit: number;
  /** Every limit of the take as it stands (nothing debited), in the order given: for `x-ratelimit-*` headers. */
  readonly limits: readonly LimitState[];

  constructor(options: {
    scope: string;
    unit: RateLimitUnit;
    limit: number;
    windowMs: number;
    retryAfterMs: number | undefined;
    limits: readonly LimitState[];
  }) {
    const scope =
      options.scope.length > MAX_SCOPE_IN_MESSAGE ? `${options.scope.slice(0, MAX_SCOPE_IN_MESSAGE)}…` : options.scope;
    const per = `${options.limit} ${options.unit} per ${formatWindow(options.windowMs)} for ${scope}`;
    super(
      options.retryAfterMs === undefined
        ? `the amount asked exceeds the whole rate limit of ${per}`
        : `rate limit of ${per} reached; retry in ${Math.ceil(options.retryAfterMs)} ms`,
    );
    this.retryable = options.retryAfterMs !== undefined;
    this.retryAfterMs = options.retryAfterMs;
    this.scope = options.scope;
    this.unit = options.unit;
    this.limit = options.limit;
    this.limits = options.limits;
  }
}

/**
 * True when `error` is a {@link RateLimitedError}, also across duplicate installs of this package.
 *
 * @example
 * ```ts
 * if (isRateLimitedError(error)) metrics.increment('rate_limited', { unit: error.unit });
 * ```
 */
export function isRateLimitedError(error: unknown): error is RateLimitedError {
  return hasMarker(error, RATE_LIMITED_MARKER);
}

/**
 * Thrown by a limiter with `failMode: 'closed'` when its store could not decide (Redis down, or slower than its
 * timeout). Shaped like a 503 (`kind: 'overloaded'`, retryable): the request was not judged, not refused. The
 * store's error is the `cause`.
 *
 * @example
 * ```ts
 * if (isRateLimitUnavailableError(error)) return new Response('limits unavailable, try again', { status: 503 });
 * ```
 */
export class RateLimitUnavailableError extends Error {
  readonly [RATE_LIMIT_UNAVAILABLE_MARKER] = true;
  override readonly name = 'RateLimitUnavailableError';
  readonly kind = 'overloaded';
  readonly status = 503;
  readonly retryable = true;

  constructor(options: { cause: unknown }) {
    super('the rate limit store is unavailable', { cause: options.cause });
  }
}

/**
 * True when `error` is a {@link RateLimitUnavailableError}, also across duplicate installs of this package.
 *
 * @example
 * ```ts
 * if (isRateLimitUnavailableError(error)) metrics.increment('rate_limit_store_down');
 * ```
 */
export function isRateLimitUnavailableError(error: unknown): error is RateLimitUnavailableError {
  return hasMarker(error, RATE_LIMIT_UNAVAILABLE_MARKER);
}

const WINDOW_NAMES: ReadonlyMap<number, string> = new Map([
  [1000, 'second'],
  [60_000, 'minute'],
  [3_600_000, 'hour'],
  [86_400_000, 'day'],
]);

function formatWindow(windowMs: number): string {
  return WINDOW_NAMES.get(windowMs) ?? `${windowMs} ms`;
}
