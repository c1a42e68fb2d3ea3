import { createServer as createNetServer } from 'node:net';
import type { Usage } from '@gw/providers';
import { describe, expect, it } from 'vitest';
import type { RequestOutcome } from '../../settle/settle-once.ts';
import { waitFor } from '@gw/test-kit';
import {
  chatBody,
  errorLines,
  gatewayPerTest,
  postJson,
  rawRequest,
  TEST_VENDOR_KEY,
  type TestGateway,
} from '../../test-helpers.ts';

const start = gatewayPerTest();

interface Envelope {
  error: { message: string; type: string; code: string | null; param: string | null };
}

async function envelope(response: Response): Promise<Envelope> {
  const body: unknown = await response.json();
  expect(body).toMatchObject({ error: { message: expect.any(String), type: expect.any(String) } });
  expect(Object.keys((body as Envelope).error).sort()).toEqual(['code', 'message', 'param', 'type']);
  return body as Envelope;
}

/** A port nothing listens on: bind, read the port, close. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('POST /v1/chat/completions (JSON)', () => {
  it('round-trips: the upstream sees the rewritten model and the vendor key, the client gets the upstream answer', async () => {
    const { url, upstream } = await start();
    upstream.enqueue({ type: 'chat', content: 'Hello there, friend.' });
    const response = await postJson(
      `${url}/v1/chat/completions`,
      chatBody('chat', { temperature: 0.2, vendor_extra: { keep: true } }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    const body = (await response.json()) as {
      object: string;
      choices: Array<{ message: { content: string } }>;
      usage: { total_tokens: number };
    };
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0]?.message.content).toBe('Hello there, friend.');
    expect(body.usage.total_tokens).toBeGreaterThan(0);

    expect(upstream.requests).toHaveLength(1);
    const seen = upstream.requests[0];
    expect(seen?.path).toBe('/v1/chat/completions');
    expect(seen?.headers['authorization']).toBe(`Bearer ${TEST_VENDOR_KEY}`);
    expect(seen?.body).toMatchObject({
      model: 'gpt-4o-mini',
      temperature: 0.2,
      vendor_extra: { keep: true },
      messages: [{ role: 'user', content: 'Say hello' }],
    });
  });

  it('forwards tools to the upstream and returns tool_calls', async () => {
    const { url, upstream } = await start();
    upstream.enqueue({
      type: 'chat',
      toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
    });
    const tools = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      },
    ];
    const response = await postJson(`${url}/v1/chat/completions`, chatBody('chat', { tools, tool_choice: 'auto' }));
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      choices: Array<{
        finish_reason: string;
        message: { tool_calls: Array<{ id: string; function: { name: string; arguments: string } }> };
      }>;
    };
    expect(body.choices[0]?.finish_reason).toBe('tool_calls');
    expect(body.choices[0]?.message.tool_calls[0]).toMatchObject({
      id: 'call_1',
      function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
    });
    expect(upstream.requests[0]?.body).toMatchObject({ tools, tool_choice: 'auto' });
  });

  it('addresses a provider directly as provider-id/model', async () => {
    const { url, upstream } = await start();
    const response = await postJson(`${url}/v1/chat/completions`, chatBody('up/some-org/model-x'));
    expect(response.status).toBe(200);
    expect(upstream.requests[0]?.body).toMatchObject({ model: 'some-org/model-x' });
  });

  it('answers 404 model_not_found for an unknown model without calling upstream', async () => {
    const { url, upstream } = await start();
    const response = await postJson(`${url}/v1/chat/completions`, chatBody('no-such-model'));
    expect(response.status).toBe(404);
    const body = await envelope(response);
    expect(body.error).toMatchObject({ code: 'model_not_found', param: 'model', type: 'invalid_request_error' });
    expect(body.error.message).toContain('no-such-model');
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 400 invalid_json for a malformed body', async () => {
    const { url, upstream } = await start();
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model": "chat", ',
    });
    expect(response.status).toBe(400);
    expect((await envelope(response)).error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 400 naming the field path of a schema violation', async () => {
    const { url, upstream } = await start();
    const response = await postJson(`${url}/v1/chat/completions`, {
      model: 'chat',
      messages: [{ role: 'wizard', content: 'hi' }],
    });
    expect(response.status).toBe(400);
    const body = await envelope(response);
    expect(body.error.param).toBe('messages[0].role');
    expect(body.error.message).toContain('messages[0].role');
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 400 when the body is not an object', async () => {
    const { url } = await start();
    const response = await postJson(`${url}/v1/chat/completions`, [1, 2]);
    expect(response.status).toBe(400);
    expect((await envelope(response)).error.type).toBe('invalid_request_error');
  });

  it.each([
    [400, 'invalid_request_error', 'context_length_exceeded', "This model's maximum context length is 128000 tokens."],
    [401, 'invalid_request_error', 'invalid_api_key', 'Incorrect API key provided.'],
    [
      404,
      'invalid_request_error',
      'model_not_found',
      'The model `gpt-9` does not exist or you do not have access to it.',
    ],
    [429, 'requests', 'rate_limit_exceeded', 'Rate limit reached for gpt-4o-mini.'],
  ])('passes an upstream %i through with the vendor message, type and code', async (status, type, code, message) => {
    const { url, upstream } = await start();
    upstream.enqueue({
      type: 'error',
      status,
      body: { error: { message, type, code, param: null } },
      headers: status === 429 ? { 'retry-after': '7' } : {},
    });
    const response = await postJson(`${url}/v1/chat/completions`, chatBody('chat'));
    expect(response.status).toBe(status);
    const body = await envelope(response);
    expect(body.error).toMatchObject({ message, type, code });
    if (status === 429) expect(response.headers.get('retry-after')).toBe('7');
  });

  it.each([500, 502])('turns an upstream %i into 502', async (status) => {
    const { url, upstream } = await start();
    upstream.enqueue({
      type: 'error',
      status,
      body: { error: { message: 'The server had an error', type: 'server_error', code: null, param: null } },
    });
    const response = await postJson(`${url}/v1/chat/completions`, chatBody('chat'));
    expect(response.status).toBe(502);
    const body = await envelope(response);
    expect(body.error.type).toBe('upstream_error');
    expect(body.error.message).toContain(String(status));
  });

  it('turns a refused upstream connection into 502', async () => {
    const port = await closedPort();
    const { url } = await start({
      config: {
        providers: [{ id: 'dead', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: `http://127.0.0.1:${port}/v1` }],
        models: [{ name: 'chat', targets: [{ provider: 'dead', model: 'gpt-4o-mini' }] }],
      },
    });
    const response = await postJson(`${url}/v1/chat/completions`, chatBody('chat'));
    expect(response.status).toBe(502);
    expect((await envelope(response)).error.code).toBe('upstream_connection_error');
  });

  it('sends an answer used as it came in the text the upstream sent, and a changed one re-serialised', async () => {
    // An unpriced model: a priced answer gets usage.cost, so it is serialised anew (see the cost tests).
    const { url, upstream } = await start({
      config: (standIn) => ({
        providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: standIn.baseUrl }],
        models: [{ name: 'chat', targets: [{ provider: 'up', model: 'my-own-finetune' }] }],
        retry: { maxRetries: 0 },
      }),
    });
    const wire =
      '{"vendor_extra":{"a":1}, "id":"r1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi \\u00e9"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}';
    upstream.enqueue({ type: 'raw', headers: { 'content-type': 'application/json' }, body: wire });
    const same = await postJson(`${url}/v1/chat/completions`, chatBody('chat'));
    expect(same.status).toBe(200);
    expect(same.headers.get('x-gw-cost')).toBe('unpriced');
    expect(await same.text()).toBe(wire);

    upstream.enqueue({
      type: 'raw',
      headers: { 'content-type': 'application/json' },
      body: wire.replace('"stop"', '"sensitive"'),
    });
    const changed = await postJson(`${url}/v1/chat/completions`, chatBody('chat'));
    const body: unknown = await changed.json();
    expect(body).toMatchObject({
      vendor_extra: { a: 1 },
      choices: [{ message: { content: 'Hi é' }, finish_reason: 'content_filter' }],
    });
  });

  it('never lets the vendor key reach the client, even when the upstream echoes it', async () => {
    const { url, upstream, logs } = await start();
    upstream.enqueue({
      type: 'error',
      status: 401,
      body: {
        error: {
          message: `Incorrect API key provided: ${TEST_VENDOR_KEY}`,
          type: 'invalid_request_error',
          code: 'invalid_api_key',
          param: null,
        },
      },
    });
    const response = await postJson(`${url}/v1/chat/completions`, chatBody('chat'));
    expect(response.status).toBe(401);
    expect(await response.text()).not.toContain(TEST_VENDOR_KEY);
    expect(logs.join('')).not.toContain(TEST_VENDOR_KEY);
  });

  it('calls the settle hook exactly once with the usage of a JSON answer', async () => {
    const settled: Array<{ usage: Usage | undefined; outcome: RequestOutcome }> = [];
    const { url, upstream } = await start({
      settle: (outcome) => void settled.push({ usage: outcome.usage, outcome }),
    });
    upstream.enqueue({ type: 'chat', content: 'one two three', usage: { prompt_tokens: 11, completion_tokens: 3 } });
    const response = await postJson(`${url}/v1/chat/completions`, chatBody('chat'), { 'x-request-id': 'req-json-1' });
    await response.json();
    expect(settled).toHaveLength(1);
    expect(settled[0]?.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 3, total_tokens: 14 });
    expect(settled[0]?.outcome).toMatchObject({
      status: 'completed',
      clientRequestId: 'req-json-1',
      model: 'chat',
      providerId: 'up',
      upstreamModel: 'gpt-4o-mini',
      stream: false,
    });
  });

  it('settles a failed upstream call once, without usage', async () => {
    const settled: Array<{ usage: Usage | undefined; outcome: RequestOutcome }> = [];
    const { url, upstream } = await start({
      settle: (outcome) => void settled.push({ usage: outcome.usage, outcome }),
    });
    upstream.enqueue({ type: 'error', status: 500 });
    const response = await postJson(`${url}/v1/chat/completions`, chatBody('chat'));
    expect(response.status).toBe(502);
    expect(settled).toHaveLength(1);
    expect(settled[0]?.usage).toBeUndefined();
    expect(settled[0]?.outcome.status).toBe('failed');
  });

  it('treats a client that leaves mid-call as a cancellation, with retries and the breaker on', async () => {
    const settled: RequestOutcome[] = [];
    const { url, upstream, logs } = await start({
      config: (standIn) => ({
        providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: standIn.baseUrl }],
        models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
      }),
      settle: (outcome) => void settled.push(outcome),
    });
    upstream.enqueue({ type: 'chat', content: 'too late', delayMs: 5_000 });
    const client = new AbortController();
    const response = postJson(`${url}/v1/chat/completions`, chatBody('chat'), {}, client.signal);
    await waitFor(() => upstream.requests.length === 1, 1000);
    client.abort();
    await expect(response).rejects.toThrow();
    await waitFor(() => settled.length === 1, 1000);
    expect(settled[0]?.status).toBe('cancelled');
    await waitFor(() => upstream.requests[0]?.aborted === true, 1000);
    expect(upstream.requests).toHaveLength(1);
    expect(errorLines(logs)).toEqual([]);
  });

  it('keeps serving after a settle hook that throws', async () => {
    const { url, logs } = await start({
      settle: () => {
        throw new Error('ledger down');
      },
    });
    expect((await postJson(`${url}/v1/chat/completions`, chatBody('chat'))).status).toBe(200);
    expect((await postJson(`${url}/v1/chat/completions`, chatBody('chat'))).status).toBe(200);
    expect(logs.some((line) => line.includes('settle hook failed'))).toBe(true);
  });

  it('answers a body that arrives in pieces (chunked transfer encoding)', async () => {
    const { url, upstream } = await start();
    const body = JSON.stringify(chatBody('chat'));
    const response = await rawRequest(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body,
    });
    expect(response.status).toBe(200);
    expect(upstream.requests).toHaveLength(1);
  });
});

describe('routing over HTTP', () => {
  function twoTargets(strategy: string, weights: [number, number]) {
    return (upstream: { baseUrl: string }) => ({
      providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
      models: [
        {
          name: 'chat',
          strategy,
          targets: [
            { provider: 'up', model: 'model-a', weight: weights[0] },
            { provider: 'up', model: 'model-b', weight: weights[1] },
          ],
        },
      ],
    });
  }

  async function countUpstreamModels(
    url: string,
    upstream: TestGateway['upstream'],
    requests: number,
  ): Promise<Record<string, number>> {
    for (let index = 0; index < requests; index++) {
      const response = await postJson(`${url}/v1/chat/completions`, chatBody('chat'));
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    const counts: Record<string, number> = {};
    for (const seen of upstream.requests) {
      const model = (seen.body as { model: string }).model;
      counts[model] = (counts[model] ?? 0) + 1;
    }
    return counts;
  }

  it('spreads an alias evenly with round-robin', async () => {
    const { url, upstream } = await start({ config: twoTargets('round-robin', [1, 1]) });
    expect(await countUpstreamModels(url, upstream, 40)).toEqual({ 'model-a': 20, 'model-b': 20 });
  });

  it('follows the weights with weighted', async () => {
    const { url, upstream } = await start({ config: twoTargets('weighted', [3, 1]) });
    expect(await countUpstreamModels(url, upstream, 40)).toEqual({ 'model-a': 30, 'model-b': 10 });
  });

  it('runs least-busy: one request at a time ties every time, and ties go round-robin whatever the weights', async () => {
    const { url, upstream, logs } = await start({ config: twoTargets('least-busy', [5, 1]) });
    expect(await countUpstreamModels(url, upstream, 10)).toEqual({ 'model-a': 5, 'model-b': 5 });
    expect(logs.filter((line) => line.includes('round-robin'))).toHaveLength(0);
  });

  function costAlias(models: string[], pricing: Record<string, unknown> = {}) {
    return (upstream: { baseUrl: string }) => ({
      providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
      models: [{ name: 'chat', strategy: 'cost', targets: models.map((model) => ({ provider: 'up', model })) }],
      pricing,
      retry: { maxRetries: 0 },
    });
  }

  /** Which upstream model answered each of `bodies`, sent one after the other. */
  async function servedBy(url: string, upstream: TestGateway['upstream'], bodies: unknown[]): Promise<string[]> {
    const served: string[] = [];
    for (const body of bodies) {
      const response = await postJson(`${url}/v1/chat/completions`, body);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      served.push((upstream.requests.at(-1)?.body as { model: string }).model);
    }
    return served;
  }

  it('sends a cost alias to its cheapest target by the catalog, whatever the order of the targets', async () => {
    const { url, upstream, logs } = await start({ config: costAlias(['gpt-4o', 'gpt-4o-mini', 'gpt-4.1']) });
    const served = await servedBy(
      url,
      upstream,
      Array.from({ length: 6 }, () => chatBody('chat')),
    );
    expect(served).toEqual(Array.from({ length: 6 }, () => 'gpt-4o-mini'));
    expect(logs.filter((line) => line.includes('routes by cost'))).toEqual([]);
  });

  it('prices the request itself: a long answer goes where output is cheap, a short one where input is', async () => {
    // Per 1M tokens: model-a is cheap to read and dear to write, model-b the other way round.
    const pricing = {
      models: { 'up/model-a': { input: 1, output: 10 }, 'up/model-b': { input: 4, output: 4 } },
    };
    const { url, upstream } = await start({ config: costAlias(['model-a', 'model-b'], pricing) });
    const prompt = 'word '.repeat(2000);
    const ask = (maxTokens: number) =>
      chatBody('chat', { messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens });
    expect(await servedBy(url, upstream, [ask(10), ask(8000), ask(10)])).toEqual(['model-a', 'model-b', 'model-a']);
  });

  it('sends requests to an unpriced target only when no priced one can take them, and says so at start', async () => {
    const { url, upstream, logs } = await start({ config: costAlias(['my-finetune', 'gpt-4o-mini']) });
    expect(await servedBy(url, upstream, [chatBody('chat'), chatBody('chat')])).toEqual(['gpt-4o-mini', 'gpt-4o-mini']);
    // The priced target fails: the request moves on to the unpriced one rather than failing.
    upstream.enqueue({ type: 'error', status: 503 });
    expect(await servedBy(url, upstream, [chatBody('chat')])).toEqual(['my-finetune']);
    const warnings = logs.filter((line) => line.includes('routes by cost'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('up/my-finetune has no price');
  });

  it('ties between equally priced targets go round-robin', async () => {
    const pricing = { models: { 'up/model-a': { input: 1, output: 1 }, 'up/model-b': { input: 1, output: 1 } } };
    const { url, upstream } = await start({ config: costAlias(['model-a', 'model-b'], pricing) });
    const served = await servedBy(
      url,
      upstream,
      Array.from({ length: 4 }, () => chatBody('chat')),
    );
    expect(served).toEqual(['model-a', 'model-b', 'model-a', 'model-b']);
  });
});
