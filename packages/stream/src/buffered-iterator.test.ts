import { describe, expect, it } from 'vitest';
import { hasTakeBuffered } from './buffered-iterator.ts';
import { decodeSse } from './decode-sse.ts';
import { tap } from './tap.ts';
import { withIdleTimeout } from './with-idle-timeout.ts';
import { createControlledSource } from './__fixtures__/controlled-source.ts';

function bodyOf(...parts: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
}

describe('takeBuffered through the wrappers', () => {
  it('hands out messages decoded from one read without a next(), and leaves the rest to next()', async () => {
    const messages = withIdleTimeout(decodeSse(bodyOf('data: a\n\ndata: b\n\ndata: c\n\n', 'data: d\n\n')), {
      idleMs: 60_000,
    });
    expect(messages.takeBuffered()).toBeUndefined(); // nothing read yet
    expect((await messages.next()).value?.data).toBe('a');
    expect(messages.takeBuffered()?.data).toBe('b');
    expect(messages.takeBuffered()?.data).toBe('c');
    expect(messages.takeBuffered()).toBeUndefined(); // d is in the next read
    expect((await messages.next()).value?.data).toBe('d');
    expect((await messages.next()).done).toBe(true);
  });

  it('gives nothing while a next() is pending, so no item overtakes it', async () => {
    const messages = withIdleTimeout(decodeSse(bodyOf('data: a\n\ndata: b\n\n')), { idleMs: 60_000 });
    const first = messages.next();
    expect(messages.takeBuffered()).toBeUndefined();
    expect((await first).value?.data).toBe('a');
    expect(messages.takeBuffered()?.data).toBe('b');
  });

  it('runs the hooks for taken items: an onItem that throws ends the iteration and the next call reports it', async () => {
    const seen: string[] = [];
    const ends: unknown[] = [];
    const failure = new Error('refused');
    const messages = tap(decodeSse(bodyOf('data: a\n\ndata: b\n\ndata: c\n\n')), {
      onItem: (message) => {
        seen.push(message.data);
        if (message.data === 'b') throw failure;
      },
      onEnd: (error) => ends.push(error),
    });
    await messages.next();
    expect(messages.takeBuffered()).toBeUndefined();
    await expect(messages.next()).rejects.toBe(failure);
    expect(seen).toEqual(['a', 'b']);
    expect(ends).toEqual([failure]);
    expect(messages.takeBuffered()).toBeUndefined();
  });

  it('gives nothing after an abort, though bytes were at hand', async () => {
    const controller = new AbortController();
    const messages = decodeSse(bodyOf('data: a\n\ndata: b\n\n'), { signal: controller.signal });
    await messages.next();
    controller.abort(new Error('client gone'));
    expect(messages.takeBuffered()).toBeUndefined();
    await expect(messages.next()).rejects.toThrow('client gone');
  });

  it('gives undefined over a source without takeBuffered', async () => {
    const source = createControlledSource<string>();
    source.push('a');
    expect(hasTakeBuffered(source)).toBe(false);
    const wrapped = withIdleTimeout(source, { idleMs: 60_000 });
    expect(hasTakeBuffered(wrapped)).toBe(true);
    expect(wrapped.takeBuffered()).toBeUndefined();
    expect((await wrapped.next()).value).toBe('a');
  });
});
