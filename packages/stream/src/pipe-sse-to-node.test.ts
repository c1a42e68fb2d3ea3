import { afterEach, describe, expect, it, vi } from 'vitest';
import { createControlledSource } from './__fixtures__/controlled-source.ts';
import { collect, getResponse, startServer, within } from './__fixtures__/http-server.ts';
import type { TestServer } from './__fixtures__/http-server.ts';
import { decodeSse } from './decode-sse.ts';
import { SSE_DONE } from './encode-sse.ts';
import { pipeSseToNode } from './pipe-sse-to-node.ts';
import type { SseStreamItem } from './to-sse-stream.ts';

// The contract pipeSseToNode shares with toSseStream (backpressure, disconnect, onError, item kinds) is
// tested against both in to-sse-stream.test.ts; this file holds what is particular to it.

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('pipeSseToNode', () => {
  it('returns the source at once when the client disconnects while a read is pending, and resolves', async () => {
    const source = createControlledSource<SseStreamItem>();
    source.push({ data: 'one' });
    let piped: Promise<void> | undefined;
    server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      piped = pipeSseToNode(source, response);
    });

    const received: string[] = [];
    for await (const message of decodeSse(await getResponse(server.url))) {
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
    await within(piped ?? Promise.reject(new Error('no request arrived')), 2000, 'the pipe resolving');
  });

  it('sends a last item handed with the done result together with the end of the response', async () => {
    let writes: unknown[][] = [];
    let ends: unknown[][] = [];
    server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const write = vi.spyOn(response, 'write');
      const end = vi.spyOn(response, 'end');
      response.once('finish', () => {
        writes = write.mock.calls;
        ends = end.mock.calls;
      });
      void pipeSseToNode(
        (async function* () {
          yield 'data: one\n\n';
          return SSE_DONE;
        })(),
        response,
      );
    });
    const messages = await within(collect(await getResponse(server.url)), 2000, 'the response ending');
    expect(messages).toEqual([{ data: 'one' }, { data: '[DONE]' }]);
    // One socket write for the last item and the end of the chunked body, not a write and then an end.
    expect(writes.map((call) => call[0])).toEqual(['data: one\n\n']);
    expect(ends.map((call) => call[0])).toEqual([SSE_DONE]);
  });
});
