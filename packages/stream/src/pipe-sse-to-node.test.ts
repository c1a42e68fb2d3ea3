import { afterEach, describe, expect, it } from 'vitest';
import { createControlledSource } from './__fixtures__/controlled-source.ts';
import { getResponse, startServer, within } from './__fixtures__/http-server.ts';
import type { TestServer } from './__fixtures__/http-server.ts';
import { decodeSse } from './decode-sse.ts';
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
});
