import { TimeoutStrategy, timeout } from 'cockatiel';
import { executeThrough } from './abort.ts';
import { hasMarker } from './error-shape.ts';

const TIMEOUT_ERROR_MARKER: unique symbol = Symbol.for('gw.error.retry.timeout');

/**
 * Thrown by {@link withTimeout} (and by a retry policy's `attemptTimeoutMs`) when the call did not settle
 * in time. It has the shape `@gw/retry` reads: `kind: 'timeout'`, `retryable: true`.
 *
 * @example
 * ```ts
 * try { await withTimeout(call, 5_000); } catch (error) { if (isTimeoutError(error)) console.log(error.timeoutMs); }
 * ```
 */
export class TimeoutError extends Error {
  readonly [TIMEOUT_ERROR_MARKER] = true;
  override readonly name = 'TimeoutError';
  readonly kind = 'timeout';
  readonly retryable = true;
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`The call did not finish within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * True when `error` is a {@link TimeoutError}, also across duplicate installs of this package.
 *
 * @example
 * ```ts
 * if (isTimeoutError(error)) metrics.timeouts.inc();
 * ```
 */
export function isTimeoutError(error: unknown): error is TimeoutError {
  return hasMarker(error, TIMEOUT_ERROR_MARKER);
}

/** Options of {@link withTimeout}. */
export interface TimeoutOptions {
  /** The caller's signal: aborting it aborts the call, which then rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
}

/**
 * Runs `fn` with a time limit, on cockatiel's `timeout` policy (aggressive strategy: the promise rejects
 * at the deadline even if `fn` ignores its signal). When time is up, the signal given to `fn` is aborted
 * and the call rejects with a {@link TimeoutError}. The signal is *not* aborted when `fn` returns, so a
 * stream returned by `fn` keeps working after `withTimeout` resolved.
 *
 * @example
 * ```ts
 * const response = await withTimeout(({ signal }) => fetch(url, { signal }), 10_000, { signal: request.signal });
 * ```
 */
export async function withTimeout<T>(
  fn: (context: { signal: AbortSignal }) => Promise<T> | T,
  ms: number,
  options: TimeoutOptions = {},
): Promise<T> {
  const policy = timeout(ms, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false });
  let timedOut = false;
  // onTimeout also fires when the caller's signal aborts; executeThrough settles that case with the abort reason.
  const listener = policy.onTimeout(() => {
    timedOut = true;
  });
  try {
    return await executeThrough(policy, fn, options.signal, (error) => (timedOut ? new TimeoutError(ms) : error));
  } finally {
    listener.dispose();
  }
}

/** A reusable per-call time limit with the `execute(fn, { signal })` shape, for {@link wrapPolicies}. */
export interface TimeoutPolicy {
  execute<T>(fn: (context: { signal: AbortSignal }) => Promise<T> | T, options?: TimeoutOptions): Promise<T>;
}

/**
 * {@link withTimeout} as a policy object, so it can be nested with the others by `wrapPolicies`.
 *
 * @example
 * ```ts
 * const policy = wrapPolicies(createRetryPolicy(), createTimeoutPolicy(30_000));
 * await policy.execute(({ signal, attempt }) => provider.chat(request, { signal }));
 * ```
 */
export function createTimeoutPolicy(ms: number): TimeoutPolicy {
  return { execute: (fn, options) => withTimeout(fn, ms, options) };
}
