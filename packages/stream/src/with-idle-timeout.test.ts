import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createControlledSource } from './__fixtures__/controlled-source.ts';
import { isStreamIdleTimeoutError, StreamIdleTimeoutError } from './stream-idle-timeout-error.ts';
import { withIdleTimeout } from './with-idle-timeout.ts';

describe('withIdleTimeout', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('throws StreamIdleTimeoutError once the source has been silent for idleMs, and returns the source', async () => {
    const source = createControlledSource<string>();
    const iterator = withIdleTimeout(source, { idleMs: 1000 });
    source.push('first');
    expect(await iterator.next()).toEqual({ done: false, value: 'first' });

    const stalled = iterator.next();
    const outcome = stalled.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(999);
    expect(source.returnCalls).toBe(0);
    await vi.advanceTimersByTimeAsync(1);

    const error = await outcome;
    expect(isStreamIdleTimeoutError(error)).toBe(true);
    expect(error).toBeInstanceOf(StreamIdleTimeoutError);
    expect(error).toMatchObject({ idleMs: 1000 });
    expect(source.returnCalls).toBe(1);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('stays alive while items keep arriving within the window, each one restarting it', async () => {
    const source = createControlledSource<number>();
    const iterator = withIdleTimeout(source, { idleMs: 1000 });
    const received: number[] = [];
    const consuming = (async () => {
      for await (const item of iterator) received.push(item);
    })();
    for (let i = 0; i < 10; i += 1) {
      await vi.advanceTimersByTimeAsync(900); // 9 s in total, far past one window
      source.push(i);
    }
    source.end();
    await consuming;
    expect(received).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(source.returnCalls).toBe(0);
  });

  it('does not count the time a slow consumer spends between items', async () => {
    const source = createControlledSource<string>();
    const iterator = withIdleTimeout(source, { idleMs: 1000 });
    source.push('a');
    source.push('b');
    expect(await iterator.next()).toEqual({ done: false, value: 'a' });
    await vi.advanceTimersByTimeAsync(5000); // the consumer is busy; the source is not asked
    expect(await iterator.next()).toEqual({ done: false, value: 'b' });
    const next = iterator.next();
    await vi.advanceTimersByTimeAsync(500);
    source.push('c');
    expect(await next).toEqual({ done: false, value: 'c' });
  });

  it('ends with the abort reason when the signal aborts, returns the source and drops its listener', async () => {
    const source = createControlledSource<string>();
    const controller = new AbortController();
    const iterator = withIdleTimeout(source, { idleMs: 1000, signal: controller.signal });
    const next = iterator.next();
    const reason = new Error('client went away');
    controller.abort(reason);
    await expect(next).rejects.toBe(reason);
    expect(source.returnCalls).toBe(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('stops its timer when the source completes, so nothing fires later', async () => {
    const source = createControlledSource<string>();
    const iterator = withIdleTimeout(source, { idleMs: 1000 });
    source.end();
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    expect(vi.getTimerCount()).toBe(0);
    expect(source.returnCalls).toBe(0);
  });

  it('rejects an idleMs that is not positive', () => {
    expect(() => withIdleTimeout(createControlledSource(), { idleMs: 0 })).toThrow(RangeError);
    expect(() => withIdleTimeout(createControlledSource(), { idleMs: Number.NaN })).toThrow(RangeError);
  });
});
