import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createControlledSource } from './__fixtures__/controlled-source.ts';
import { collect, getResponse, settled, startServer, within } from './__fixtures__/http-server.ts';
import type { TestServer } from './__fixtures__/http-server.ts';
import { decodeSse } from './decode-sse.ts';
import { encodeSse, SSE_DONE } from './encode-sse.ts';
import { pipeSseToNode } from './pipe-sse-to-node.ts';
import { toSseStream } from './to-sse-stream.ts';
import type { SseStreamItem, ToSseStreamOptions } from './to-sse-stream.ts';

let server: TestServer | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await server?.close();
  server = undefined;
});

type ErrorOptions = Pick<ToSseStreamOptions, 'onError'>;
type Writer = (
  source: AsyncIterable<SseStreamItem, SseStreamItem | void>,
  response: ServerResponse,
  options?: ErrorOptions,
) => void;

// Both ways of answering with SSE keep one contract; every test of it runs against each.
const writers: Array<[string, Writer]> = [
  [
    'toSseStream piped into the response',
    (source, response, options) => {
      // pipeline also destroys the body stream (so cancel() reaches the source) when the client leaves.
      pipeline(Readable.fromWeb(toSseStream(source, options)), response).catch(() => {});
    },
  ],
  ['pipeSseToNode', (source, response, options) => void pipeSseToNode(source, response, options)],
];

describe.each(writers)('%s over real HTTP', (_name, write) => {
  async function serve(
    makeSource: () => AsyncIterable<SseStreamItem, SseStreamItem | void>,
    options?: ErrorOptions,
  ): Promise<string> {
    server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      write(makeSource(), response, options);
    });
    return server.url;
  }

  it('reads the source only as fast as a paused client reads, then delivers every item in order', async () => {
    const total = 100_000;
    const padding = 'x'.repeat(1024);
    let pulled = 0;
    const url = await serve(async function* () {
      for (let i = 0; i < total; i += 1) {
        pulled += 1;
        yield { data: `${i} ${padding}` };
      }
    });

    const body = await getResponse(url); // not read from yet: the client is paused
    const pulledWhilePaused = await settled(() => pulled);
    expect(pulledWhilePaused).toBeGreaterThan(0);
    expect(pulledWhilePaused).toBeLessThan(total * 0.2);

    let count = 0;
    let outOfOrder = 0;
    for await (const message of decodeSse(body)) {
      if (message.data !== `${count} ${padding}`) outOfOrder += 1;
      count += 1;
    }
    expect(outOfOrder).toBe(0);
    expect(count).toBe(total);
    expect(pulled).toBe(total);
  });

  it('returns the source promptly when the client disconnects mid-stream', async () => {
    let produced = 0;
    let markReturned: () => void = () => {};
    const returned = new Promise<void>((resolve) => {
      markReturned = resolve;
    });
    const url = await serve(async function* () {
      try {
        for (;;) {
          produced += 1;
          yield { data: `chunk ${produced}` };
          await new Promise((resolve) => setImmediate(resolve)); // an upstream that takes turns with I/O
        }
      } finally {
        markReturned();
      }
    });

    const received: string[] = [];
    for await (const message of decodeSse(await getResponse(url))) {
      received.push(message.data);
      if (received.length === 3) break; // destroys the client socket
    }
    expect(received).toEqual(['chunk 1', 'chunk 2', 'chunk 3']);
    await within(returned, 5000, "the source's finally block running");
    const producedAtReturn = produced;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(produced).toBe(producedAtReturn);
  });

  it('writes a last item handed with the done result before the response ends', async () => {
    const url = await serve(async function* () {
      yield { data: 'one' };
      return SSE_DONE;
    });
    const messages = await within(collect(await getResponse(url)), 5000, 'the response ending');
    expect(messages).toEqual([{ data: 'one' }, { data: '[DONE]' }]);
  });

  it('writes the message onError returns after the items, then ends the response normally', async () => {
    const url = await serve(
      async function* () {
        yield { data: 'one' };
        yield { data: 'two' };
        yield { data: 'three' };
        throw new Error('upstream connection reset');
      },
      { onError: () => ({ event: 'error', data: '{"error":{"message":"upstream failed","type":"server_error"}}' }) },
    );
    const messages = await within(collect(await getResponse(url)), 5000, 'the response ending');
    expect(messages).toEqual([
      { data: 'one' },
      { data: 'two' },
      { data: 'three' },
      { event: 'error', data: '{"error":{"message":"upstream failed","type":"server_error"}}' },
    ]);
  });

  it('aborts the response when the source fails and there is no final message', async () => {
    const url = await serve(
      async function* () {
        yield { data: 'one' };
        // Let 'one' reach the client first: a destroy in the same turn can overtake it on the client's side.
        await new Promise((resolve) => setTimeout(resolve, 50));
        throw new Error('upstream connection reset');
      },
      { onError: () => undefined },
    );
    const received: string[] = [];
    const reading = (async () => {
      for await (const message of decodeSse(await getResponse(url))) received.push(message.data);
    })();
    await expect(within(reading, 5000, 'the client noticing')).rejects.toThrow();
    expect(received).toEqual(['one']);
  });

  it('writes strings as-is, encodes messages and passes bytes through', async () => {
    const url = await serve(async function* () {
      yield encodeSse({ event: 'a', data: 'pre-encoded' });
      yield { data: 'line 1\nline 2' };
      yield new TextEncoder().encode('data: bytes\n\n');
      yield SSE_DONE;
    });
    expect(await collect(await getResponse(url))).toEqual([
      { event: 'a', data: 'pre-encoded' },
      { data: 'line 1\nline 2' },
      { data: 'bytes' },
      { data: '[DONE]' },
    ]);
  });
});

describe('toSseStream', () => {
  it('hands out byte items without copying them', async () => {
    const bytes = new TextEncoder().encode('data: x\n\n');
    const reader = toSseStream(
      (async function* () {
        yield bytes;
      })(),
    ).getReader();
    expect((await reader.read()).value).toBe(bytes);
    expect((await reader.read()).done).toBe(true);
  });

  it('does not read ahead: nothing is pulled until the consumer reads', async () => {
    const source = createControlledSource<SseStreamItem>();
    source.push({ data: 'a' });
    source.push({ data: 'b' });
    const reader = toSseStream(source).getReader();
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.pulls).toBe(0);
    await reader.read();
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.pulls).toBe(1);
  });

  it('skips empty items instead of stalling the read', async () => {
    const reader = toSseStream(
      (async function* () {
        yield '';
        yield new Uint8Array(0);
        yield 'data: after empties\n\n';
      })(),
    ).getReader();
    const { value } = await within(reader.read(), 2000, 'the read');
    expect(new TextDecoder().decode(value)).toBe('data: after empties\n\n');
  });

  it('calls source.return() when cancelled before the first read and while a read waits', async () => {
    const idle = createControlledSource<SseStreamItem>();
    await toSseStream(idle).cancel();
    expect(idle.returnCalls).toBe(1);

    const waiting = createControlledSource<SseStreamItem>();
    const reader = toSseStream(waiting).getReader();
    const read = reader.read();
    await new Promise((resolve) => setImmediate(resolve));
    expect(waiting.waiting).toBe(true);
    await reader.cancel();
    expect(waiting.returnCalls).toBe(1);
    expect(await read).toEqual({ done: true, value: undefined });
  });

  it('cancels promptly even when the source is an async generator stuck in an await', async () => {
    let release: () => void = () => {};
    let finallyRan = false;
    const reader = toSseStream(
      (async function* () {
        try {
          await new Promise<void>((resolve) => {
            release = resolve;
          });
          yield 'data: late\n\n';
        } finally {
          finallyRan = true;
        }
      })(),
    ).getReader();
    const read = reader.read();
    await new Promise((resolve) => setImmediate(resolve));
    await within(reader.cancel(), 2000, 'cancel() resolving');
    expect(await read).toEqual({ done: true, value: undefined });
    release(); // the generator's await settles: its queued return() now runs the finally block
    await within(
      (async () => {
        while (!finallyRan) await new Promise((resolve) => setImmediate(resolve));
      })(),
      2000,
      'the finally block running',
    );
  });

  it('errors the stream and returns the source when an item cannot be encoded', async () => {
    const source = createControlledSource<SseStreamItem>();
    source.push({ event: 'bad\nevent', data: 'x' });
    const reader = toSseStream(source).getReader();
    await expect(reader.read()).rejects.toBeInstanceOf(TypeError);
    expect(source.returnCalls).toBe(1);
  });

  it('errors the stream with what onError throws', async () => {
    const handlerFailure = new Error('cannot serialise');
    const reader = toSseStream(
      (async function* () {
        throw new Error('upstream');
      })(),
      {
        onError: () => {
          throw handlerFailure;
        },
      },
    ).getReader();
    await expect(reader.read()).rejects.toBe(handlerFailure);
  });

  it('errors the stream with the source error when there is no onError', async () => {
    const failure = new Error('upstream');
    const reader = toSseStream(
      (async function* () {
        throw failure;
      })(),
    ).getReader();
    await expect(reader.read()).rejects.toBe(failure);
  });

  it('sends a keep-alive comment every heartbeatMs while the source is silent, at most one unread', async () => {
    vi.useFakeTimers();
    const source = createControlledSource<SseStreamItem>();
    const reader = toSseStream(source, { heartbeatMs: 1000 }).getReader();
    const text = async (): Promise<string> => {
      const { value } = await reader.read();
      return new TextDecoder().decode(value);
    };

    const first = text();
    await vi.advanceTimersByTimeAsync(999);
    expect(source.waiting).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(await first).toBe(': keep-alive\n\n');

    await vi.advanceTimersByTimeAsync(5000); // nobody reads: one heartbeat waits, the rest are skipped
    expect(await text()).toBe(': keep-alive\n\n');
    source.push({ data: 'finally' });
    expect(await text()).toBe('data: finally\n\n');

    source.end();
    expect(await reader.read()).toEqual({ done: true, value: undefined });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('sends no heartbeat while items keep coming', async () => {
    vi.useFakeTimers();
    const source = createControlledSource<SseStreamItem>();
    const reader = toSseStream(source, { heartbeatMs: 1000 }).getReader();
    const chunks: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const read = reader.read();
      await vi.advanceTimersByTimeAsync(900);
      source.push({ data: String(i) });
      chunks.push(new TextDecoder().decode((await read).value));
    }
    expect(chunks).toEqual(['data: 0\n\n', 'data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n', 'data: 4\n\n']);
  });

  it('rejects a heartbeatMs that is not positive', () => {
    expect(() => toSseStream(createControlledSource(), { heartbeatMs: 0 })).toThrow(RangeError);
  });
});
