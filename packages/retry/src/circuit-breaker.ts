import {
  CircuitState,
  ConsecutiveBreaker,
  SamplingBreaker,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError as isCockatielBrokenCircuitError,
  isIsolatedCircuitError,
} from 'cockatiel';
import type { IBreaker } from 'cockatiel';
import { executeThrough } from './abort.ts';
import type { ExecuteOptions } from './retry-policy.ts';
import { isRetryable } from './is-retryable.ts';
import { hasMarker } from './error-shape.ts';

const BROKEN_CIRCUIT_ERROR_MARKER: unique symbol = Symbol.for('gw.error.retry.broken-circuit');

/**
 * Thrown by an open (or isolated) circuit breaker without calling `fn`. It reads as a retryable overload:
 * `kind: 'overloaded'`, `retryable: true`, and `retryAfterMs` = the time until the breaker lets a
 * half-open probe through. While the breaker is held open by `isolate()` there is no such time:
 * `retryAfterMs` is undefined and `retryable` false, so a retry gives up at once (a fallback moves on).
 *
 * @example
 * ```ts
 * if (isBrokenCircuitError(error)) return tryNextDeployment();
 * ```
 */
export class BrokenCircuitError extends Error {
  readonly [BROKEN_CIRCUIT_ERROR_MARKER] = true;
  override readonly name = 'BrokenCircuitError';
  readonly kind = 'overloaded';
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  /** True when the breaker is held open by `isolate()`. */
  readonly isolated: boolean;

  constructor(options: { retryAfterMs: number | undefined; isolated: boolean }) {
    super(
      options.isolated
        ? 'The circuit breaker is held open (isolated)'
        : `The circuit breaker is open; next probe in ${options.retryAfterMs ?? 0} ms`,
    );
    this.retryAfterMs = options.retryAfterMs;
    this.isolated = options.isolated;
    this.retryable = !options.isolated;
  }
}

/**
 * True when `error` is a {@link BrokenCircuitError}, also across duplicate installs of this package.
 *
 * @example
 * ```ts
 * if (isBrokenCircuitError(error)) console.log('skip for', error.retryAfterMs, 'ms');
 * ```
 */
export function isBrokenCircuitError(error: unknown): error is BrokenCircuitError {
  return hasMarker(error, BROKEN_CIRCUIT_ERROR_MARKER);
}

/**
 * `closed`: calls go through. `open`: calls are rejected with {@link BrokenCircuitError} (also while
 * held by `isolate()`). `halfOpen`: one probe call is running; its result closes or re-opens the breaker.
 */
export type CircuitBreakerState = 'closed' | 'open' | 'halfOpen';

/** Opens after `threshold` counted failures in a row. */
export interface ConsecutiveBreakerMode {
  mode: 'consecutive';
  threshold: number;
}

/**
 * Opens when more than `threshold` (between 0 and 1, exclusive) of the calls in the last `windowMs`
 * failed, once there is enough traffic: `minimumCalls` in the window, or `minimumRps` calls per second.
 * Without either, cockatiel's default applies: enough calls for 5 failures per second at the threshold.
 */
export interface RateBreakerMode {
  mode: 'rate';
  threshold: number;
  windowMs: number;
  minimumRps?: number | undefined;
  minimumCalls?: number | undefined;
}

/** Options of {@link createCircuitBreaker}. */
export type CircuitBreakerOptions = (ConsecutiveBreakerMode | RateBreakerMode) & {
  /** How long the breaker stays open before it lets one probe through. Default 10 000 ms. */
  halfOpenAfterMs?: number | undefined;
  /** Which errors count as failures. Default {@link isRetryable}: a 400 or a quota error never opens it. */
  shouldCount?: ((error: unknown) => boolean) | undefined;
};

/** Passed to `onStateChange` listeners. */
export interface CircuitStateChange {
  state: CircuitBreakerState;
  previousState: CircuitBreakerState;
  /** The failure that opened the breaker (on a change to `open`, except by `isolate()`). */
  error?: unknown;
}

/** Counters since the breaker was created. */
export interface CircuitBreakerStats {
  /** Calls of `fn` that resolved. */
  successes: number;
  /** Calls of `fn` that failed with a counted error. */
  failures: number;
  /** Calls of `fn` that failed with an error `shouldCount` ignored. */
  ignoredErrors: number;
  /** Calls rejected with {@link BrokenCircuitError} without calling `fn`. */
  rejections: number;
  /** Times the breaker opened. */
  opens: number;
}

/** A circuit breaker; share one per upstream (deployment), it is stateful. */
export interface CircuitBreaker {
  /** Runs `fn` unless the breaker is open; rejects with {@link BrokenCircuitError} when it is. */
  execute<T>(fn: (context: { signal: AbortSignal }) => Promise<T> | T, options?: ExecuteOptions): Promise<T>;
  readonly state: CircuitBreakerState;
  /** Calls `listener` on every state change; returns the function that removes it. */
  onStateChange(listener: (change: CircuitStateChange) => void): () => void;
  /** Holds the breaker open until the returned handle is disposed (e.g. a deployment taken out by hand). */
  isolate(): { dispose(): void };
  stats(): CircuitBreakerStats;
}

function stateName(state: CircuitState): CircuitBreakerState {
  switch (state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.HalfOpen:
      return 'halfOpen';
    case CircuitState.Open:
    case CircuitState.Isolated:
      return 'open';
  }
}

function createBreaker(options: ConsecutiveBreakerMode | RateBreakerMode): IBreaker {
  if (options.mode === 'consecutive') {
    if (!Number.isInteger(options.threshold) || options.threshold < 1) {
      throw new RangeError(`consecutive breaker threshold must be a positive integer, got ${options.threshold}`);
    }
    return new ConsecutiveBreaker(options.threshold);
  }
  if (!(options.windowMs > 0)) throw new RangeError(`rate breaker windowMs must be positive, got ${options.windowMs}`);
  const { threshold, windowMs } = options;
  const minimumRps =
    options.minimumRps ?? (options.minimumCalls === undefined ? undefined : options.minimumCalls / (windowMs / 1000));
  const create = (): SamplingBreaker =>
    new SamplingBreaker({ threshold, duration: windowMs, ...(minimumRps === undefined ? {} : { minimumRps }) });
  // cockatiel's SamplingBreaker moves its ring of sub-windows by one slot per call, so after a quiet spell
  // failures older than the window still count (three failures an hour ago plus one now can open it). Ours:
  // start from an empty sampler when no call was seen for a whole window.
  let sampler = create();
  let lastCallAt = Number.NEGATIVE_INFINITY;
  const touch = (): SamplingBreaker => {
    const now = Date.now();
    if (now - lastCallAt >= windowMs) sampler = create();
    lastCallAt = now;
    return sampler;
  };
  // Accessors allowed here (no-restricted-syntax): one per breaker (cockatiel's sampler holder).
  return {
    // eslint-disable-next-line no-restricted-syntax -- one per breaker (cockatiel's sampler holder).
    get state(): unknown {
      return sampler.state;
    },
    // eslint-disable-next-line no-restricted-syntax -- one per breaker (cockatiel's sampler holder).
    set state(value: unknown) {
      sampler.state = value;
    },
    success: (state) => touch().success(state),
    failure: (state) => touch().failure(state),
  };
}

/**
 * Creates a circuit breaker on cockatiel's `circuitBreaker` with a `ConsecutiveBreaker` (mode
 * `consecutive`) or a `SamplingBreaker` (mode `rate`). While open it rejects at once with a
 * {@link BrokenCircuitError}; after `halfOpenAfterMs` one probe goes through (calls arriving meanwhile
 * wait for the probe's verdict, as cockatiel does): success closes it, a counted failure re-opens it.
 * Time is read from `Date.now()` and `setTimeout`, so `vi.useFakeTimers()` drives it.
 *
 * @example
 * ```ts
 * const breaker = createCircuitBreaker({ mode: 'consecutive', threshold: 5, halfOpenAfterMs: 30_000 });
 * breaker.onStateChange(({ state }) => metrics.breakerState.set(state === 'closed' ? 0 : 1));
 * const response = await breaker.execute(({ signal }) => provider.chat(request, { signal }), { signal });
 * ```
 */
export function createCircuitBreaker(
  options: CircuitBreakerOptions = { mode: 'consecutive', threshold: 5 },
): CircuitBreaker {
  const halfOpenAfterMs = options.halfOpenAfterMs ?? 10_000;
  const shouldCount = options.shouldCount ?? isRetryable;
  const policy = circuitBreaker(handleWhen(shouldCount), {
    halfOpenAfter: halfOpenAfterMs,
    breaker: createBreaker(options),
  });
  const counters: CircuitBreakerStats = { successes: 0, failures: 0, ignoredErrors: 0, rejections: 0, opens: 0 };
  const listeners = new Set<(change: CircuitStateChange) => void>();
  let openedAt = 0;
  let current: CircuitBreakerState = 'closed';

  policy.onSuccess(() => {
    counters.successes += 1;
  });
  policy.onFailure(({ handled }) => {
    if (handled) counters.failures += 1;
    else counters.ignoredErrors += 1;
  });
  policy.onStateChange((state) => {
    const previousState = current;
    current = stateName(state);
    const change: CircuitStateChange = { state: current, previousState };
    if (state === CircuitState.Open) {
      openedAt = Date.now();
      counters.opens += 1;
      const lastFailure = policy.lastFailure;
      if (lastFailure !== undefined && 'error' in lastFailure) change.error = lastFailure.error;
    } else if (state === CircuitState.Isolated) {
      counters.opens += 1;
    }
    for (const listener of listeners) listener(change);
  });

  // Accessors allowed here (no-restricted-syntax): one per breaker, built at start.
  return {
    execute(fn, executeOptions = {}) {
      const { signal } = executeOptions;
      // Closed (nearly every call): cockatiel calls fn at once, so there is no wait to race the signal against,
      // and fn, which gets the signal, settles on it as it would without a breaker.
      if (policy.state === CircuitState.Closed) {
        if (signal?.aborted === true) return Promise.reject(signal.reason);
        return policy.execute((context) => fn({ signal: context.signal }), signal);
      }
      // Calls that arrive during a half-open probe wait for its verdict inside cockatiel, deaf to their signal;
      // executeThrough lets the caller's abort settle them at once.
      return executeThrough(policy, fn, signal, (error, called) => {
        // Only translate cockatiel's rejection of *this* call, not a broken-circuit error thrown by `fn`.
        if (called || !isCockatielBrokenCircuitError(error)) return error;
        counters.rejections += 1;
        if (isIsolatedCircuitError(error)) return new BrokenCircuitError({ retryAfterMs: undefined, isolated: true });
        const retryAfterMs = Math.max(0, openedAt + halfOpenAfterMs - Date.now());
        return new BrokenCircuitError({ retryAfterMs, isolated: false });
      });
    },

    // eslint-disable-next-line no-restricted-syntax -- one per breaker, built at start.
    get state() {
      return stateName(policy.state);
    },

    onStateChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    isolate() {
      return policy.isolate();
    },

    stats() {
      return { ...counters };
    },
  };
}
