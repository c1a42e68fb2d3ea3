// What an upstream can make the gateway hold or wait for is bounded by default: the size of a JSON answer and of a
// streamed event (upstream.*), the wait for an answer to begin, a pause in a JSON body and a JSON request as a whole
// (timeouts.*). Past a bound the client gets its answer (a 502 or 504, or an error event mid-stream), the upstream
// connection is closed and the memory is let go.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { sseData, waitFor } from '@gw/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  chatBody,
  gatewayPerTest,
  NO_RETRIES,
  postJson,
  rssMbOf,
  startGatewayProcess,
  TEST_VENDOR_KEY,
  type GatewayProcess,
} from './test-helpers.ts';

const start = gatewayPerTest();
const KIB = 1024;

/** A misbehaving upstream: `answer` writes every answer; `closed` counts the answers the gateway walked away from. */
interface RawUpstream {
  readonly baseUrl: string;
  closed(): number;
  requests(): number;
}

let servers: Server[] = [];
afterEach(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  servers = [];
});

async function startRawUpstream(answer: (request: IncomingMessage, response: ServerResponse) => void) {
  let closed = 0;
  let requests = 0;
  const server = createServer((request, response) => {
    requests += 1;
    response.once('close', () => {
      if (!response.writableFinished) closed += 1;
    });
    // The body is read first, as a vendor would, so the gateway's request is complete.
    request.resume();
    request.once('end', () => answer(request, response));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const upstream: RawUpstream = {
    baseUrl: `http://127.0.0.1:${address.port}/v1`,
    closed: () => closed,
    requests: () => requests,
  };
  return upstream;
}

/** Writes `head`, then `piece` again and again, as fast as the reader takes it, until the connection closes. */
function endless(response: ServerResponse, contentType: string, head: string, piece: string): void {
  response.writeHead(200, { 'content-type': contentType });
  response.write(head);
  const pump = (): void => {
    while (!response.destroyed && response.write(piece));
  };
  response.on('drain', pump);
  pump();
}

const CHUNK =
  'data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}\n\n';

function gatewayOn(upstream: RawUpstream, extra: Record<string, unknown> = {}) {
  return () => ({
    providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
    models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
    ...NO_RETRIES,
    ...extra,
  });
}

describe('upstream.maxResponseBytes', () => {
  it('answers 502 upstream_response_too_large for a JSON answer past it, and closes the upstream connection', async () => {
    const upstream = await startRawUpstream((_request, response) =>
      endless(response, 'application/json', '{"id":"chatcmpl-1","padding":"', 'x'.repeat(16 * KIB)),
    );
    const t = await start({ config: gatewayOn(upstream, { upstream: { maxResponseBytes: '256kb' } }) });
    for (const [path, body] of [
      ['/v1/chat/completions', chatBody('chat')],
      ['/v1/embeddings', { model: 'up/text-embedding-3-small', input: 'hi' }],
      ['/v1/messages', { model: 'chat', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }],
    ] as const) {
      const response = await postJson(`${t.url}${path}`, body);
      expect(response.status, path).toBe(502);
      const answer: unknown = await response.json();
      if (path === '/v1/messages') expect(answer).toMatchObject({ error: { type: 'api_error' } });
      else expect(answer).toMatchObject({ error: { type: 'upstream_error', code: 'upstream_response_too_large' } });
    }
    await waitFor(() => upstream.closed() === 3);
  });

  it('refuses an answer by its Content-Length, before a byte of it is read', async () => {
    const upstream = await startRawUpstream((_request, response) => {
      // 200 MB announced; only the head and a few bytes ever come.
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(200 * 1024 * KIB) });
      response.write('{"id":');
    });
    const t = await start({ config: gatewayOn(upstream) });
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: { code: 'upstream_response_too_large' } });
    await waitFor(() => upstream.closed() === 1);
  });
});

describe('upstream.maxEventSize', () => {
  it('answers 502 for an event past it before the first chunk', async () => {
    const upstream = await startRawUpstream((_request, response) =>
      endless(response, 'text/event-stream', 'data: ', 'x'.repeat(16 * KIB)),
    );
    const t = await start({ config: gatewayOn(upstream, { upstream: { maxEventSize: '256kb' } }) });
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat', { stream: true }));
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: { code: 'upstream_response_too_large' } });
    await waitFor(() => upstream.closed() === 1);
  });

  it('ends a stream with an error event for an event past it after the first chunk', async () => {
    const upstream = await startRawUpstream((_request, response) =>
      endless(response, 'text/event-stream', `${CHUNK}data: `, 'x'.repeat(16 * KIB)),
    );
    const t = await start({ config: gatewayOn(upstream, { upstream: { maxEventSize: '256kb' } }) });
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat', { stream: true }));
    expect(response.status).toBe(200);
    const data = sseData(await response.text());
    expect(data).not.toContain('[DONE]');
    expect(JSON.parse(data.at(-1) ?? '{}')).toMatchObject({
      error: { type: 'upstream_error', code: 'upstream_response_too_large' },
    });
    await waitFor(() => upstream.closed() === 1);
  });
});

describe('default time limits', () => {
  it('timeouts.firstByteMs: an answer that does not begin in time is a 504, retried like one', async () => {
    const upstream = await startRawUpstream(() => undefined);
    const t = await start({
      config: gatewayOn(upstream, { timeouts: { firstByteMs: 200 }, retry: { maxRetries: 1, baseDelayMs: 1 } }),
    });
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ error: { type: 'timeout_error', code: 'upstream_timeout' } });
    expect(upstream.requests()).toBe(2);
  });

  it('timeouts.bodyIdleMs: a JSON answer whose body stops coming is a 504, and its connection is closed', async () => {
    const upstream = await startRawUpstream((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"id":"chatcmpl-1","choices":[');
    });
    const t = await start({ config: gatewayOn(upstream, { timeouts: { bodyIdleMs: 200 } }) });
    for (const path of ['/v1/chat/completions', '/v1/embeddings']) {
      const response = await postJson(`${t.url}${path}`, { ...chatBody('chat'), input: 'hi' });
      expect(response.status, path).toBe(504);
      expect(await response.json()).toMatchObject({ error: { code: 'upstream_timeout' } });
    }
    await waitFor(() => upstream.closed() === 2);
  });

  it('timeouts.jsonTotalMs: a non-streamed request as a whole is a 504 past it; a stream is not cut by it', async () => {
    const t = await start({
      config: (standIn) => ({
        providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: standIn.baseUrl }],
        models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
        ...NO_RETRIES,
        timeouts: { jsonTotalMs: 300 },
      }),
    });
    t.upstream.enqueue({ type: 'chat', delayMs: 5_000 });
    const slow = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
    expect(slow.status).toBe(504);
    expect(await slow.json()).toMatchObject({ error: { code: 'request_timeout' } });
    await waitFor(() => t.upstream.requests[0]?.aborted === true);
    // Ten chunks 60 ms apart: longer than jsonTotalMs, within the stream idle limit.
    t.upstream.enqueue({ type: 'chat', content: 'one two three four five six seven eight', chunkDelayMs: 60 });
    const stream = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat', { stream: true }));
    expect(stream.status).toBe(200);
    expect(sseData(await stream.text()).at(-1)).toBe('[DONE]');
  });
});

// A gateway process of its own, its memory read from /proc: oversized answers must not stay in it.
describe('memory under oversized answers', () => {
  let gateway: GatewayProcess | undefined;
  afterEach(() => {
    gateway?.kill();
    gateway = undefined;
  });

  it.skipIf(process.platform !== 'linux')(
    'refuses 40 answers that never end, JSON and streamed, and gives the memory back',
    async () => {
      const upstream = await startRawUpstream((request, response) => {
        const streamed = request.url?.includes('stream') === true;
        endless(
          response,
          streamed ? 'text/event-stream' : 'application/json',
          streamed ? `${CHUNK}data: ` : '{"padding":"',
          'x'.repeat(64 * KIB),
        );
      });
      gateway = await startGatewayProcess({
        config: {
          server: { port: 0 },
          // Nothing written to the repository's data folder: the ledger is not what this test is about.
          storage: { url: 'sqlite::memory:', ledger: false },
          logging: { level: 'error' },
          upstream: { maxResponseBytes: '8mb', maxEventSize: '8mb' },
          providers: [
            { id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl },
            { id: 'streamed', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: `${upstream.baseUrl}/stream` },
          ],
          retry: { maxRetries: 0 },
        },
      });
      const { url, child } = gateway;
      const rssMb = (): number => rssMbOf(child.pid ?? 0);
      const warm = await postJson(`${url}/v1/chat/completions`, chatBody('up/m'));
      expect(warm.status).toBe(502);
      await warm.arrayBuffer();
      const before = rssMb();
      let afterThree = 0;
      const statuses: number[] = [];
      // Five at a time: each may hold up to 8 MB until it is refused, 40 MB a round.
      for (let round = 0; round < 8; round += 1) {
        const answers = await Promise.all(
          Array.from({ length: 5 }, async (_, index) => {
            const streamed = index % 2 === 1;
            const response = await postJson(
              `${url}/v1/chat/completions`,
              chatBody(streamed ? 'streamed/m' : 'up/m', { stream: streamed }),
            );
            const text = await response.text();
            return response.status === 200 && text.includes('upstream_response_too_large') ? 502 : response.status;
          }),
        );
        statuses.push(...answers);
        if (round === 2) afterThree = rssMb();
      }
      expect(statuses).toEqual(Array.from({ length: 40 }, () => 502));
      await waitFor(() => upstream.closed() === 41);
      // Unbounded, a single 200 MB answer took the process to 1.4 GB and kept 1 GB of it. Bounded, the process grows to
      // what five refusals at once need (measured 90-100 MB) and no further: the last five rounds (200 MB refused)
      // add well under half of what they refused (garbage collection timing moves a round's worth either way).
      expect(rssMb() - before).toBeLessThan(150);
      expect(rssMb() - afterThree).toBeLessThan(100);
      expect((await fetch(`${url}/health/live`)).status).toBe(200);
    },
    60_000,
  );
});
