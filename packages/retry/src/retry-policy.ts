import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import type { IBackoff } from 'cockatiel';
import { neverAbortedSignal, raceAbort, sleep } from './abort.ts';
import { retryAfterOf, statsKeyOf } from './error-shape.ts';
import { isRetryable } from './is-retryable.ts';
import { withTimeout } from './timeout.ts';

/** What `fn` receives on each attempt of {@link RetryPolicy.execute}. */
export interface RetryContext {
  /** 0 for the first call, 1 for the first retry, and so on. */
  attempt: number;
  /** Fires when the caller aborts or the attempt's `attemptTimeoutMs` runs out. */
  signal: AbortSignal;
}

/** Options of one call: the caller's signal aborts the backoff wait and the running attempt. */
export interface ExecuteOptions {
  signal?: AbortSignal | undefined;
}

/** Passed to `onRetry` before the wait that precedes the next attempt. */
export interface RetryEvent {
  /**
   * The number of the attempt that failed, counted from 1: the first call is attempt 1, the first retry attempt 2
   * (that is {@link RetryContext.attempt} + 1). Before 0.1 it counted from 0.
   */
  attempt: number;
  /** How long the policy waits before the next attempt (Retry-After included). */
  delayMs: number;
  error: unknown;
  /** The error's `kind`, else `status:<code>`, else `unknown`. */
  kind: string;
}

/**
 * Why a policy stopped retrying:
 * - `not_retryable`: `shouldRetry` said no (a 400, a quota error, ...);
 * - `max_retries`: `maxRetries` retries were made;
 * - `retry_after_too_long`: the upstream's Retry-After is longer than `maxDelayMs` or the time left before
 *   `deadlineMs`, so the policy gives up at once instead of sleeping;
 * - `deadline`: the next backoff would end past `deadlineMs`;
 * - `cancelled`: the caller's signal fired.
 */
export type GiveUpReason = 'not_retryable' | 'max_retries' | 'retry_after_too_long' | 'deadline' | 'cancelled';

/** Passed to `onGiveUp` when the policy rethrows the last error. */
export interface GiveUpEvent extends RetryEvent {
  reason: GiveUpReason;
  /** The error's `retryAfterMs`, when it had one. */
  retryAfterMs: number | undefined;
}

/** Options of {@link createRetryPolicy}. */
export interface RetryPolicyOptions {
  /** Retries after the first attempt. Default 2 (three attempts in all). */
  maxRetries?: number | undefined;
  /** Backoff base: the cap of the first retry's jittered delay. Default 500 ms. */
  baseDelayMs?: number | undefined;
  /** Cap on each delay, Retry-After included. Default 30 000 ms. */
  maxDelayMs?: number | undefined;
  /** Total budget from the start of `execute`: no retry starts whose delay would end past it. */
  deadlineMs?: number | undefined;
  /** Per-attempt limit: the attempt's signal aborts and it fails with a retryable `TimeoutError`. */
  attemptTimeoutMs?: number | undefined;
  /** Default {@link isRetryable}. */
  shouldRetry?: ((error: unknown) => boolean) | undefined;
  onRetry?: ((event: RetryEvent) => void) | undefined;
  onGiveUp?: ((event: GiveUpEvent) => void) | undefined;
  /** A number in [0, 1), for the full jitter. Default `Math.random`. */
  random?: (() => number) | undefined;
  /** Clock for `deadlineMs`. Default `Date.now` (which `vi.useFakeTimers()` fakes). */
  now?: (() => number) | undefined;
}

/** Counters since the policy was created, per error kind as well. */
export interface RetryStats {
  /** Calls of `fn`, first attempts included. */
  attempts: number;
  retries: number;
  giveUps: number;
  byKind: Record<string, { retries: number; giveUps: number }>;
}

/** A retry policy; share one per upstream so its stats add up. */
export interface RetryPolicy {
  /** Runs `fn`, retrying it as the options say; rejects with the last error (or the abort reason). */
  execute<T>(fn: (context: RetryContext) => Promise<T> | T, options?: ExecuteOptions): Promise<T>;
  /** A snapshot of the counters. */
  stats(): RetryStats;
}

/**
 * Creates a retry policy: exponential backoff with full jitter
 * (`random() * min(maxDelayMs, baseDelayMs * 2 ** attempt)`), honouring the error's `retryAfterMs`,
 * within an optional total deadline and per-attempt timeout.
 *
 * Built on cockatiel's `retry` + `handleWhen` (the attempt loop and the error filter) and its
 * `ExponentialBackoff` (with our jitter generator, so `random` is injectable). The wait between attempts
 * is ours: cockatiel's retry sleep does not listen to the AbortSignal and cannot give up on a delay that is
 * too long, so we ask cockatiel for no delay and sleep at the start of the next attempt. The first attempt
 * runs before any cockatiel policy is built: most calls succeed at once, and building the retry policy (its
 * filter, its event emitters) cost about as much as the rest of a streamed request's routing. Its failure goes
 * through the same filter, and only a failure worth retrying builds the policy for the attempts after it.
 *
 * @example
 * ```ts
 * const policy = createRetryPolicy({ maxRetries: 3, deadlineMs: 60_000, onRetry: (e) => log.warn(e) });
 * const response = await policy.execute(({ signal }) => provider.chat(request, { signal }), { signal });
 * ```
 */
export function createRetryPolicy(options: RetryPolicyOptions = {}): RetryPolicy {
  const maxRetries = options.maxRetries ?? 2;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const { deadlineMs, attemptTimeoutMs, onRetry, onGiveUp } = options;
  const shouldRetry = options.shouldRetry ?? isRetryable;
  const random = options.random ?? Math.random;
  const now = options.now ?? (() => Date.now());
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new RangeError(`maxRetries must be a non-negative integer, got ${maxRetries}`);
  }
  if (!(baseDelayMs >= 0) || !(maxDelayMs >= 0)) {
    throw new RangeError(`baseDelayMs and maxDelayMs must be >= 0, got ${baseDelayMs} and ${maxDelayMs}`);
  }
  const counters: RetryStats = { attempts: 0, retries: 0, giveUps: 0, byKind: {} };

  // Full jitter over cockatiel's exponential schedule; its built-in fullJitterGenerator uses Math.random.
  const backoffFactory = new ExponentialBackoff<number>({
    initialDelay: baseDelayMs,
    maxDelay: maxDelayMs,
    generator: (attempt = 0, generatorOptions) => [
      random() * Math.min(generatorOptions.maxDelay, generatorOptions.initialDelay * 2 ** attempt),
      attempt + 1,
    ],
  });

  function countFor(kind: string): { retries: number; giveUps: number } {
    const existing = counters.byKind[kind];
    if (existing !== undefined) return existing;
    const created = { retries: 0, giveUps: 0 };
    counters.byKind[kind] = created;
    return created;
  }

  return {
    async execute<T>(fn: (context: RetryContext) => Promise<T> | T, executeOptions: ExecuteOptions = {}): Promise<T> {
      const signal = executeOptions.signal ?? neverAbortedSignal;
      signal.throwIfAborted();
      const startedAt = now();
      let backoff: IBackoff<unknown> | undefined;
      let attempt = 0;
      let nextDelayMs = 0;

      const giveUp = (error: unknown, reason: GiveUpReason, delayMs: number): false => {
        const kind = statsKeyOf(error);
        counters.giveUps += 1;
        countFor(kind).giveUps += 1;
        onGiveUp?.({ attempt: attempt + 1, delayMs, error, kind, reason, retryAfterMs: retryAfterOf(error) });
        return false;
      };

      // The filter cockatiel calls on each failure: true = retry after `nextDelayMs`, false = rethrow now.
      const decide = (error: unknown): boolean => {
        if (signal.aborted) return giveUp(error, 'cancelled', 0);
        if (!shouldRetry(error)) return giveUp(error, 'not_retryable', 0);
        if (attempt >= maxRetries) return giveUp(error, 'max_retries', 0);
        backoff = backoff === undefined ? backoffFactory.next() : backoff.next(undefined);
        const retryAfterMs = retryAfterOf(error);
        if (retryAfterMs !== undefined && retryAfterMs > maxDelayMs) {
          return giveUp(error, 'retry_after_too_long', retryAfterMs);
        }
        const delayMs = Math.max(backoff.duration, retryAfterMs ?? 0);
        if (deadlineMs !== undefined && now() - startedAt + delayMs > deadlineMs) {
          const becauseOfRetryAfter = retryAfterMs !== undefined && retryAfterMs >= backoff.duration;
          return giveUp(error, becauseOfRetryAfter ? 'retry_after_too_long' : 'deadline', delayMs);
        }
        const kind = statsKeyOf(error);
        counters.retries += 1;
        countFor(kind).retries += 1;
        nextDelayMs = delayMs;
        onRetry?.({ attempt: attempt + 1, delayMs, error, kind });
        return true;
      };

      const run = (index: number): Promise<T> => {
        attempt = index;
        counters.attempts += 1;
        const call =
          attemptTimeoutMs === undefined
            ? Promise.resolve(fn({ attempt: index, signal }))
            : withTimeout((inner) => fn({ attempt: index, signal: inner.signal }), attemptTimeoutMs, { signal });
        return raceAbort(call, signal);
      };

      try {
        return await run(0);
      } catch (error) {
        if (!decide(error)) throw error;
      }
      // Attempt 0 failed and is worth retrying: cockatiel runs the rest, each after the delay decide() chose.
      const policy = retry(handleWhen(decide), { maxAttempts: maxRetries - 1 });
      return policy.execute(async (context) => {
        await sleep(nextDelayMs, signal);
        return run(context.attempt + 1);
      });
    },

    stats() {
      const byKind: RetryStats['byKind'] = {};
      for (const [kind, count] of Object.entries(counters.byKind)) byKind[kind] = { ...count };
      return { attempts: counters.attempts, retries: counters.retries, giveUps: counters.giveUps, byKind };
    },
  };
}
