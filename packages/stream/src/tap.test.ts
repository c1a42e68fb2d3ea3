import { describe, expect, it } from 'vitest';
import { createControlledSource } from './__fixtures__/controlled-source.ts';
import { tap } from './tap.ts';

function recordEnds(): { ends: unknown[][]; onEnd: (...args: unknown[]) => void } {
  const ends: unknown[][] = [];
  return { ends, onEnd: (...args) => ends.push(args) };
}

describe('tap', () => {
  it('sees every item in order and calls onEnd once, without an error, on completion', async () => {
    const source = createControlledSource<string>();
    const seen: string[] = [];
    const { ends, onEnd } = recordEnds();
    ['a', 'b', 'c'].forEach((item) => source.push(item));
    source.end();
    const received: string[] = [];
    for await (const item of tap(source, { onItem: (item) => seen.push(item), onEnd })) received.push(item);
    expect(received).toEqual(['a', 'b', 'c']);
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(ends).toEqual([[]]);
  });

  it('calls onEnd once with the error when the source fails, and still throws it', async () => {
    const source = createControlledSource<string>();
    const { ends, onEnd } = recordEnds();
    const failure = new Error('upstream reset');
    source.push('a');
    source.fail(failure);
    const iterator = tap(source, { onEnd });
    expect(await iterator.next()).toEqual({ done: false, value: 'a' });
    await expect(iterator.next()).rejects.toBe(failure);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    await iterator.return?.();
    expect(ends).toEqual([[failure]]);
  });

  it('calls onEnd once on an early break and returns the source', async () => {
    const source = createControlledSource<string>();
    const { ends, onEnd } = recordEnds();
    ['a', 'b', 'c'].forEach((item) => source.push(item));
    const iterator = tap(source, { onEnd });
    for await (const item of iterator) {
      if (item === 'b') break;
    }
    await iterator.return?.();
    expect(ends).toEqual([[]]);
    expect(source.returnCalls).toBe(1);
  });

  it('calls onEnd even when return() comes before the first item', async () => {
    const source = createControlledSource<string>();
    const { ends, onEnd } = recordEnds();
    await tap(source, { onEnd }).return?.();
    expect(ends).toEqual([[]]);
    expect(source.returnCalls).toBe(1);
  });

  it('settles a waiting next() as done when return() is called meanwhile (a cancelled response)', async () => {
    const source = createControlledSource<string>();
    const { ends, onEnd } = recordEnds();
    const iterator = tap(source, { onEnd });
    const waiting = iterator.next();
    await iterator.return?.();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(ends).toEqual([[]]);
    expect(source.returnCalls).toBe(1);
  });

  it('ends with the error of a throwing onItem, returning the source', async () => {
    const source = createControlledSource<string>();
    const { ends, onEnd } = recordEnds();
    const bad = new Error('bad usage payload');
    source.push('a');
    const iterator = tap(source, {
      onItem: () => {
        throw bad;
      },
      onEnd,
    });
    await expect(iterator.next()).rejects.toBe(bad);
    expect(ends).toEqual([[bad]]);
    expect(source.returnCalls).toBe(1);
  });

  it('surfaces an error thrown by onEnd from the call that ended the iteration', async () => {
    const source = createControlledSource<string>();
    source.end();
    const settleFailed = new Error('ledger down');
    const iterator = tap(source, {
      onEnd: () => {
        throw settleFailed;
      },
    });
    await expect(iterator.next()).rejects.toBe(settleFailed);
  });
});
