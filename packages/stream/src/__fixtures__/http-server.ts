import { createServer, get } from 'node:http';
import { decodeSse } from '../decode-sse.ts';
import type { SseMessage } from '../sse-message.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { collect as collectAll } from '@gw/test-kit';

/** Test-only: a real HTTP server on 127.0.0.1 with an ephemeral port. */
export interface TestServer {
  url: string;
  close(): Promise<void>;
}

/** Rejects if `promise` has not settled within `ms`: a bound on things that must not hang. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function startServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<TestServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the test server has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}

/** GETs `url` and resolves with the response as soon as its head arrives, body unread. */
export function getResponse(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, resolve).on('error', reject));
}

/** Every SSE message of a body, in order. */
export async function collect(body: AsyncIterable<Uint8Array>): Promise<SseMessage[]> {
  return collectAll(decodeSse(body));
}

/** Resolves once `read()` has stopped changing for a while: the pipes between server and client are full. */
export async function settled(read: () => number): Promise<number> {
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

