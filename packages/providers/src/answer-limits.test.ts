// What an upstream can make a provider hold or wait for is bounded: the bytes of a JSON answer, the size of one
// streamed event, a pause in a JSON body, the wait for an answer to begin. Past a bound the call fails with its own
// error and the connection is let go; a model name cannot climb out of the path it is put in.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { waitFor } from '@gw/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, rejection } from './__fixtures__/provider-test-kit.ts';
import { createProvider } from './create-provider.ts';
import { createHttpTransport } from './http-transport.ts';
import { startStandInUpstream } from './testing/stand-in-upstream.ts';
import type { StandInUpstream } from './testing/stand-in-types.ts';

const request = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };
const KIB = 1024;

let server: Server | undefined;
let upstream: StandInUpstream | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
  await upstream?.close();
  server = undefined;
  upstream = undefined;
});

/** A server whose every answer `answer` writes; `closed` counts the answers whose client went away. */
async function startServer(
  answer: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<{ url: string; closed: () => number }> {
  let closed = 0;
  server = createServer((incoming, response) => {
    response.once('close', () => {
      if (!response.writableFinished) closed += 1;
    });
    answer(incoming, response);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { url: `http://127.0.0.1:${address.port}/v1`, closed: () => closed };
}

/** Writes `head`, then `piece` again and again for as long as the client reads. */
function endless(response: ServerResponse, contentType: string, head: string, piece: string): void {
  response.writeHead(200, { 'content-type': contentType });
  response.write(head);
  const pump = (): void => {
    while (!response.destroyed && response.write(piece));
  };
  response.on('drain', pump);
  pump();
}

describe('maxResponseBytes', () => {
  it('refuses a JSON answer by its Content-Length, before reading it', async () => {
    upstream = await startStandInUpstream();
    upstream.enqueue({ type: 'raw', body: JSON.stringify({ padding: 'x'.repeat(64 * KIB) }) });
    const provider = createProvider({ kind: 'openai', baseUrl: upstream.baseUrl, apiKey: 'k', maxResponseBytes: KIB });
    const error = await rejection(provider.chat(request));
    expect(error).toMatchObject({ kind: 'server', code: 'upstream_response_too_large', retryable: false });
  });

  it('stops reading an answer without a length once it passes the limit, and closes its connection', async () => {
    const target = await startServer((_incoming, response) =>
      endless(response, 'application/json', '{"padding":"', 'x'.repeat(16 * KIB)),
    );
    const provider = createProvider({
      kind: 'openai',
      baseUrl: target.url,
      apiKey: 'k',
      maxResponseBytes: 256 * KIB,
    });
    const error = await rejection(provider.chat(request));
    expect(error).toMatchObject({ kind: 'server', code: 'upstream_response_too_large' });
    expect(error.message).toContain(`${256 * KIB} bytes`);
    await waitFor(() => target.closed() === 1);
    // Embeddings and error answers are read the same way.
    await expect(provider.embed({ model: 'e', input: 'x' })).rejects.toMatchObject({
      code: 'upstream_response_too_large',
    });
  });

  it('reads answers up to the limit as before', async () => {
    upstream = await startStandInUpstream();
    const provider = createProvider({ kind: 'openai', baseUrl: upstream.baseUrl, apiKey: 'k', maxResponseBytes: KIB });
    expect((await provider.chat(request)).choices[0]?.message.content).toContain('Stand-in reply');
  });
});

describe('maxEventSize', () => {
  it('fails a stream whose event never ends, and closes its connection', async () => {
    const target = await startServer((_incoming, response) =>
      endless(
        response,
        'text/event-stream',
        'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\ndata: ',
        'x'.repeat(16 * KIB),
      ),
    );
    const provider = createProvider({ kind: 'openai', baseUrl: target.url, apiKey: 'k', maxEventSize: 256 * KIB });
    const stream = provider.chatStream(request);
    expect((await stream.next()).value?.choices[0]?.delta.content).toBe('Hi');
    expect(await rejection(stream.next())).toMatchObject({
      kind: 'server',
      code: 'upstream_response_too_large',
      retryable: false,
    });
    await waitFor(() => target.closed() === 1);
  });

  it('lets events up to the limit through', async () => {
    upstream = await startStandInUpstream();
    const provider = createProvider({ kind: 'openai', baseUrl: upstream.baseUrl, apiKey: 'k', maxEventSize: 4 * KIB });
    upstream.enqueue({ type: 'chat', content: 'word '.repeat(100) });
    expect(await collect(provider.chatStream({ ...request, stream: true }))).not.toHaveLength(0);
  });
});

describe('bodyIdleTimeoutMs', () => {
  it('fails a JSON answer whose body stops coming, as a retryable timeout', async () => {
    const target = await startServer((_incoming, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"id":"chatcmpl-1","choices":[');
    });
    const provider = createProvider({ kind: 'openai', baseUrl: target.url, apiKey: 'k', bodyIdleTimeoutMs: 100 });
    const error = await rejection(provider.chat(request));
    expect(error).toMatchObject({ kind: 'timeout', code: 'body_idle_timeout', retryable: true });
    await waitFor(() => target.closed() === 1);
  });
});

describe("createHttpTransport's headersTimeoutMs", () => {
  it('fails a call whose answer does not begin in time, as a retryable timeout', async () => {
    upstream = await startStandInUpstream();
    upstream.enqueue({ type: 'chat', delayMs: 5_000 });
    const http = createHttpTransport({ headersTimeoutMs: 100 });
    try {
      const provider = createProvider({
        kind: 'openai',
        baseUrl: upstream.baseUrl,
        apiKey: 'k',
        transport: http.transport,
      });
      const error = await rejection(provider.chat(request));
      expect(error).toMatchObject({ kind: 'timeout', code: 'first_byte_timeout', retryable: true });
      // An answer that begins in time is not cut, however long its stream then runs.
      upstream.enqueue({ type: 'chat', chunkDelayMs: 60 });
      expect(await collect(provider.chatStream(request))).not.toHaveLength(0);
    } finally {
      await http.close();
    }
  });
});

describe('dot segments in model names', () => {
  it.each(['.', '..'])('refuses %j as an Azure deployment or a Bedrock model, before any call', async (model) => {
    upstream = await startStandInUpstream();
    const azure = createProvider({ kind: 'azure-openai', id: 'azure', baseUrl: upstream.url, apiKey: 'k' });
    const bedrock = createProvider({ kind: 'bedrock', region: 'us-east-1', baseUrl: upstream.url, apiKey: 'k' });
    for (const provider of [azure, bedrock]) {
      const error = await rejection(provider.chat({ ...request, model }));
      expect(error).toMatchObject({ kind: 'invalid_request', param: 'model' });
      expect(await rejection(collect(provider.chatStream({ ...request, model })))).toMatchObject({
        kind: 'invalid_request',
      });
    }
    expect(upstream.requests).toHaveLength(0);
    // A name that only contains dots is an ordinary segment.
    await azure.chat({ ...request, model: '..deployment' });
    expect(upstream.requests[0]?.path).toBe('/openai/deployments/..deployment/chat/completions');
  });
});
