import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRetryPolicy } from './retry-policy.ts';
import type { GiveUpEvent, RetryEvent } from './retry-policy.ts';
import { isTimeoutError } from './timeout.ts';

function httpError(status: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`HTTP ${status}`), { status }, extra);
}

/** Records how a promise settled without letting a rejection go unhandled while timers advance. */
function track<T>(promise: Promise<T>): { settled: boolean; value?: T; error?: unknown } {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

// mulberry32: a tiny seeded PRNG, so the jitter test is deterministic.
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('createRetryPolicy', () => {
  it('retries a 503 twice and returns the third attempt', async () => {
    const policy = createRetryPolicy({ random: () => 0.5 });
    const attempts: number[] = [];
    const call = track(
      policy.execute(({ attempt }) => {
        attempts.push(attempt);
        if (attempt < 2) throw httpError(503);
        return 'ok';
      }),
    );
    await vi.runAllTimersAsync();
    expect(call).toEqual({ settled: true, value: 'ok' });
    expect(attempts).toEqual([0, 1, 2]);
  });

  it('gives up with the last error after maxRetries (default 2)', async () => {
    const onGiveUp = vi.fn<(event: GiveUpEvent) => void>();
    const policy = createRetryPolicy({ random: () => 0, onGiveUp });
    const last = httpError(503);
    let calls = 0;
    const call = track(
      policy.execute(() => {
        calls += 1;
        throw calls === 3 ? last : httpError(503);
      }),
    );
    await vi.runAllTimersAsync();
    expect(call.error).toBe(last);
    expect(calls).toBe(3);
    expect(onGiveUp).toHaveBeenCalledWith(expect.objectContaining({ attempt: 3, reason: 'max_retries', error: last }));
  });

  it('waits at least retryAfterMs before retrying a 429', async () => {
    const onRetry = vi.fn<(event: RetryEvent) => void>();
    const policy = createRetryPolicy({ random: () => 0, onRetry });
    let calls = 0;
    const call = track(
      policy.execute(() => {
        calls += 1;
        if (calls === 1) throw httpError(429, { kind: 'rate_limit', retryAfterMs: 1000 });
        return 'ok';
      }),
    );
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toBe(1);
    expect(call.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    expect(call).toEqual({ settled: true, value: 'ok' });
    expect(onRetry).toHaveBeenCalledWith(expect.objectContaining({ attempt: 1, delayMs: 1000, kind: 'rate_limit' }));
  });

  it('uses the computed backoff when it is longer than Retry-After', async () => {
    const onRetry = vi.fn<(event: RetryEvent) => void>();
    const policy = createRetryPolicy({ random: () => 0.5, baseDelayMs: 4000, maxRetries: 1, onRetry });
    const call = track(
      policy.execute(({ attempt }) => {
        if (attempt === 0) throw httpError(429, { retryAfterMs: 1000 });
        return 'ok';
      }),
    );
    await vi.advanceTimersByTimeAsync(1999);
    expect(call.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(call.value).toBe('ok');
    expect(onRetry.mock.calls[0]?.[0].delayMs).toBe(2000);
  });

  it('attempts a 400 exactly once', async () => {
    const onGiveUp = vi.fn<(event: GiveUpEvent) => void>();
    const policy = createRetryPolicy({ onGiveUp });
    const badRequest = httpError(400);
    let calls = 0;
    const call = track(
      policy.execute(() => {
        calls += 1;
        throw badRequest;
      }),
    );
    await vi.runAllTimersAsync();
    expect(call.error).toBe(badRequest);
    expect(calls).toBe(1);
    expect(onGiveUp).toHaveBeenCalledWith(expect.objectContaining({ reason: 'not_retryable', kind: 'status:400' }));
  });

  it('gives up at once, without sleeping, when Retry-After exceeds maxDelayMs', async () => {
    const onGiveUp = vi.fn<(event: GiveUpEvent) => void>();
    const policy = createRetryPolicy({ maxDelayMs: 30_000, onGiveUp });
    const limited = httpError(429, { retryAfterMs: 3_600_000 });
    let calls = 0;
    const call = track(
      policy.execute(() => {
        calls += 1;
        throw limited;
      }),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(call.error).toBe(limited);
    expect(calls).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    expect(onGiveUp).toHaveBeenCalledWith(
      expect.objectContaining({ reason: 'retry_after_too_long', delayMs: 3_600_000, retryAfterMs: 3_600_000 }),
    );
  });

  it('gives up at once when Retry-After ends past the deadline', async () => {
    const onGiveUp = vi.fn<(event: GiveUpEvent) => void>();
    const policy = createRetryPolicy({ deadlineMs: 5000, random: () => 0, onGiveUp });
    const call = track(
      policy.execute(() => {
        throw httpError(429, { retryAfterMs: 10_000 });
      }),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(call.settled).toBe(true);
    expect(onGiveUp).toHaveBeenCalledWith(expect.objectContaining({ reason: 'retry_after_too_long' }));
  });

  it('starts no retry whose delay would end past deadlineMs', async () => {
    const onGiveUp = vi.fn<(event: GiveUpEvent) => void>();
    const policy = createRetryPolicy({
      maxRetries: 5,
      baseDelayMs: 800,
      deadlineMs: 1000,
      random: () => 0.99,
      onGiveUp,
    });
    let calls = 0;
    const call = track(
      policy.execute(() => {
        calls += 1;
        throw httpError(502);
      }),
    );
    await vi.runAllTimersAsync();
    // Attempt 1 fails at t=0 and waits 792 ms; attempt 2 fails at 792 and the next wait (1584 ms) would end at 2376.
    expect(calls).toBe(2);
    expect(call.settled).toBe(true);
    expect(onGiveUp).toHaveBeenCalledWith(expect.objectContaining({ attempt: 2, reason: 'deadline', delayMs: 1584 }));
  });

  it('times an attempt out, aborts its signal, and retries', async () => {
    const onRetry = vi.fn<(event: RetryEvent) => void>();
    const policy = createRetryPolicy({ attemptTimeoutMs: 100, random: () => 0, onRetry });
    const signals: AbortSignal[] = [];
    const call = track(
      policy.execute(({ attempt, signal }) => {
        signals.push(signal);
        if (attempt === 0) return new Promise<string>(() => undefined);
        return 'ok';
      }),
    );
    await vi.advanceTimersByTimeAsync(99);
    expect(call.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await vi.runAllTimersAsync();
    expect(call.value).toBe('ok');
    expect(signals[0]?.aborted).toBe(true);
    const event = onRetry.mock.calls[0]?.[0];
    expect(event?.kind).toBe('timeout');
    expect(isTimeoutError(event?.error)).toBe(true);
  });

  it('rejects with the timeout error when no retry is left', async () => {
    const policy = createRetryPolicy({ attemptTimeoutMs: 50, maxRetries: 0 });
    const call = track(policy.execute(() => new Promise(() => undefined)));
    await vi.advanceTimersByTimeAsync(50);
    expect(isTimeoutError(call.error)).toBe(true);
    expect(call.error).toMatchObject({ kind: 'timeout', retryable: true });
  });

  it('stops waiting the moment the caller aborts during the backoff', async () => {
    const onGiveUp = vi.fn<(event: GiveUpEvent) => void>();
    const policy = createRetryPolicy({ random: () => 0, onGiveUp });
    const controller = new AbortController();
    const reason = new Error('client went away');
    let calls = 0;
    const call = track(
      policy.execute(
        () => {
          calls += 1;
          throw httpError(503, { retryAfterMs: 5000 });
        },
        { signal: controller.signal },
      ),
    );
    await vi.advanceTimersByTimeAsync(1000);
    expect(call.settled).toBe(false);
    controller.abort(reason);
    await vi.advanceTimersByTimeAsync(0);
    expect(call.error).toBe(reason);
    expect(calls).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    expect(onGiveUp).toHaveBeenCalledWith(expect.objectContaining({ attempt: 1, reason: 'cancelled', error: reason }));
  });

  it('aborts a running attempt with the caller signal, even when fn ignores it', async () => {
    const policy = createRetryPolicy();
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const call = track(
      policy.execute(
        ({ signal }) => {
          seen = signal;
          return new Promise(() => undefined);
        },
        { signal: controller.signal },
      ),
    );
    await vi.advanceTimersByTimeAsync(10);
    controller.abort(new Error('stop'));
    await vi.advanceTimersByTimeAsync(0);
    expect(call.error).toEqual(new Error('stop'));
    expect(seen?.aborted).toBe(true);
  });

  it('does not call fn when the signal is already aborted', async () => {
    const policy = createRetryPolicy();
    const fn = vi.fn(() => 'ok');
    await expect(policy.execute(fn, { signal: AbortSignal.abort(new Error('early')) })).rejects.toThrow('early');
    expect(fn).not.toHaveBeenCalled();
  });

  it('draws full-jitter delays in [0, min(maxDelayMs, baseDelayMs * 2^attempt)) from the injected random', async () => {
    const delays: number[] = [];
    const policy = createRetryPolicy({
      maxRetries: 6,
      baseDelayMs: 100,
      maxDelayMs: 1000,
      random: seeded(42),
      onRetry: (event) => delays.push(event.delayMs),
    });
    const call = track(
      policy.execute(() => {
        throw httpError(500);
      }),
    );
    await vi.runAllTimersAsync();
    expect(call.settled).toBe(true);
    const replay = seeded(42);
    const caps = [100, 200, 400, 800, 1000, 1000];
    expect(delays).toEqual(caps.map((cap) => replay() * cap));
    for (const [index, delay] of delays.entries()) {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(caps[index] ?? 0);
    }
    expect(new Set(delays).size).toBe(delays.length);
  });

  it('counts attempts, retries and give-ups, per kind', async () => {
    const policy = createRetryPolicy({ random: () => 0, maxRetries: 1 });
    const first = track(
      policy.execute(({ attempt }) => {
        if (attempt === 0) throw httpError(429, { kind: 'rate_limit' });
        return 1;
      }),
    );
    const second = track(
      policy.execute(() => {
        throw httpError(500, { kind: 'server' });
      }),
    );
    const third = track(
      policy.execute(() => {
        throw httpError(401, { kind: 'authentication' });
      }),
    );
    await vi.runAllTimersAsync();
    expect([first.settled, second.settled, third.settled]).toEqual([true, true, true]);
    expect(policy.stats()).toEqual({
      attempts: 5,
      retries: 2,
      giveUps: 2,
      byKind: {
        rate_limit: { retries: 1, giveUps: 0 },
        server: { retries: 1, giveUps: 1 },
        authentication: { retries: 0, giveUps: 1 },
      },
    });
  });

  it('takes a custom shouldRetry', async () => {
    const policy = createRetryPolicy({ shouldRetry: () => false });
    let calls = 0;
    const call = track(
      policy.execute(() => {
        calls += 1;
        throw httpError(503);
      }),
    );
    await vi.runAllTimersAsync();
    expect(call.settled).toBe(true);
    expect(calls).toBe(1);
  });

  it('refuses a negative or fractional maxRetries', () => {
    expect(() => createRetryPolicy({ maxRetries: -1 })).toThrow(RangeError);
    expect(() => createRetryPolicy({ maxRetries: 1.5 })).toThrow(RangeError);
  });
});
