import { describe, expect, it } from 'vitest';
import { createMemoryRateLimitStore } from './memory-store.ts';
import type { RateLimit, RateLimitStore } from './rate-limit.ts';
import {
  isRateLimitedError,
  isRateLimitUnavailableError,
  RateLimitedError,
  RateLimitUnavailableError,
} from './rate-limit-errors.ts';
import { createRateLimiter, type RateLimiterEvent } from './rate-limiter.ts';

const T0 = 1_700_000_040_000;

function setup(options: { failMode?: 'open' | 'closed' } = {}) {
  let clock = T0;
  const events: RateLimiterEvent[] = [];
  const memory = createMemoryRateLimitStore({ now: () => clock });
  // A store of our own that can break, as a remote one does; while broken every call throws.
  const outage = { broken: false };
  const store: RateLimitStore = {
    take: (limits, amounts) => {
      if (outage.broken) throw new Error('connection refused');
      return memory.take(limits, amounts);
    },
    adjust: (limits, delta, at) => {
      if (outage.broken) throw new Error('connection refused');
      memory.adjust(limits, delta, at);
    },
  };
  const limiter = createRateLimiter({
    store,
    failMode: options.failMode,
    now: () => clock,
    onEvent: (event) => events.push(event),
  });
  return {
    limiter,
    events,
    outage,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

// Named GCRA, whose waits the numbers below are; the limiter passes on any algorithm's answer alike.
const rpm: RateLimit = { scope: '{key:k1}', unit: 'requests', limit: 2, algorithm: 'gcra' };
const tpm: RateLimit = { scope: '{key:k1}', unit: 'tokens', limit: 1000, algorithm: 'gcra' };

async function refusal(promise: Promise<unknown>): Promise<RateLimitedError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!isRateLimitedError(error)) throw new Error(`expected a RateLimitedError, got ${String(error)}`);
  return error;
}

describe('createRateLimiter', () => {
  it('lets takes through with the state of every limit, then refuses with a 429-shaped error', async () => {
    const { limiter, events } = setup();
    const lease = await limiter.take([rpm, tpm], { tokens: 300 });
    expect(lease.degraded).toBe(false);
    expect(lease.limits).toEqual([
      { scope: '{key:k1}', unit: 'requests', limit: 2, remaining: 1, resetMs: 30_000 },
      { scope: '{key:k1}', unit: 'tokens', limit: 1000, remaining: 700, resetMs: 18_000 },
    ]);
    await limiter.take([rpm, tpm], { tokens: 300 });

    const error = await refusal(limiter.take([rpm, tpm], { tokens: 300 }));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({
      name: 'RateLimitedError',
      kind: 'rate_limit',
      status: 429,
      retryable: true,
      retryAfterMs: 30_000,
      scope: '{key:k1}',
      unit: 'requests',
      limit: 2,
      message: 'rate limit of 2 requests per minute for {key:k1} reached; retry in 30000 ms',
    });
    // Nothing of the refused take was debited: 400 tokens are still there.
    expect(error.limits.map((state) => state.remaining)).toEqual([0, 400]);
    expect(events).toEqual([{ type: 'refused', scope: '{key:k1}', unit: 'requests', retryAfterMs: 30_000 }]);
    expect(limiter.stats()).toMatchObject({ allowed: 2, refused: 1 });
  });

  it('costs 1 request and 0 tokens by default', async () => {
    const { limiter } = setup();
    const lease = await limiter.take([rpm, tpm]);
    expect(lease.limits.map((state) => state.remaining)).toEqual([1, 1000]);
  });

  it('settle refunds an estimate that was too high, so the next take fits', async () => {
    const { limiter } = setup();
    const lease = await limiter.take([tpm], { tokens: 900 });
    await refusal(limiter.take([tpm], { tokens: 900 }));

    await lease.settle(100);
    expect((await limiter.take([tpm], { tokens: 900 })).limits[0]?.remaining).toBe(0);
  });

  it('settle debits what the estimate missed, and a key in debt is refused until it is repaid', async () => {
    const { limiter, advance } = setup();
    const lease = await limiter.take([tpm], { tokens: 100 });
    await lease.settle(1500);

    const error = await refusal(limiter.take([tpm], { tokens: 0 }));
    expect(error.retryAfterMs).toBe(30_000);
    advance(30_000);
    await expect(limiter.take([tpm], { tokens: 0 })).resolves.toMatchObject({ degraded: false });
  });

  it('counts only the first settle of a lease', async () => {
    const { limiter } = setup();
    const lease = await limiter.take([tpm], { tokens: 500 });
    await lease.settle(0);
    await lease.settle(0);
    await lease.settle(5000);
    const next = await limiter.take([tpm], { tokens: 0 });
    expect(next.limits[0]?.remaining).toBe(1000);
  });

  it('leaves a lease that is never settled debited with its estimate', async () => {
    const { limiter } = setup();
    await limiter.take([tpm], { tokens: 600 });
    expect((await limiter.take([tpm], { tokens: 0 })).limits[0]?.remaining).toBe(400);
  });

  it('settle corrects only tokens limits, not the request counted by the take', async () => {
    const { limiter } = setup();
    const lease = await limiter.take([rpm, tpm], { tokens: 10 });
    await lease.settle(0);
    expect((await limiter.take([rpm, tpm], { tokens: 0 })).limits.map((state) => state.remaining)).toEqual([0, 1000]);
  });

  it('refuses an amount larger than the whole limit as not retryable, like a request too large', async () => {
    const { limiter, events } = setup();
    const error = await refusal(limiter.take([rpm, tpm], { tokens: 5000 }));
    expect(error).toMatchObject({
      retryable: false,
      retryAfterMs: undefined,
      unit: 'tokens',
      message: 'the amount asked exceeds the whole rate limit of 1000 tokens per minute for {key:k1}',
    });
    expect(events).toEqual([{ type: 'refused', scope: '{key:k1}', unit: 'tokens', retryAfterMs: undefined }]);
  });

  it('rejects invalid limits and amounts with a RangeError, before touching the store', async () => {
    const { limiter } = setup();
    await expect(limiter.take([{ ...rpm, limit: 0 }])).rejects.toThrow(RangeError);
    await expect(limiter.take([{ ...rpm, windowMs: 1.5 }])).rejects.toThrow('windowMs must be an integer > 0');
    await expect(limiter.take([rpm], { tokens: -1 })).rejects.toThrow('tokens must be a finite number >= 0, got -1');
    await expect(limiter.take([rpm], { requests: Number.NaN })).rejects.toThrow(RangeError);
    const lease = await limiter.take([tpm], { tokens: 10 });
    await expect(lease.settle(Number.POSITIVE_INFINITY)).rejects.toThrow(RangeError);
    expect(limiter.stats()).toMatchObject({ allowed: 1, refused: 0 });
  });

  it('rejects with the abort reason when the signal is already aborted', async () => {
    const { limiter } = setup();
    const reason = new Error('client went away');
    await expect(limiter.take([rpm], { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect((await limiter.take([rpm])).limits[0]?.remaining).toBe(1);
  });

  it('fails open by default: a store outage lets takes through uncounted, reported once, then recovers', async () => {
    const { limiter, events, outage, advance } = setup();
    const before = await limiter.take([tpm], { tokens: 100 });
    outage.broken = true;

    const leases = [await limiter.take([rpm]), await limiter.take([rpm]), await limiter.take([rpm])];
    expect(leases.map((lease) => [lease.degraded, lease.limits])).toEqual([
      [true, []],
      [true, []],
      [true, []],
    ]);
    await leases[0]?.settle(100);
    await before.settle(0); // a settle that fails is counted, never thrown
    expect(events).toEqual([{ type: 'store_down', error: expect.any(Error) }]);
    expect(limiter.stats()).toEqual({
      allowed: 1,
      refused: 0,
      failedOpen: 3,
      failedClosed: 0,
      storeErrors: 4,
      outages: 1,
      storeDown: true,
    });

    advance(2500);
    outage.broken = false;
    const after = await limiter.take([rpm]);
    expect(after.degraded).toBe(false);
    expect(events.at(-1)).toEqual({ type: 'store_up', downMs: 2500, errors: 4 });
    expect(limiter.stats()).toMatchObject({ storeDown: false, outages: 1 });
  });

  it('fails closed on request: a store outage refuses with a 503-shaped error carrying the cause', async () => {
    const { limiter, outage, events } = setup({ failMode: 'closed' });
    outage.broken = true;
    const error = await limiter.take([rpm]).catch((reason: unknown) => reason);
    expect(isRateLimitUnavailableError(error)).toBe(true);
    expect(error).toBeInstanceOf(RateLimitUnavailableError);
    expect(error).toMatchObject({ kind: 'overloaded', status: 503, retryable: true });
    expect((error as Error).cause).toEqual(new Error('connection refused'));
    await expect(limiter.take([rpm])).rejects.toBeInstanceOf(RateLimitUnavailableError);
    expect(events).toHaveLength(1);
    expect(limiter.stats()).toMatchObject({ failedClosed: 2, failedOpen: 0, outages: 1 });
  });

  it('passes on a RangeError from the store instead of failing open', async () => {
    const store: RateLimitStore = {
      take: () => Promise.reject(new RangeError('limits of one take must share a hash tag')),
      adjust: () => undefined,
    };
    const limiter = createRateLimiter({ store });
    await expect(limiter.take([rpm])).rejects.toThrow('limits of one take must share a hash tag');
    expect(limiter.stats()).toMatchObject({ failedOpen: 0, storeErrors: 0 });
  });

  it('refuses an unknown failMode', () => {
    const store = createMemoryRateLimitStore();
    expect(() => createRateLimiter({ store, failMode: 'ajar' as 'open' })).toThrow(RangeError);
  });

  it('guards tell the two errors apart', () => {
    const limited = new RateLimitedError({
      scope: 's',
      unit: 'requests',
      limit: 1,
      windowMs: 1000,
      retryAfterMs: 5,
      limits: [],
    });
    const unavailable = new RateLimitUnavailableError({ cause: new Error('down') });
    expect([isRateLimitedError(limited), isRateLimitedError(unavailable), isRateLimitedError(null)]).toEqual([
      true,
      false,
      false,
    ]);
    expect([isRateLimitUnavailableError(unavailable), isRateLimitUnavailableError(limited)]).toEqual([true, false]);
    expect(limited.message).toBe('rate limit of 1 requests per second for s reached; retry in 5 ms');
  });
});
