import { request as httpRequest } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { chatCompletionResponseSchema } from '../chat-api.ts';
import { embeddingResponseSchema } from '../embedding-api.ts';
import { openAIErrorBodySchema } from '../openai-error-body.ts';
import { startStandInUpstream } from './stand-in-upstream.ts';
import type { StandInUpstream } from './stand-in-types.ts';
import { sseData } from '@gw/test-kit';

let upstream: StandInUpstream;

beforeAll(async () => {
  upstream = await startStandInUpstream();
});
afterEach(() => {
  upstream.reset();
  upstream.setDefault({ type: 'chat' });
});
afterAll(async () => {
  await upstream.close();
});

const messages = [
  { role: 'system', content: 'Be brief' },
  { role: 'user', content: [{ type: 'text', text: 'What is the capital of France?' }] },
];

function post(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${upstream.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test-standin' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(signal === undefined ? {} : { signal }),
  });
}

// Reading answers through the package's own schemas also checks that the stand-in speaks the canonical shape.
async function chatJson(response: Response) {
  return chatCompletionResponseSchema.parse(await response.json());
}

async function errorJson(response: Response) {
  return openAIErrorBodySchema.parse(await response.json()).error;
}

async function embeddingJson(response: Response) {
  return embeddingResponseSchema.parse(await response.json());
}

/** The JSON payloads of an SSE body, and whether it ended with [DONE]. */
function ssePayloads(text: string): { payloads: unknown[]; done: boolean } {
  const datas = sseData(text);
  return {
    payloads: datas.filter((data) => data !== '[DONE]').map((data): unknown => JSON.parse(data)),
    done: datas.at(-1) === '[DONE]',
  };
}

describe('POST /v1/chat/completions (JSON)', () => {
  it('answers in the chat.completion shape with the model echoed and word-count usage', async () => {
    const response = await post('/v1/chat/completions', { model: 'gpt-4o-mini', messages });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-request-id')).toMatch(/^req_standin\d+$/);
    const body = await chatJson(response);
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Stand-in reply to: What is the capital of France?', refusal: null },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 8, completion_tokens: 9, total_tokens: 17, prompt_tokens_details: { cached_tokens: 0 } },
    });
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(typeof body.created).toBe('number');
  });

  it('returns scripted content, reasoning, tool calls, finish reason and usage', async () => {
    upstream.enqueue({
      type: 'chat',
      content: 'Let me check.',
      reasoning: 'Need weather',
      toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }],
      finishReason: 'length',
      usage: { prompt_tokens: 3, completion_tokens: 4 },
    });
    const body = await chatJson(await post('/v1/chat/completions', { model: 'm', messages }));
    expect(body.choices[0]).toMatchObject({
      message: {
        content: 'Let me check.',
        reasoning_content: 'Need weather',
        tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      finish_reason: 'length',
    });
    expect(body.choices[0]?.message.tool_calls?.[0]?.id).toMatch(/^call_/);
    expect(body.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
  });

  it.each([
    [{ messages }, 'you must provide a model parameter', null],
    [{ model: 'm' }, "Missing required parameter: 'messages'.", 'messages'],
    [{ model: 'm', messages, stream_options: { include_usage: true } }, 'only allowed when', 'stream_options'],
  ])('refuses %j with an OpenAI 400', async (body, message, param) => {
    const response = await post('/v1/chat/completions', body);
    expect(response.status).toBe(400);
    const error = await errorJson(response);
    expect(error.message).toContain(message);
    expect(error).toMatchObject({ type: 'invalid_request_error', param });
  });
});

describe('POST /v1/chat/completions (stream)', () => {
  it('streams OpenAI chunks: role first, content, finish, no usage field without include_usage, [DONE]', async () => {
    upstream.enqueue({ type: 'chat', content: 'Paris is lovely', chunkWords: 2 });
    const response = await post('/v1/chat/completions', { model: 'gpt-4o', messages, stream: true });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const { payloads, done } = ssePayloads(await response.text());
    expect(done).toBe(true);
    expect(payloads).toHaveLength(4);
    expect(payloads[0]).toMatchObject({
      object: 'chat.completion.chunk',
      model: 'gpt-4o',
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }],
    });
    expect(payloads.slice(1, 3).map((chunk) => JSON.stringify(chunk))).toEqual([
      expect.stringContaining('"delta":{"content":"Paris is "}'),
      expect.stringContaining('"delta":{"content":"lovely"}'),
    ]);
    expect(payloads[3]).toMatchObject({ choices: [{ delta: {}, finish_reason: 'stop' }] });
    for (const payload of payloads) expect(payload).not.toHaveProperty('usage');
  });

  it('with include_usage: usage null on every chunk, then a choices: [] usage chunk', async () => {
    const response = await post('/v1/chat/completions', {
      model: 'm',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const { payloads, done } = ssePayloads(await response.text());
    expect(done).toBe(true);
    const last = payloads.at(-1);
    expect(last).toMatchObject({ choices: [], usage: { prompt_tokens: 8, completion_tokens: 9, total_tokens: 17 } });
    for (const payload of payloads.slice(0, -1)) expect(payload).toHaveProperty('usage', null);
  });

  it('puts the role into the first tool-call delta of a tool-only answer', async () => {
    upstream.enqueue({ type: 'chat', toolCalls: [{ id: 'call_x', name: 'f', arguments: '{"a":1}' }] });
    const { payloads } = ssePayloads(
      await (await post('/v1/chat/completions', { model: 'm', messages, stream: true })).text(),
    );
    expect(payloads[0]).toMatchObject({
      choices: [
        {
          delta: {
            role: 'assistant',
            content: null,
            tool_calls: [{ index: 0, id: 'call_x', type: 'function', function: { name: 'f', arguments: '' } }],
          },
        },
      ],
    });
    expect(payloads.at(-1)).toMatchObject({ choices: [{ finish_reason: 'tool_calls' }] });
  });

  it('honours backpressure: a paused client still gets a 20,000-word answer whole', async () => {
    const words = Array.from({ length: 20_000 }, (_, index) => `word${index}`);
    upstream.enqueue({ type: 'chat', content: words.join(' ') });
    const text = await new Promise<string>((resolve, reject) => {
      const request = httpRequest(`${upstream.baseUrl}/chat/completions`, { method: 'POST' }, (response) => {
        response.pause();
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve(body));
        response.on('error', reject);
        // Hold the response long enough for the server's socket buffer to fill.
        setTimeout(() => response.resume(), 200);
      });
      request.on('error', reject);
      request.end(JSON.stringify({ model: 'm', messages, stream: true }));
    });
    const { payloads, done } = ssePayloads(text);
    expect(done).toBe(true);
    const content = payloads.map((payload) => JSON.stringify(payload).match(/"content":"([^"]*)"/)?.[1] ?? '').join('');
    expect(content).toBe(words.join(' '));
  });

  it('spaces chunks with chunkDelayMs and still sends them all', async () => {
    upstream.enqueue({ type: 'chat', content: 'a b c', chunkDelayMs: 5 });
    const { payloads, done } = ssePayloads(
      await (await post('/v1/chat/completions', { model: 'm', messages, stream: true })).text(),
    );
    expect(done).toBe(true);
    expect(payloads).toHaveLength(5);
  });

  it('cutAfterChunks sends N chunks then destroys the socket (not recorded as a client abort)', async () => {
    upstream.enqueue({ type: 'chat', content: 'one two three four', cutAfterChunks: 2 });
    const response = await post('/v1/chat/completions', { model: 'm', messages, stream: true });
    await expect(response.text()).rejects.toThrow();
    await vi.waitFor(() => expect(upstream.inFlight).toBe(0));
    expect(upstream.requests[0]?.aborted).toBe(false);
  });

  it('stallAfterChunks keeps the request in flight until the client goes away, then records the abort', async () => {
    upstream.enqueue({ type: 'chat', content: 'one two three', stallAfterChunks: 1 });
    const controller = new AbortController();
    const response = await post('/v1/chat/completions', { model: 'm', messages, stream: true }, controller.signal);
    const reader = response.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value)).toContain('"role":"assistant"');
    expect(upstream.inFlight).toBe(1);
    expect(upstream.requests[0]?.aborted).toBe(false);
    controller.abort();
    await vi.waitFor(() => expect(upstream.requests[0]?.aborted).toBe(true));
    expect(upstream.inFlight).toBe(0);
  });
});

describe('other routes', () => {
  it('embeds deterministically, as floats or base64 of the same floats', async () => {
    const floats = await embeddingJson(
      await post('/v1/embeddings', { model: 'e', input: ['a b', 'c'], dimensions: 3 }),
    );
    const base64 = await embeddingJson(
      await post('/v1/embeddings', { model: 'e', input: 'a b', dimensions: 3, encoding_format: 'base64' }),
    );
    expect(floats).toMatchObject({ object: 'list', model: 'e', usage: { prompt_tokens: 3, total_tokens: 3 } });
    expect(floats.data.map((item) => item.index)).toEqual([0, 1]);
    const vector = floats.data[0]?.embedding;
    const encoded = base64.data[0]?.embedding;
    if (!Array.isArray(vector) || typeof encoded !== 'string') throw new Error('unexpected embedding encodings');
    const decoded = Array.from(new Float32Array(Uint8Array.from(Buffer.from(encoded, 'base64')).buffer));
    expect(decoded).toEqual(vector);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
  });

  it('lists the configured models', async () => {
    const custom = await startStandInUpstream({ models: ['glm-4-flash'] });
    try {
      const body = await (await fetch(`${custom.baseUrl}/models`)).json();
      expect(body).toEqual({
        object: 'list',
        data: [{ id: 'glm-4-flash', object: 'model', created: 1_700_000_000, owned_by: 'stand-in' }],
      });
    } finally {
      await custom.close();
    }
  });

  it('serves paths without /v1 and answers unknown ones with an OpenAI 404', async () => {
    expect((await post('/chat/completions', { model: 'm', messages })).status).toBe(200);
    const response = await post('/v1/completions', { model: 'm', prompt: 'x' });
    expect(response.status).toBe(404);
    expect((await errorJson(response)).code).toBe('unknown_url');
  });
});

describe('scripting and recording', () => {
  it('records method, path, query, lower-case headers and the parsed or raw body', async () => {
    await fetch(`${upstream.baseUrl}/models?limit=2`, { headers: { 'X-Custom': 'Yes' } });
    await post('/v1/chat/completions', 'not json');
    expect(upstream.requests[0]).toMatchObject({
      method: 'GET',
      path: '/v1/models',
      url: '/v1/models?limit=2',
      body: undefined,
      aborted: false,
    });
    expect(upstream.requests[0]?.headers['x-custom']).toBe('Yes');
    expect(upstream.requests[1]?.body).toBe('not json');
  });

  it('answers queued behaviours one per request in order, then the default', async () => {
    upstream.enqueue({ type: 'error', status: 500 }, { type: 'error', status: 429, headers: { 'retry-after': '1' } });
    const statuses: number[] = [];
    for (let index = 0; index < 3; index += 1)
      statuses.push((await post('/v1/chat/completions', { model: 'm', messages })).status);
    expect(statuses).toEqual([500, 429, 200]);
  });

  it('computes the default per request when given a function', async () => {
    upstream.setDefault((request) => ({ type: 'chat', content: `you asked ${request.path}` }));
    const body = await chatJson(await post('/v1/chat/completions', { model: 'm', messages }));
    expect(body.choices[0]?.message.content).toBe('you asked /v1/chat/completions');
  });

  it('sends error bodies as given: default envelope, string as text, JSON as JSON, with headers', async () => {
    upstream.enqueue(
      { type: 'error', status: 503 },
      { type: 'error', status: 502, body: 'Bad Gateway' },
      { type: 'error', status: 400, body: { detail: 'nope' }, headers: { 'x-extra': '1' } },
    );
    const first = await post('/v1/chat/completions', { model: 'm', messages });
    expect(await first.json()).toMatchObject({
      error: { type: 'server_error', message: expect.stringContaining('503') },
    });
    const second = await post('/v1/chat/completions', { model: 'm', messages });
    expect(second.headers.get('content-type')).toContain('text/plain');
    expect(await second.text()).toBe('Bad Gateway');
    const third = await post('/v1/chat/completions', { model: 'm', messages });
    expect(third.headers.get('x-extra')).toBe('1');
    expect(await third.json()).toEqual({ detail: 'nope' });
  });

  it('sends raw bytes untouched', async () => {
    const bytes = new TextEncoder().encode('data: {"x":"é"}\n\ndata: [DONE]\n\n');
    upstream.enqueue({ type: 'raw', body: bytes, status: 200 });
    const response = await post('/v1/chat/completions', { model: 'm', messages });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes);
  });

  it('delays the answer by delayMs', async () => {
    upstream.enqueue({ type: 'chat', content: 'late', delayMs: 100 });
    const pending = post('/v1/chat/completions', { model: 'm', messages });
    await vi.waitFor(() => expect(upstream.requests).toHaveLength(1));
    expect(upstream.inFlight).toBe(1);
    const body = await chatJson(await pending);
    expect(body.choices[0]?.message.content).toBe('late');
  });

  it('reset() clears the requests and the queue', async () => {
    upstream.enqueue({ type: 'error', status: 500 });
    await fetch(`${upstream.baseUrl}/models`);
    upstream.enqueue({ type: 'error', status: 500 });
    upstream.reset();
    expect(upstream.requests).toHaveLength(0);
    expect((await post('/v1/chat/completions', { model: 'm', messages })).status).toBe(200);
  });

  it('close() ends stalled streams instead of waiting for them', async () => {
    const own = await startStandInUpstream({ defaultBehaviour: { type: 'chat', stallAfterChunks: 1 } });
    const response = await fetch(`${own.baseUrl}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'm', messages, stream: true }),
    });
    const reading = response.text();
    await vi.waitFor(() => expect(own.inFlight).toBe(1));
    await own.close();
    await expect(reading).rejects.toThrow();
    expect(own.inFlight).toBe(0);
  });
});
