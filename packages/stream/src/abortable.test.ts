import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createControlledSource } from './__fixtures__/controlled-source.ts';
import { abortable } from './abortable.ts';

describe('abortable', () => {
  it('passes items through until the end', async () => {
    const source = createControlledSource<number>();
    const controller = new AbortController();
    source.push(1);
    source.push(2);
    source.end();
    const received: number[] = [];
    for await (const item of abortable(source, controller.signal)) received.push(item);
    expect(received).toEqual([1, 2]);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects a waiting next() with the abort reason at once and returns the source', async () => {
    const source = createControlledSource<number>();
    const controller = new AbortController();
    const iterator = abortable(source, controller.signal);
    source.push(1);
    expect(await iterator.next()).toEqual({ done: false, value: 1 });
    const waiting = iterator.next();
    expect(source.waiting).toBe(true);
    const reason = new Error('client disconnected');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(source.returnCalls).toBe(1);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('delivers an abort between items on the next call, and returns the source right away', async () => {
    const source = createControlledSource<number>();
    const controller = new AbortController();
    const iterator = abortable(source, controller.signal);
    source.push(1);
    source.push(2);
    expect(await iterator.next()).toEqual({ done: false, value: 1 });
    controller.abort();
    expect(source.returnCalls).toBe(1);
    await expect(iterator.next()).rejects.toMatchObject({ name: 'AbortError' });
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('ends a for-await loop mid-stream with the reason', async () => {
    const controller = new AbortController();
    let finallyRan = false;
    async function* numbers(): AsyncGenerator<number> {
      try {
        for (let i = 0; ; i += 1) yield i;
      } finally {
        finallyRan = true;
      }
    }
    const received: number[] = [];
    const loop = (async () => {
      for await (const item of abortable(numbers(), controller.signal)) {
        received.push(item);
        if (item === 4) controller.abort(new Error('stop'));
      }
    })();
    await expect(loop).rejects.toThrow('stop');
    expect(received).toEqual([0, 1, 2, 3, 4]);
    expect(finallyRan).toBe(true);
  });

  it('never reads from the source when the signal is already aborted', async () => {
    const source = createControlledSource<number>();
    source.push(1);
    const iterator = abortable(source, AbortSignal.abort(new Error('too late')));
    await expect(iterator.next()).rejects.toThrow('too late');
    expect(source.pulls).toBe(0);
    expect(source.returnCalls).toBe(1);
  });

  it('returns the source and drops its listener on an early break', async () => {
    const source = createControlledSource<number>();
    const controller = new AbortController();
    source.push(1);
    source.push(2);
    for await (const item of abortable(source, controller.signal)) {
      if (item === 1) break;
    }
    expect(source.returnCalls).toBe(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
