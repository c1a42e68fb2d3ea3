import { neverAbortedSignal } from './abort.ts';
import { hasMarker, isAbortError, kindOf, retryAfterOf, retryableOf, statusOf } from './error-shape.ts';
import type { ExecuteOptions } from './retry-policy.ts';

const FALLBACK_CHAIN_ERROR_MARKER: unique symbol = Symbol.for('gw.error.retry.fallback-chain');

/**
 * Thrown when every step of a fallback chain failed (or one failed with an error that does not fall back
 * after earlier ones did). An `AggregateError`: `errors` holds each step's error in order. It takes
 * `kind`, `status`, `retryable` and `retryAfterMs` from the last error, so code that maps errors by shape
 * (an HTTP error handler, an outer retry) treats it like the last failure.
 *
 * @example
 * ```ts
 * if (isFallbackChainError(error)) for (const cause of error.errors) log.warn(cause);
 * ```
 */
export class FallbackChainError extends AggregateError {
  readonly [FALLBACK_CHAIN_ERROR_MARKER] = true;
  override readonly name = 'FallbackChainError';
  declare readonly errors: unknown[];
  readonly kind: string | undefined;
  readonly status: number | undefined;
  readonly retryable: boolean | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(errors: unknown[]) {
    const last = errors.at(-1);
    super(errors, `All ${errors.length} fallback steps failed`, { cause: last });
    this.kind = kindOf(last);
    this.status = statusOf(last);
    this.retryable = retryableOf(last);
    this.retryAfterMs = retryAfterOf(last);
  }
}

/**
 * True when `error` is a {@link FallbackChainError}, also across duplicate installs of this package.
 *
 * @example
 * ```ts
 * if (isFallbackChainError(error)) console.log(error.errors.length, 'steps failed');
 * ```
 */
export function isFallbackChainError(error: unknown): error is FallbackChainError {
  return hasMarker(error, FALLBACK_CHAIN_ERROR_MARKER);
}

/** What each step of a fallback chain receives. */
export interface FallbackContext {
  /** The step's position in the chain, 0 for the primary. */
  index: number;
  signal: AbortSignal;
}

/** Passed to `onFallback` before the next step runs. */
export interface FallbackEvent {
  /** The step that failed. */
  index: number;
  error: unknown;
}

/** Options of {@link createFallbackChain}. */
export interface FallbackChainOptions {
  /** Whether to try the next step after this error. Default: every error except a cancellation. */
  shouldFallback?: ((error: unknown) => boolean) | undefined;
  onFallback?: ((event: FallbackEvent) => void) | undefined;
}

/** A fallback chain, ready to run. */
export interface FallbackChain<T> {
  /** Runs the steps in order until one resolves. */
  execute(options?: ExecuteOptions): Promise<T>;
}

function isCancellation(error: unknown): boolean {
  return isAbortError(error) || kindOf(error) === 'cancelled';
}

/**
 * Creates a fallback chain: runs `steps[0]`, and on an error that says fall back, `steps[1]`, and so on.
 * Ours, not cockatiel's `fallback`, which swaps in one value for one policy and keeps no list of errors.
 * The caller's signal stops the chain (the rejection is the abort reason). When the chain ends on a single
 * error (no fallback happened) that error is rethrown unchanged; otherwise a {@link FallbackChainError}
 * carries every step's error.
 *
 * @example
 * ```ts
 * const chain = createFallbackChain([
 *   ({ signal }) => openai.chat(request, { signal }),
 *   ({ signal }) => glm.chat({ ...request, model: 'glm-4-flash' }, { signal }),
 * ]);
 * const response = await chain.execute({ signal });
 * ```
 */
export function createFallbackChain<T>(
  steps: ReadonlyArray<(context: FallbackContext) => Promise<T> | T>,
  options: FallbackChainOptions = {},
): FallbackChain<T> {
  if (steps.length === 0) throw new RangeError('createFallbackChain needs at least one step');
  const shouldFallback = options.shouldFallback ?? ((error: unknown) => !isCancellation(error));
  const chain = [...steps];

  return {
    async execute(executeOptions = {}) {
      const signal = executeOptions.signal ?? neverAbortedSignal;
      const errors: unknown[] = [];
      for (const [index, step] of chain.entries()) {
        signal.throwIfAborted();
        try {
          return await step({ index, signal });
        } catch (error) {
          if (signal.aborted) throw signal.reason;
          errors.push(error);
          if (index === chain.length - 1 || !shouldFallback(error)) break;
          options.onFallback?.({ index, error });
        }
      }
      if (errors.length === 1) throw errors[0];
      throw new FallbackChainError(errors);
    },
  };
}
