import { describe, expect, it } from 'vitest';
import { createAdaptiveConcurrency, type AdaptiveConcurrencyEvent } from './adaptive-concurrency.ts';
import { createConcurrencyLimiter, type Release } from './concurrency-limiter.ts';
import { QueueFullError } from './queue-errors.ts';
import { RateLimitedError } from './rate-limit-errors.ts';

function httpError(status: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`HTTP ${status}`), { status, ...extra });
}

describe('createAdaptiveConcurrency', () => {
  it('halves the limit on overload, down to min, and steers the limiter it drives', () => {
    let clock = 0;
    const events: AdaptiveConcurrencyEvent[] = [];
    const limiter = createConcurrencyLimiter({ name: 'openai', maxConcurrency: 16 });
    const adaptive = createAdaptiveConcurrency({
      limiter,
      min: 3,
      max: 32,
      now: () => clock,
      onEvent: (event) => events.push(event),
    });
    expect([adaptive.limit, limiter.maxConcurrency]).toEqual([16, 16]);

    adaptive.recordOverload('rate_limit');
    expect([adaptive.limit, limiter.maxConcurrency]).toEqual([8, 8]);
    clock += 1000;
    adaptive.recordOverload('overloaded');
    clock += 1000;
    adaptive.recordOverload('timeout');
    clock += 1000;
    adaptive.recordOverload('timeout');
    expect([adaptive.limit, limiter.maxConcurrency]).toEqual([3, 3]);

    expect(events).toEqual([
      { type: 'decrease', name: 'openai', from: 16, to: 8, reason: 'rate_limit' },
      { type: 'decrease', name: 'openai', from: 8, to: 4, reason: 'overloaded' },
      { type: 'decrease', name: 'openai', from: 4, to: 3, reason: 'timeout' },
    ]);
    expect(adaptive.snapshot()).toEqual({
      name: 'openai',
      limit: 3,
      value: 3,
      min: 3,
      max: 32,
      increases: 0,
      decreases: 3,
      lastDecrease: 'timeout',
    });
  });

  it('counts a burst of overloads within cooldownMs as one', () => {
    let clock = 0;
    const adaptive = createAdaptiveConcurrency({ max: 16, cooldownMs: 500, now: () => clock });
    for (let index = 0; index < 8; index += 1) adaptive.recordOverload('rate_limit');
    expect(adaptive.limit).toBe(8);
    clock += 499;
    adaptive.recordOverload('rate_limit');
    expect(adaptive.limit).toBe(8);
    clock += 1;
    adaptive.recordOverload('rate_limit');
    expect(adaptive.limit).toBe(4);
  });

  it('adds one call per round of successes, up to max', () => {
    const events: AdaptiveConcurrencyEvent[] = [];
    const adaptive = createAdaptiveConcurrency({
      name: 'glm',
      initial: 4,
      max: 6,
      onEvent: (event) => events.push(event),
    });
    const successes = (count: number): void => {
      for (let index = 0; index < count; index += 1) adaptive.recordSuccess();
    };
    successes(3);
    expect(adaptive.limit).toBe(4);
    successes(1);
    expect(adaptive.limit).toBe(5);
    successes(4);
    expect(adaptive.limit).toBe(5);
    successes(1);
    expect(adaptive.limit).toBe(6);
    successes(100);
    expect(adaptive.limit).toBe(6);
    expect(events).toEqual([
      { type: 'increase', name: 'glm', from: 4, to: 5 },
      { type: 'increase', name: 'glm', from: 5, to: 6 },
    ]);
  });

  it('does not grow a limit that is not being used', async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 8 });
    const adaptive = createAdaptiveConcurrency({ limiter, max: 64 });
    for (let index = 0; index < 100; index += 1) await limiter.run(() => adaptive.recordSuccess());
    expect(adaptive.limit).toBe(8);

    // Busy: 7 running, and the call being recorded: each success counts.
    const held: Release[] = [];
    for (let index = 0; index < 7; index += 1) held.push(await limiter.acquire());
    for (let index = 0; index < 8; index += 1) adaptive.recordSuccess();
    expect([adaptive.limit, limiter.maxConcurrency]).toEqual([9, 9]);
    for (const release of held) release();
  });

  it('lowering the limit lets running calls finish and keeps queued ones', async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 4, maxQueueMs: Infinity });
    const adaptive = createAdaptiveConcurrency({ limiter, max: 4 });
    const held = await Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire(), limiter.acquire()]);
    const queued = limiter.acquire();
    adaptive.recordOverload('overloaded');
    expect([limiter.maxConcurrency, limiter.running, limiter.queued]).toEqual([2, 4, 1]);
    for (const release of held) release();
    await expect(queued).resolves.toBeTypeOf('function');
    expect([limiter.running, limiter.queued]).toEqual([1, 0]);
  });

  it('recordError tells upstream overloads from other failures', () => {
    const cases: [string, unknown, string | undefined][] = [
      ['HTTP 429', httpError(429), 'rate_limit'],
      ['HTTP 503', httpError(503), 'overloaded'],
      ['Anthropic 529', httpError(529), 'overloaded'],
      ['HTTP 504', httpError(504), 'timeout'],
      ['kind rate_limit', { kind: 'rate_limit', status: 429 }, 'rate_limit'],
      ['kind timeout', { kind: 'timeout' }, 'timeout'],
      ['a TimeoutError', new DOMException('timed out', 'TimeoutError'), 'timeout'],
      ['kind quota, a 429 for an empty balance', httpError(429, { kind: 'quota' }), undefined],
      ['HTTP 400', httpError(400), undefined],
      ['an abort', new DOMException('aborted', 'AbortError'), undefined],
      ['our own full queue', new QueueFullError({ limiter: 'x', queued: 1 }), undefined],
      [
        'our own rate limit',
        new RateLimitedError({ scope: 's', unit: 'requests', limit: 1, windowMs: 1, retryAfterMs: 1, limits: [] }),
        undefined,
      ],
      ['a thrown string', 'boom', undefined],
    ];
    for (const [label, error, expected] of cases) {
      const adaptive = createAdaptiveConcurrency({ max: 8 });
      expect(adaptive.recordError(error), label).toBe(expected);
      expect(adaptive.limit, label).toBe(expected === undefined ? 8 : 4);
    }
  });

  it('refuses invalid options with a RangeError', () => {
    expect(() => createAdaptiveConcurrency({ max: 0 })).toThrow(RangeError);
    expect(() => createAdaptiveConcurrency({ max: 4, min: 5 })).toThrow('max must be an integer >= min (5), got 4');
    expect(() => createAdaptiveConcurrency({ max: 4, initial: 9 })).toThrow(RangeError);
    expect(() => createAdaptiveConcurrency({ max: 4, decreaseFactor: 1 })).toThrow(RangeError);
    expect(() => createAdaptiveConcurrency({ max: 4, increaseBy: 0 })).toThrow(RangeError);
  });
});
