import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TimeoutError, createTimeoutPolicy, isTimeoutError, withTimeout } from './timeout.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('withTimeout', () => {
  it('rejects with a TimeoutError at the limit and aborts the signal given to fn', async () => {
    let seen: AbortSignal | undefined;
    const call = withTimeout(({ signal }) => {
      seen = signal;
      return new Promise<string>(() => undefined);
    }, 100);
    const outcome = call.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(99);
    expect(seen?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await outcome;
    expect(isTimeoutError(error)).toBe(true);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ kind: 'timeout', retryable: true, timeoutMs: 100 });
    expect(seen?.aborted).toBe(true);
  });

  it('resolves in time and leaves the signal alive for a stream that outlives the call', async () => {
    let seen: AbortSignal | undefined;
    const value = await withTimeout(({ signal }) => {
      seen = signal;
      return 'ok';
    }, 100);
    expect(value).toBe('ok');
    await vi.advanceTimersByTimeAsync(1000);
    expect(seen?.aborted).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with the caller abort reason, not a timeout', async () => {
    const controller = new AbortController();
    const call = withTimeout(() => new Promise(() => undefined), 1000, { signal: controller.signal });
    const outcome = call.catch((error: unknown) => error);
    controller.abort(new Error('client closed'));
    expect(await outcome).toEqual(new Error('client closed'));
  });

  it('passes the error of fn through', async () => {
    await expect(
      withTimeout(() => {
        throw new Error('upstream');
      }, 100),
    ).rejects.toThrow('upstream');
  });

  it('is reusable as a policy', async () => {
    const policy = createTimeoutPolicy(50);
    const outcome = policy.execute(() => new Promise(() => undefined)).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(50);
    expect(isTimeoutError(await outcome)).toBe(true);
    await expect(policy.execute(() => 'fast')).resolves.toBe('fast');
  });
});
