import { describe, expect, it } from 'vitest';
import { BulkheadRejectedError, createBulkhead, isBulkheadRejectedError } from './bulkhead.ts';

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

describe('createBulkhead', () => {
  it('runs maxConcurrency calls, queues maxQueue and rejects the rest', async () => {
    const bulkhead = createBulkhead({ maxConcurrency: 1, maxQueue: 1 });
    const gate = deferred<string>();
    const started: string[] = [];
    const first = bulkhead.execute(() => {
      started.push('first');
      return gate.promise;
    });
    const second = bulkhead.execute(() => {
      started.push('second');
      return 'second';
    });
    const third = await bulkhead.execute(() => 'third').catch((error: unknown) => error);
    expect(isBulkheadRejectedError(third)).toBe(true);
    expect(third).toBeInstanceOf(BulkheadRejectedError);
    expect(third).toMatchObject({ kind: 'overloaded', retryable: true, maxConcurrency: 1, maxQueue: 1 });
    expect(started).toEqual(['first']);
    expect(bulkhead.stats()).toEqual({ active: 1, queued: 1, rejections: 1 });

    gate.resolve('first');
    await expect(first).resolves.toBe('first');
    await expect(second).resolves.toBe('second');
    expect(started).toEqual(['first', 'second']);
    expect(bulkhead.stats()).toEqual({ active: 0, queued: 0, rejections: 1 });
  });

  it('rejects at once when full and maxQueue is the default 0', async () => {
    const bulkhead = createBulkhead({ maxConcurrency: 1 });
    const gate = deferred<void>();
    const running = bulkhead.execute(() => gate.promise);
    await expect(bulkhead.execute(() => 'x')).rejects.toBeInstanceOf(BulkheadRejectedError);
    gate.resolve();
    await running;
  });

  it('rejects a queued call with the abort reason as soon as its signal fires, and never runs it', async () => {
    const bulkhead = createBulkhead({ maxConcurrency: 1, maxQueue: 1 });
    const gate = deferred<void>();
    const running = bulkhead.execute(() => gate.promise);
    const controller = new AbortController();
    let ran = false;
    const queued = bulkhead.execute(
      () => {
        ran = true;
      },
      { signal: controller.signal },
    );
    controller.abort(new Error('gone'));
    await expect(queued).rejects.toThrow('gone');
    gate.resolve();
    await running;
    await Promise.resolve();
    expect(ran).toBe(false);
  });

  it('passes errors of fn through', async () => {
    const bulkhead = createBulkhead({ maxConcurrency: 2 });
    await expect(
      bulkhead.execute(() => {
        throw new Error('upstream');
      }),
    ).rejects.toThrow('upstream');
  });

  it('still accepts the deprecated maxConcurrent, as the same cap', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1 });
    const gate = deferred<void>();
    const running = bulkhead.execute(() => gate.promise);
    const rejected = await bulkhead.execute(() => 'second').catch((error: unknown) => error);
    expect(rejected).toMatchObject({ kind: 'overloaded', maxConcurrency: 1, maxConcurrent: 1, maxQueue: 0 });
    gate.resolve();
    await running;
    expect(bulkhead.stats()).toEqual({ active: 0, queued: 0, rejections: 1 });
  });

  it('refuses a capacity below one', () => {
    expect(() => createBulkhead({ maxConcurrency: 0 })).toThrow(RangeError);
    expect(() => createBulkhead({ maxConcurrency: 1, maxQueue: -1 })).toThrow(RangeError);
  });
});
