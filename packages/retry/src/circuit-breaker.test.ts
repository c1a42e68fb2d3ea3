import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokenCircuitError, createCircuitBreaker, isBrokenCircuitError } from './circuit-breaker.ts';
import type { CircuitBreaker, CircuitStateChange } from './circuit-breaker.ts';
import { isRetryable } from './is-retryable.ts';

function httpError(status: number): Error {
  return Object.assign(new Error(`HTTP ${status}`), { status });
}

async function fail(breaker: CircuitBreaker, status = 503): Promise<unknown> {
  return breaker
    .execute(() => {
      throw httpError(status);
    })
    .catch((error: unknown) => error);
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('createCircuitBreaker (consecutive)', () => {
  it('opens after threshold counted failures and then rejects without calling fn', async () => {
    const breaker = createCircuitBreaker({ mode: 'consecutive', threshold: 3, halfOpenAfterMs: 1000 });
    const changes: CircuitStateChange[] = [];
    breaker.onStateChange((change) => changes.push(change));
    await fail(breaker);
    await fail(breaker);
    expect(breaker.state).toBe('closed');
    const third = await fail(breaker);
    expect(breaker.state).toBe('open');
    expect(changes).toEqual([{ state: 'open', previousState: 'closed', error: third }]);

    await vi.advanceTimersByTimeAsync(400);
    const fn = vi.fn(() => 'ok');
    const rejection = await breaker.execute(fn).catch((error: unknown) => error);
    expect(fn).not.toHaveBeenCalled();
    expect(isBrokenCircuitError(rejection)).toBe(true);
    expect(rejection).toBeInstanceOf(BrokenCircuitError);
    expect(rejection).toMatchObject({ kind: 'overloaded', retryable: true, retryAfterMs: 600 });
    expect(isRetryable(rejection)).toBe(true);
  });

  it('half-opens after halfOpenAfterMs and closes after a successful probe', async () => {
    const breaker = createCircuitBreaker({ mode: 'consecutive', threshold: 2, halfOpenAfterMs: 1000 });
    const states: string[] = [];
    breaker.onStateChange(({ state }) => states.push(state));
    await fail(breaker);
    await fail(breaker);
    await vi.advanceTimersByTimeAsync(999);
    expect(isBrokenCircuitError(await breaker.execute(() => 'early').catch((error: unknown) => error))).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    await expect(breaker.execute(() => 'probe')).resolves.toBe('probe');
    expect(breaker.state).toBe('closed');
    expect(states).toEqual(['open', 'halfOpen', 'closed']);
  });

  it('re-opens after a failed probe, for another halfOpenAfterMs', async () => {
    const breaker = createCircuitBreaker({ mode: 'consecutive', threshold: 1, halfOpenAfterMs: 1000 });
    const states: string[] = [];
    breaker.onStateChange(({ state }) => states.push(state));
    await fail(breaker);
    await vi.advanceTimersByTimeAsync(1000);
    const probe = vi.fn(() => {
      throw httpError(500);
    });
    await breaker.execute(probe).catch(() => undefined);
    expect(probe).toHaveBeenCalledTimes(1);
    expect(breaker.state).toBe('open');
    expect(states).toEqual(['open', 'halfOpen', 'open']);
    const rejection = await breaker.execute(() => 'x').catch((error: unknown) => error);
    expect(rejection).toMatchObject({ retryAfterMs: 1000 });
  });

  it('does not count errors that shouldCount rejects: 400s never open it', async () => {
    const breaker = createCircuitBreaker({ mode: 'consecutive', threshold: 2 });
    for (let index = 0; index < 10; index += 1) await fail(breaker, 400);
    expect(breaker.state).toBe('closed');
    expect(breaker.stats()).toMatchObject({ failures: 0, ignoredErrors: 10, opens: 0 });
  });

  it('takes a custom shouldCount', async () => {
    const breaker = createCircuitBreaker({ mode: 'consecutive', threshold: 1, shouldCount: () => true });
    await fail(breaker, 400);
    expect(breaker.state).toBe('open');
  });

  it('resets the consecutive count on a success', async () => {
    const breaker = createCircuitBreaker({ mode: 'consecutive', threshold: 2 });
    await fail(breaker);
    await breaker.execute(() => 'ok');
    await fail(breaker);
    expect(breaker.state).toBe('closed');
  });

  it('holds the breaker open while isolated', async () => {
    const breaker = createCircuitBreaker({ mode: 'consecutive', threshold: 5 });
    const handle = breaker.isolate();
    expect(breaker.state).toBe('open');
    const rejection = await breaker.execute(() => 'x').catch((error: unknown) => error);
    expect(rejection).toMatchObject({ isolated: true, retryAfterMs: undefined, kind: 'overloaded', retryable: false });
    handle.dispose();
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(() => 'x')).resolves.toBe('x');
  });

  it('stops calling a listener once disposed, and counts calls', async () => {
    const breaker = createCircuitBreaker({ mode: 'consecutive', threshold: 1, halfOpenAfterMs: 10 });
    const listener = vi.fn();
    const dispose = breaker.onStateChange(listener);
    dispose();
    await breaker.execute(() => 'ok');
    await fail(breaker);
    await breaker.execute(() => 'x').catch(() => undefined);
    expect(listener).not.toHaveBeenCalled();
    expect(breaker.stats()).toEqual({ successes: 1, failures: 1, ignoredErrors: 0, rejections: 1, opens: 1 });
  });

  it('passes a broken-circuit error thrown by fn through unchanged', async () => {
    const inner = createCircuitBreaker({ mode: 'consecutive', threshold: 1 });
    await fail(inner);
    const outer = createCircuitBreaker({ mode: 'consecutive', threshold: 5 });
    const rejection = await outer.execute(() => inner.execute(() => 'x')).catch((error: unknown) => error);
    expect(isBrokenCircuitError(rejection)).toBe(true);
    expect(outer.stats().rejections).toBe(0);
  });
});

describe('createCircuitBreaker (rate)', () => {
  it('stays closed below minimumCalls and opens when the failure rate passes the threshold', async () => {
    const breaker = createCircuitBreaker({ mode: 'rate', threshold: 0.5, windowMs: 10_000, minimumCalls: 4 });
    await fail(breaker);
    await fail(breaker);
    await fail(breaker);
    expect(breaker.state).toBe('closed');
    await fail(breaker);
    expect(breaker.state).toBe('open');
  });

  it('stays closed while failures are at or under the threshold', async () => {
    const breaker = createCircuitBreaker({ mode: 'rate', threshold: 0.5, windowMs: 10_000, minimumCalls: 4 });
    for (let index = 0; index < 5; index += 1) {
      await breaker.execute(() => 'ok');
      await fail(breaker);
    }
    expect(breaker.state).toBe('closed');
    await fail(breaker);
    expect(breaker.state).toBe('open');
  });

  it('forgets failures older than the window', async () => {
    const breaker = createCircuitBreaker({ mode: 'rate', threshold: 0.5, windowMs: 10_000, minimumCalls: 4 });
    await fail(breaker);
    await fail(breaker);
    await fail(breaker);
    await vi.advanceTimersByTimeAsync(11_000);
    await fail(breaker);
    expect(breaker.state).toBe('closed');
  });
});

describe('createCircuitBreaker (options and signals)', () => {
  it('refuses thresholds that make no sense', () => {
    expect(() => createCircuitBreaker({ mode: 'consecutive', threshold: 0 })).toThrow(RangeError);
    expect(() => createCircuitBreaker({ mode: 'rate', threshold: 1, windowMs: 1000 })).toThrow(RangeError);
    expect(() => createCircuitBreaker({ mode: 'rate', threshold: 0.5, windowMs: 0 })).toThrow(RangeError);
  });

  it('lets a call waiting behind the half-open probe leave when its signal fires', async () => {
    const breaker = createCircuitBreaker({ mode: 'consecutive', threshold: 1, halfOpenAfterMs: 100 });
    await fail(breaker);
    await vi.advanceTimersByTimeAsync(100);
    let finishProbe: (value: string) => void = () => undefined;
    const probe = breaker.execute(
      () =>
        new Promise<string>((resolve) => {
          finishProbe = resolve;
        }),
    );
    expect(breaker.state).toBe('halfOpen');
    const controller = new AbortController();
    const waiting = breaker.execute(() => 'second', { signal: controller.signal }).catch((error: unknown) => error);
    controller.abort(new Error('client left'));
    expect(await waiting).toEqual(new Error('client left'));
    finishProbe('probe');
    await expect(probe).resolves.toBe('probe');
    expect(breaker.state).toBe('closed');
  });

  it("hands a closed call the caller's signal, and refuses an already aborted one without calling fn", async () => {
    const breaker = createCircuitBreaker({ mode: 'consecutive', threshold: 1 });
    const controller = new AbortController();
    const call = breaker
      .execute(
        ({ signal }) =>
          new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
        { signal: controller.signal },
      )
      .catch((error: unknown) => error);
    controller.abort(new Error('client left'));
    expect(await call).toEqual(new Error('client left'));
    let called = false;
    const refused = await breaker
      .execute(
        () => {
          called = true;
        },
        { signal: controller.signal },
      )
      .catch((error: unknown) => error);
    expect(refused).toEqual(new Error('client left'));
    expect(called).toBe(false);
  });
});
