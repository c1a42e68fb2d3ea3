import { get } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createControlledSource } from './__fixtures__/controlled-source.ts';
import { startServer, within } from './__fixtures__/http-server.ts';
import type { TestServer } from './__fixtures__/http-server.ts';
import { decodeSse } from './decode-sse.ts';
import { encodeSse, SSE_DONE } from './encode-sse.ts';
import { pipeSseToNode } from './pipe-sse-to-node.ts';
import type { PipeSseToNodeOptions } from './pipe-sse-to-node.ts';
import type { SseMessage } from './sse-message.ts';
import type { SseStreamItem } from './to-sse-stream.ts';

let server: TestServer | undefined;
let piped: Promise<void> | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
  piped = undefined;
});

async function serve(makeSource: () => AsyncIterable<SseStreamItem>, options?: PipeSseToNodeOptions): Promise<string> {
  server = await startServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    piped = pipeSseToNode(makeSource(), response, options);
  });
  return server.url;
}

function getResponse(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, resolve).on('error', reject));
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<SseMessage[]> {
  const messages: SseMessage[] = [];
  for await (const message of decodeSse(body)) messages.push(message);
  return messages;
}

async function settled(read: () => number): Promise<number> {
  let last = -1;
  let stableFor = 0;
  for (let waited = 0; waited < 15_000 && stableFor < 5; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const value = read();
    stableFor = value === last ? stableFor + 1 : 0;
    last = value;
  }
  return last;
}

describe('pipeSseToNode over real HTTP', () => {
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
    await within(piped ?? Promise.resolve(), 2000, 'the pipe resolving');
  });

  it('returns the source at once when the client disconnects while a read is pending', async () => {
    const source = createControlledSource<SseStreamItem>();
    source.push({ data: 'one' });
    const url = await serve(() => source);

    const received: string[] = [];
    for await (const message of decodeSse(await getResponse(url))) {
      received.push(message.data);
      break; // destroys the client socket while the source has nothing more to give
    }
    expect(received).toEqual(['one']);
    await within(
      (async () => {
        while (source.returnCalls === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      })(),
      2000,
      'return() reaching the source',
    );
    expect(source.returnCalls).toBe(1);
    await within(piped ?? Promise.resolve(), 2000, 'the pipe resolving');
  });

  it('writes the message onError returns after the items, then ends the response normally', async () => {
    const url = await serve(
      async function* () {
        yield { data: 'one' };
        yield 'data: two\n\n';
        throw new Error('upstream connection reset');
      },
      { onError: () => ({ event: 'error', data: '{"error":{"message":"upstream failed"}}' }) },
    );
    const messages = await within(collect(await getResponse(url)), 5000, 'the response ending');
    expect(messages).toEqual([
      { data: 'one' },
      { data: 'two' },
      { event: 'error', data: '{"error":{"message":"upstream failed"}}' },
    ]);
  });

  it('breaks the response when the source fails and there is no final message', async () => {
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
