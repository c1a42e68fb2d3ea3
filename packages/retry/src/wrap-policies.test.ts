import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCircuitBreaker, isBrokenCircuitError } from './circuit-breaker.ts';
import { createRetryPolicy } from './retry-policy.ts';
import { createTimeoutPolicy } from './timeout.ts';
import { wrapPolicies } from './wrap-policies.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('wrapPolicies', () => {
  it('retries around a per-attempt timeout and hands fn the attempt and the innermost signal', async () => {
    const policy = wrapPolicies(createRetryPolicy({ random: () => 0 }), createTimeoutPolicy(100));
    const seen: Array<{ attempt: number | undefined; signal: AbortSignal }> = [];
    const outcome = policy
      .execute(({ attempt, signal }) => {
        seen.push({ attempt, signal });
        return attempt === 0 ? new Promise<string>(() => undefined) : 'second try';
      })
      .catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(100);
    await vi.runAllTimersAsync();
    expect(await outcome).toBe('second try');
    expect(seen.map((entry) => entry.attempt)).toEqual([0, 1]);
    expect(seen[0]?.signal.aborted).toBe(true);
  });

  it('lets the retry give up at once on an open breaker whose Retry-After is past the deadline', async () => {
    const breaker = createCircuitBreaker({ mode: 'consecutive', threshold: 1, halfOpenAfterMs: 60_000 });
    const onGiveUp = vi.fn();
    const policy = wrapPolicies(createRetryPolicy({ random: () => 0, deadlineMs: 10_000, onGiveUp }), breaker);
    const fn = vi.fn(() => {
      throw Object.assign(new Error('down'), { status: 503 });
    });
    const outcome = policy.execute(fn).catch((error: unknown) => error);
    await vi.runAllTimersAsync();
    expect(isBrokenCircuitError(await outcome)).toBe(true);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(onGiveUp).toHaveBeenCalledWith(
      expect.objectContaining({ reason: 'retry_after_too_long', kind: 'overloaded' }),
    );
  });
});
