import { get } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, within } from './__fixtures__/http-server.ts';
import type { TestServer } from './__fixtures__/http-server.ts';
import { loadSseFixtures } from './__fixtures__/load-fixtures.ts';
import { decodeSse } from './decode-sse.ts';
import { isSseEventTooLargeError } from './sse-event-too-large-error.ts';
import type { SseMessage } from './sse-message.ts';

const fixtures = loadSseFixtures();
let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

function fixture(name: string): { bytes: Uint8Array; expected: SseMessage[] } {
  const found = fixtures.find((f) => f.name === name);
  if (found === undefined) throw new Error(`no fixture ${name}`);
  return found;
}

/** Writes `bytes` in small pieces on separate ticks, the way a model streams. */
async function trickle(response: ServerResponse, bytes: Uint8Array, pieceSize: number): Promise<void> {
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  for (let start = 0; start < bytes.length; start += pieceSize) {
    response.write(bytes.subarray(start, start + pieceSize));
    await new Promise((resolve) => setImmediate(resolve));
  }
  response.end();
}

/** A server that sends one message every few ms until the client goes away; resolves `closed` then. */
async function startEndlessServer(): Promise<{ closed: Promise<void> }> {
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  server = await startServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    let n = 0;
    const timer = setInterval(() => response.write(`data: ${n++}\n\n`), 5);
    response.on('close', () => {
      clearInterval(timer);
      markClosed();
    });
  });
  return { closed };
}

/** A server that sends one message and then says nothing more until the client goes away. */
async function startStallingServer(): Promise<{ closed: Promise<void> }> {
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  server = await startServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write('data: first\n\n');
    response.on('close', () => markClosed());
  });
  return { closed };
}

function getResponse(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, resolve).on('error', reject));
}

describe('decodeSse over real HTTP', () => {
  it.each(['openai-chat', 'anthropic-messages', 'qwen-utf8-multibyte'])(
    'decodes a fetch() body that arrives in 5-byte pieces (%s)',
    async (name) => {
      const { bytes, expected } = fixture(name);
      server = await startServer((_request, response) => void trickle(response, bytes, 5));
      const response = await fetch(server.url);
      if (response.body === null) throw new Error('no body');
      const messages: SseMessage[] = [];
      for await (const message of decodeSse(response.body)) messages.push(message);
      expect(messages).toEqual(expected);
    },
  );

  it('decodes a Node IncomingMessage (an AsyncIterable of Buffers)', async () => {
    const { bytes, expected } = fixture('deepseek-reasoner-crlf');
    server = await startServer((_request, response) => void trickle(response, bytes, 3));
    const messages: SseMessage[] = [];
    for await (const message of decodeSse(await getResponse(server.url))) messages.push(message);
    expect(messages).toEqual(expected);
  });

  it.each([false, true])(
    'hands out the messages of one read through takeBuffered, in order with next() (signal: %s)',
    async (withSignal) => {
      server = await startServer((_request, response) => {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        // One write, so the three messages arrive in one read.
        response.end('data: a\n\ndata: b\n\ndata: c\n\n');
      });
      const response = await fetch(server.url);
      const messages = decodeSse(response.body!, withSignal ? { signal: new AbortController().signal } : {});
      expect(messages.takeBuffered()).toBeUndefined(); // nothing read yet
      const received: string[] = [];
      for (;;) {
        const buffered = messages.takeBuffered();
        if (buffered !== undefined) {
          received.push(`take:${buffered.data}`);
          continue;
        }
        const next = await messages.next();
        if (next.done === true) break;
        received.push(`next:${next.value.data}`);
      }
      expect(received).toEqual(['next:a', 'take:b', 'take:c']);
    },
  );

  it('takeBuffered hands out nothing after an abort or return()', async () => {
    server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end('data: a\n\ndata: b\n\ndata: c\n\n');
    });
    const controller = new AbortController();
    const aborted = decodeSse((await fetch(server.url)).body!, { signal: controller.signal });
    expect(await aborted.next()).toMatchObject({ value: { data: 'a' } });
    controller.abort();
    expect(aborted.takeBuffered()).toBeUndefined();

    const returned = decodeSse((await fetch(server.url)).body!);
    expect(await returned.next()).toMatchObject({ value: { data: 'a' } });
    await returned.return?.();
    expect(returned.takeBuffered()).toBeUndefined();
  });

  it('cancels the fetch body when the loop breaks early, so the server sees the client leave', async () => {
    const { closed } = await startEndlessServer();
    const response = await fetch(server!.url);
    const received: string[] = [];
    for await (const message of decodeSse(response.body!)) {
      received.push(message.data);
      if (received.length === 3) break;
    }
    expect(received).toEqual(['0', '1', '2']);
    await within(closed, 5000, 'the server seeing the connection close');
  });

  it('rejects a waiting next() with the abort reason and tears the fetch body down', async () => {
    const { closed } = await startStallingServer();
    const controller = new AbortController();
    const response = await fetch(server!.url);
    const messages = decodeSse(response.body!, { signal: controller.signal });
    expect(await messages.next()).toMatchObject({ done: false, value: { data: 'first' } });
    const waiting = messages.next();
    const reason = new Error('client disconnected');
    controller.abort(reason);
    await expect(within(waiting, 5000, 'the waiting next() settling')).rejects.toBe(reason);
    await within(closed, 5000, 'the server seeing the connection close');
  });

  it('destroys a Node stream body on abort, even while a read is waiting', async () => {
    const { closed } = await startStallingServer();
    const controller = new AbortController();
    const body = await getResponse(server!.url);
    const messages = decodeSse(body, { signal: controller.signal });
    expect(await messages.next()).toMatchObject({ done: false, value: { data: 'first' } });
    const waiting = messages.next();
    controller.abort();
    await expect(within(waiting, 5000, 'the waiting next() settling')).rejects.toMatchObject({ name: 'AbortError' });
    await within(closed, 5000, 'the server seeing the connection close');
    expect(body.destroyed).toBe(true);
  });

  it('throws the error of a failing body', async () => {
    const failure = new Error('socket hang up');
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls += 1;
        if (pulls === 1) controller.enqueue(new TextEncoder().encode('data: ok\n\n'));
        else controller.error(failure);
      },
    });
    const received: string[] = [];
    await expect(
      (async () => {
        for await (const message of decodeSse(body)) received.push(message.data);
      })(),
    ).rejects.toBe(failure);
    expect(received).toEqual(['ok']);
  });

  it('passes comments to onComment and not to the loop', async () => {
    const comments: string[] = [];
    const body = ReadableStream.from([new TextEncoder().encode(': keep-alive\n\ndata: x\n\n: bye\n\n')]);
    const messages: SseMessage[] = [];
    for await (const message of decodeSse(body, { onComment: (c) => comments.push(c) })) messages.push(message);
    expect(messages).toEqual([{ data: 'x' }]);
    expect(comments).toEqual(['keep-alive', 'bye']);
  });
});

/** A server that sends one message and then a line that never ends, as fast as the client reads it. */
async function startEndlessLineServer(): Promise<{ closed: Promise<void> }> {
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  server = await startServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write('data: small\n\ndata: ');
    const piece = 'x'.repeat(16 * 1024);
    const pump = (): void => {
      while (!response.destroyed && response.write(piece));
    };
    response.on('drain', pump);
    response.on('close', () => markClosed());
    pump();
  });
  return { closed };
}

describe('decodeSse with maxEventSize', () => {
  it('hands out the events before an oversized one, then fails and lets the connection go', async () => {
    const { closed } = await startEndlessLineServer();
    const messages = decodeSse((await fetch(server!.url)).body!, { maxEventSize: 256 * 1024 });
    expect(await messages.next()).toMatchObject({ value: { data: 'small' } });
    const error: unknown = await messages.next().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isSseEventTooLargeError(error)).toBe(true);
    expect(error).toMatchObject({ maxEventSize: 256 * 1024 });
    await within(closed, 5_000, 'the server seeing the client leave');
    expect(await messages.next()).toEqual({ done: true, value: undefined });
  });

  it('counts the data lines of one event together, and lets events up to the limit through', async () => {
    const text = `data: ${'a'.repeat(60)}\ndata: ${'b'.repeat(60)}\n\n`;
    const fits = decodeSse(ReadableStream.from([new TextEncoder().encode(text)]), { maxEventSize: 200 });
    expect((await fits.next()).value?.data).toHaveLength(121);
    // Fed in small pieces, so the parser holds the first line as data while the second arrives.
    const pieces = text.match(/[\s\S]{1,20}/g)!.map((piece) => new TextEncoder().encode(piece));
    const over = decodeSse(ReadableStream.from(pieces), { maxEventSize: 100 });
    await expect(over.next()).rejects.toMatchObject({ name: 'SseEventTooLargeError' });
  });
});
