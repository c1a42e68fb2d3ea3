import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createConcurrencyLimiter } from './concurrency-limiter.ts';
import type { LimiterEvent, Release } from './concurrency-limiter.ts';
import {
  isLimiterStoppedError,
  isQueueFullError,
  isQueueTimeoutError,
  LimiterStoppedError,
  QueueFullError,
  QueueTimeoutError,
} from './queue-errors.ts';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

/** Lets pending promise callbacks run (fake timers do not touch microtasks). */
async function settle(): Promise<void> {
  for (let index = 0; index < 10; index += 1) await Promise.resolve();
}

/** Tracks whether a promise has settled yet, without awaiting it. */
function track<T>(promise: Promise<T>): {
  readonly state: 'pending' | 'resolved' | 'rejected';
  value?: T;
  error?: unknown;
} {
  const tracked: { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } = { state: 'pending' };
  promise.then(
    (value) => {
      tracked.state = 'resolved';
      tracked.value = value;
    },
    (error: unknown) => {
      tracked.state = 'rejected';
      tracked.error = error;
    },
  );
  return tracked;
}

describe('createConcurrencyLimiter', () => {
  it('with maxConcurrency 1 runs 20 concurrent calls one at a time, and all complete', async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 1 });
    let inFlight = 0;
    let maxInFlight = 0;
    const calls = Array.from({ length: 20 }, (_, index) =>
      limiter.run(async () => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 10));
        inFlight -= 1;
        return index;
      }),
    );
    expect(limiter.running).toBe(1);
    expect(limiter.queued).toBe(19);

    await vi.runAllTimersAsync();

    await expect(Promise.all(calls)).resolves.toEqual(Array.from({ length: 20 }, (_, index) => index));
    expect(maxInFlight).toBe(1);
    expect(limiter.running).toBe(0);
    expect(limiter.queued).toBe(0);
    expect(limiter.stats()).toEqual({
      started: 20,
      completed: 20,
      rejected: { queue_full: 0, queue_timeout: 0, aborted: 0, stopped: 0 },
      maxQueued: 19,
    });
  });

  it('starts queued calls by priority, lowest first, FIFO among equal priorities', async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 1 });
    const hold = await limiter.acquire();
    const order: string[] = [];
    const labelled: [string, number][] = [
      ['p5', 5],
      ['p1-first', 1],
      ['p9', 9],
      ['p1-second', 1],
      ['p0', 0],
    ];
    const calls = labelled.map(([label, priority]) => limiter.run(() => order.push(label), { priority }));
    expect(limiter.queued).toBe(5);

    hold();
    await Promise.all(calls);

    expect(order).toEqual(['p0', 'p1-first', 'p1-second', 'p5', 'p9']);
  });

  it('uses priority 5 when none is given', async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 1 });
    const hold = await limiter.acquire();
    const order: string[] = [];
    const calls = [
      limiter.run(() => order.push('p6'), { priority: 6 }),
      limiter.run(() => order.push('default')),
      limiter.run(() => order.push('p4'), { priority: 4 }),
    ];
    hold();
    await Promise.all(calls);
    expect(order).toEqual(['p4', 'default', 'p6']);
  });

  it('refuses a call at once with QueueFullError when maxQueue calls already wait', async () => {
    const limiter = createConcurrencyLimiter({ name: 'openai', maxConcurrency: 1, maxQueue: 2 });
    await limiter.acquire();
    const waiting = [track(limiter.acquire()), track(limiter.acquire())];

    const refused = track(limiter.acquire());
    await settle();

    expect(refused.state).toBe('rejected');
    expect(refused.error).toBeInstanceOf(QueueFullError);
    expect(isQueueFullError(refused.error)).toBe(true);
    expect(refused.error).toMatchObject({
      kind: 'overloaded',
      status: 503,
      retryable: true,
      limiter: 'openai',
      queued: 2,
      message: 'queue for openai is full (2 waiting)',
    });
    expect(waiting.map((call) => call.state)).toEqual(['pending', 'pending']);
    expect(limiter.running).toBe(1);
    expect(limiter.queued).toBe(2);
    expect(limiter.stats().rejected.queue_full).toBe(1);
  });

  it('with maxQueue 0 refuses every call that finds no free slot', async () => {
    const limiter = createConcurrencyLimiter({ name: 'glm', maxConcurrency: 2, maxQueue: 0 });
    await limiter.acquire();
    await limiter.acquire();
    await expect(limiter.acquire()).rejects.toThrow('queue for glm is full (0 waiting)');
    expect(limiter.queued).toBe(0);
  });

  it('rejects with QueueTimeoutError after maxQueueMs, and the call never starts', async () => {
    const limiter = createConcurrencyLimiter({ name: 'openai', maxConcurrency: 1, maxQueueMs: 1000 });
    const hold = await limiter.acquire();
    const fn = vi.fn(() => 'ran');
    const call = track(limiter.run(fn));

    await vi.advanceTimersByTimeAsync(999);
    expect(call.state).toBe('pending');
    expect(limiter.queued).toBe(1);

    await vi.advanceTimersByTimeAsync(1);
    expect(call.state).toBe('rejected');
    expect(call.error).toBeInstanceOf(QueueTimeoutError);
    expect(isQueueTimeoutError(call.error)).toBe(true);
    expect(call.error).toMatchObject({
      kind: 'overloaded',
      status: 503,
      retryable: true,
      limiter: 'openai',
      maxQueueMs: 1000,
      message: 'waited more than 1000 ms in the queue for openai',
    });
    expect(limiter.queued).toBe(0);

    hold();
    await settle();
    expect(fn).not.toHaveBeenCalled();
    expect(limiter.running).toBe(0);
    expect(limiter.stats().rejected.queue_timeout).toBe(1);
  });

  it('does not time out a call that got its slot before maxQueueMs', async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 1, maxQueueMs: 1000 });
    const hold = await limiter.acquire();
    const call = track(limiter.acquire());
    await vi.advanceTimersByTimeAsync(500);
    hold();
    await vi.advanceTimersByTimeAsync(5000);
    expect(call.state).toBe('resolved');
    expect(limiter.running).toBe(1);
    expect(limiter.stats().rejected.queue_timeout).toBe(0);
  });

  it('never times out when maxQueueMs is Infinity', async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 1, maxQueueMs: Infinity });
    const hold = await limiter.acquire();
    const call = track(limiter.acquire());
    await vi.advanceTimersByTimeAsync(24 * 60 * 60 * 1000);
    expect(call.state).toBe('pending');
    hold();
    await settle();
    expect(call.state).toBe('resolved');
  });

  it('removes an aborted call from the queue at once and rejects with the abort reason', async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 1 });
    const hold = await limiter.acquire();
    const controller = new AbortController();
    const fn = vi.fn();
    const aborted = track(limiter.run(fn, { signal: controller.signal }));
    const after = track(limiter.acquire());
    expect(limiter.queued).toBe(2);

    const reason = new Error('client went away');
    controller.abort(reason);
    expect(limiter.queued).toBe(1);
    await settle();
    expect(aborted.state).toBe('rejected');
    expect(aborted.error).toBe(reason);

    // The freed slot goes to the next call: the aborted one never takes it.
    hold();
    await settle();
    expect(fn).not.toHaveBeenCalled();
    expect(after.state).toBe('resolved');
    expect(limiter.running).toBe(1);
    expect(limiter.stats().rejected.aborted).toBe(1);
    expect(limiter.stats().started).toBe(2);
  });

  it('refuses a call whose signal is already aborted, even when a slot is free', async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 1 });
    const reason = new Error('already gone');
    await expect(limiter.acquire({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(limiter.running).toBe(0);
    expect(limiter.stats().started).toBe(0);
  });

  it('ignores an abort after the slot was acquired (releasing is the caller’s job)', async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 1 });
    const controller = new AbortController();
    const release = await limiter.acquire({ signal: controller.signal });
    controller.abort();
    expect(limiter.running).toBe(1);
    release();
    expect(limiter.running).toBe(0);
  });

  it('makes release idempotent: a double release frees one slot, not two', async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 2 });
    const first = await limiter.acquire();
    await limiter.acquire();
    const third = track(limiter.acquire());
    const fourth = track(limiter.acquire());
    expect(limiter.queued).toBe(2);

    first();
    first();
    await settle();

    expect(third.state).toBe('resolved');
    expect(fourth.state).toBe('pending');
    expect(limiter.running).toBe(2);
    expect(limiter.queued).toBe(1);
    expect(limiter.stats().completed).toBe(1);
  });

  it('keeps running and queued exact at every step, a streaming holder keeping its slot until release', async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 2 });
    const counts = (): [number, number] => [limiter.running, limiter.queued];

    const stream = await limiter.acquire();
    expect(counts()).toEqual([1, 0]);
    const chat = await limiter.acquire();
    expect(counts()).toEqual([2, 0]);
    const third = limiter.acquire();
    const fourth = limiter.acquire({ priority: 0 });
    expect(counts()).toEqual([2, 2]);

    chat();
    // Synchronous hand-over: the slot is already taken by the most urgent waiter.
    expect(counts()).toEqual([2, 1]);
    const fourthRelease: Release = await fourth;

    // The stream still holds its slot, however long it runs.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(counts()).toEqual([2, 1]);
    stream();
    expect(counts()).toEqual([2, 0]);
    const thirdRelease = await third;

    fourthRelease();
    expect(counts()).toEqual([1, 0]);
    thirdRelease();
    expect(counts()).toEqual([0, 0]);
  });

  it('releases the slot when the function of run throws, and passes the error on', async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 1 });
    const failure = new Error('upstream 500');
    const failing = limiter.run(() => Promise.reject(failure));
    const next = limiter.run(() => 'next');
    await expect(failing).rejects.toBe(failure);
    await expect(next).resolves.toBe('next');
    expect(limiter.running).toBe(0);
  });

  it('stop() rejects every queued call and every later one, and lets running calls finish', async () => {
    const limiter = createConcurrencyLimiter({ name: 'openai', maxConcurrency: 1 });
    const running = await limiter.acquire();
    const queued = [track(limiter.acquire()), track(limiter.acquire({ priority: 0 }))];

    limiter.stop();
    await settle();

    for (const call of queued) {
      expect(call.state).toBe('rejected');
      expect(call.error).toBeInstanceOf(LimiterStoppedError);
      expect(isLimiterStoppedError(call.error)).toBe(true);
      expect(call.error).toMatchObject({ kind: 'overloaded', status: 503, retryable: true, limiter: 'openai' });
    }
    expect(limiter.queued).toBe(0);
    expect(limiter.running).toBe(1);
    await expect(limiter.acquire()).rejects.toBeInstanceOf(LimiterStoppedError);

    running();
    expect(limiter.running).toBe(0);
    expect(limiter.stats().rejected.stopped).toBe(3);
    // Stopped waiters have no timer left behind.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reports queued, started, done and rejected events with waiting and holding times', async () => {
    let clock = 1000;
    const events: LimiterEvent[] = [];
    const limiter = createConcurrencyLimiter({
      name: 'openai',
      maxConcurrency: 1,
      maxQueue: 1,
      now: () => clock,
      onEvent: (event) => events.push(event),
    });
    const first = await limiter.acquire();
    const second = limiter.acquire({ priority: 2 });
    await expect(limiter.acquire()).rejects.toBeInstanceOf(QueueFullError);
    clock += 250;
    first();
    clock += 100;
    (await second)();

    expect(events).toEqual([
      { type: 'started', limiter: 'openai', priority: 5, waitedMs: 0, running: 1 },
      { type: 'queued', limiter: 'openai', priority: 2, queued: 1 },
      {
        type: 'rejected',
        limiter: 'openai',
        priority: 5,
        reason: 'queue_full',
        waitedMs: 0,
        error: expect.any(QueueFullError),
      },
      { type: 'done', limiter: 'openai', heldMs: 250, running: 0 },
      { type: 'started', limiter: 'openai', priority: 2, waitedMs: 250, running: 1 },
      { type: 'done', limiter: 'openai', heldMs: 100, running: 0 },
    ]);
  });

  it('stays consistent when the onEvent listener throws', async () => {
    const uncaught: unknown[] = [];
    const limiter = createConcurrencyLimiter({
      maxConcurrency: 1,
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    const originalQueueMicrotask = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (callback) =>
      originalQueueMicrotask(() => {
        try {
          callback();
        } catch (error) {
          uncaught.push(error);
        }
      });
    try {
      const release = await limiter.acquire();
      const next = limiter.acquire();
      release();
      (await next)();
      await settle();
    } finally {
      globalThis.queueMicrotask = originalQueueMicrotask;
    }
    expect(limiter.running).toBe(0);
    expect(limiter.stats().completed).toBe(2);
    expect(uncaught).toHaveLength(5);
  });

  it('setMaxConcurrency raising the cap starts queued calls at once, by priority', async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 1 });
    await limiter.acquire();
    const low = track(limiter.acquire({ priority: 9 }));
    const urgent = track(limiter.acquire({ priority: 0 }));
    const middle = track(limiter.acquire({ priority: 5 }));

    limiter.setMaxConcurrency(3);

    // Synchronous: the two most urgent waiters hold slots before setMaxConcurrency returns.
    expect([limiter.maxConcurrency, limiter.running, limiter.queued]).toEqual([3, 3, 1]);
    await settle();
    expect([urgent.state, middle.state, low.state]).toEqual(['resolved', 'resolved', 'pending']);
  });

  it('setMaxConcurrency lowering the cap lets running calls finish and drops no queued call', async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 3, maxQueueMs: Infinity });
    const holders = [await limiter.acquire(), await limiter.acquire(), await limiter.acquire()];
    const waiting = [track(limiter.acquire()), track(limiter.acquire())];

    limiter.setMaxConcurrency(1);
    expect([limiter.running, limiter.queued]).toEqual([3, 2]);

    // Two releases only bring running down to the new cap: nobody starts yet.
    holders[0]?.();
    holders[1]?.();
    await settle();
    expect([limiter.running, limiter.queued]).toEqual([1, 2]);
    expect(waiting.map((call) => call.state)).toEqual(['pending', 'pending']);

    holders[2]?.();
    await settle();
    expect([limiter.running, limiter.queued]).toEqual([1, 1]);
    expect(waiting.map((call) => call.state)).toEqual(['resolved', 'pending']);
    (waiting[0]?.value as Release)();
    await settle();
    expect(waiting[1]?.state).toBe('resolved');
    expect(limiter.stats().rejected).toEqual({ queue_full: 0, queue_timeout: 0, aborted: 0, stopped: 0 });
  });

  it('setMaxConcurrency refuses a value that is not an integer >= 1 and keeps the old cap', () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 2 });
    expect(() => limiter.setMaxConcurrency(0)).toThrow('maxConcurrency must be an integer >= 1, got 0');
    expect(() => limiter.setMaxConcurrency(2.5)).toThrow(RangeError);
    expect(limiter.maxConcurrency).toBe(2);
  });

  it('refuses invalid options and priorities with a RangeError', async () => {
    expect(() => createConcurrencyLimiter({ maxConcurrency: 0 })).toThrow(RangeError);
    expect(() => createConcurrencyLimiter({ maxConcurrency: 1.5 })).toThrow(RangeError);
    expect(() => createConcurrencyLimiter({ maxConcurrency: 1, maxQueue: -1 })).toThrow(RangeError);
    expect(() => createConcurrencyLimiter({ maxConcurrency: 1, maxQueueMs: 0 })).toThrow(RangeError);
    const limiter = createConcurrencyLimiter({ maxConcurrency: 1 });
    await expect(limiter.acquire({ priority: 10 })).rejects.toThrow('priority must be an integer from 0 to 9, got 10');
    await expect(limiter.acquire({ priority: -1 })).rejects.toBeInstanceOf(RangeError);
    expect(limiter.running).toBe(0);
  });

  it('guards tell the three refusals apart and reject other errors', () => {
    const full = new QueueFullError({ limiter: 'a', queued: 1 });
    const timeout = new QueueTimeoutError({ limiter: 'a', maxQueueMs: 5 });
    expect([isQueueFullError(full), isQueueFullError(timeout), isQueueFullError(new Error('x'))]).toEqual([
      true,
      false,
      false,
    ]);
    expect([isQueueTimeoutError(timeout), isQueueTimeoutError(full), isQueueTimeoutError(null)]).toEqual([
      true,
      false,
      false,
    ]);
    expect(isLimiterStoppedError(full)).toBe(false);
  });
});
