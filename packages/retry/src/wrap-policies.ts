import { neverAbortedSignal } from './abort.ts';
import type { ExecuteOptions } from './retry-policy.ts';

/** The context the innermost `fn` of {@link wrapPolicies} receives: the signal, and the retry attempt if any. */
export interface PolicyContext {
  signal: AbortSignal;
  /** Set when a retry policy is among the wrapped ones. */
  attempt?: number | undefined;
}

/** Anything with the `execute(fn, { signal })` shape of this package's policies. */
export interface ExecutablePolicy {
  execute<T>(fn: (context: PolicyContext) => Promise<T> | T, options?: ExecuteOptions): Promise<T>;
}

/**
 * Nests policies, outermost first: `wrapPolicies(retry, breaker, timeout)` runs `fn` inside the timeout,
 * inside the breaker, inside the retry. Each layer's context (the retry's `attempt`, the innermost signal)
 * reaches `fn`. Ours rather than cockatiel's `wrap`, which only composes cockatiel policies; ours wrap them
 * to translate their errors and signals.
 *
 * Recommended order: retry → circuit breaker → bulkhead → per-attempt timeout. The retry then sees
 * the breaker's `BrokenCircuitError` (retryable, with `retryAfterMs`) and each attempt's timeout, and a
 * slot in the bulkhead is held only while a call runs, not while the retry waits.
 *
 * @example
 * ```ts
 * const policy = wrapPolicies(
 *   createRetryPolicy({ maxRetries: 2 }),
 *   createCircuitBreaker({ mode: 'consecutive', threshold: 5 }),
 *   createTimeoutPolicy(30_000),
 * );
 * const response = await policy.execute(({ signal }) => provider.chat(request, { signal }), { signal });
 * ```
 */
export function wrapPolicies(...policies: ExecutablePolicy[]): ExecutablePolicy {
  return {
    execute<T>(fn: (context: PolicyContext) => Promise<T> | T, options: ExecuteOptions = {}): Promise<T> {
      const run = async (index: number, context: PolicyContext): Promise<T> => {
        const policy = policies[index];
        if (policy === undefined) return fn(context);
        return policy.execute((inner) => run(index + 1, { ...context, ...inner }), { signal: context.signal });
      };
      return run(0, { signal: options.signal ?? neverAbortedSignal });
    },
  };
}
