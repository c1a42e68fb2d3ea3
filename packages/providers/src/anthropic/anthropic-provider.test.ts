// Drives the adapter over real HTTP against the stand-in's Anthropic dialect (packages/providers/src/testing).
// The *.json replays follow the response examples of Anthropic's Messages reference
// (https://docs.anthropic.com/en/api/messages, /en/docs/build-with-claude/tool-use, /extended-thinking).
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChatCompletionChunk, ChatCompletionRequest } from '../chat-api.ts';
import { createProvider } from '../create-provider.ts';
import { readFixture } from '../__fixtures__/read-fixture.ts';
import type { Provider } from '../provider.ts';
import { startStandInUpstream } from '../testing/stand-in-upstream.ts';
import type { StandInUpstream } from '../testing/stand-in-types.ts';
import { collect, rejection } from '../__fixtures__/provider-test-kit.ts';

const API_KEY = 'sk-ant-api03-test-4f9c1e7a2b8d3c6e5f0a';

let upstream: StandInUpstream;
let provider: Provider;

beforeAll(async () => {
  upstream = await startStandInUpstream({ models: ['claude-sonnet-4-5', 'claude-haiku-4-5'] });
  provider = createProvider({ kind: 'anthropic', id: 'claude', baseUrl: upstream.baseUrl, apiKey: API_KEY });
});
afterEach(() => {
  upstream.reset();
  upstream.setDefault({ type: 'chat' });
});
afterAll(async () => {
  await upstream.close();
});

const request: ChatCompletionRequest = {
  model: 'claude-sonnet-4-5',
  messages: [{ role: 'user', content: 'Name the capital of France' }],
};

describe('chat', () => {
  it('posts to /v1/messages with x-api-key and anthropic-version, and answers in the canonical shape', async () => {
    upstream.enqueue({ type: 'chat', content: 'Paris.', usage: { prompt_tokens: 7, completion_tokens: 2 } });
    const response = await provider.chat(request);
    expect(response).toMatchObject({
      id: 'msg_standin1',
      object: 'chat.completion',
      model: 'claude-sonnet-4-5',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 },
    });
    const [recorded] = upstream.requests;
    expect(recorded?.method).toBe('POST');
    expect(recorded?.path).toBe('/v1/messages');
    expect(recorded?.headers['x-api-key']).toBe(API_KEY);
    expect(recorded?.headers['anthropic-version']).toBe('2023-06-01');
    expect(recorded?.headers['content-type']).toBe('application/json');
    expect(recorded?.headers['authorization']).toBeUndefined();
    expect(recorded?.body).toEqual({
      model: 'claude-sonnet-4-5',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Name the capital of France' }] }],
      max_tokens: 4096,
    });
  });

  it('maps thinking to reasoning_content, tool_use to tool_calls and the stop reason', async () => {
    upstream.enqueue({
      type: 'chat',
      reasoning: 'The user wants weather.',
      toolCalls: [{ id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
    });
    const response = await provider.chat(request);
    expect(response.choices[0]?.message).toMatchObject({
      content: null,
      reasoning_content: 'The user wants weather.',
      tool_calls: [
        { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      ],
    });
    expect(response.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('sends configured headers (anthropic-beta) and per-call headers; the configured key wins', async () => {
    const withBeta = createProvider({
      kind: 'anthropic',
      baseUrl: upstream.baseUrl,
      apiKey: API_KEY,
      headers: { 'anthropic-beta': 'prompt-caching-2024-07-31', 'X-Api-Key': 'other' },
      defaultMaxTokens: 1000,
    });
    await withBeta.chat(request, { headers: { 'x-trace': 't1' } });
    const recorded = upstream.requests[0];
    expect(recorded?.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
    expect(recorded?.headers['x-trace']).toBe('t1');
    expect(recorded?.headers['x-api-key']).toBe(API_KEY);
    expect(recorded?.body).toMatchObject({ max_tokens: 1000 });
  });

  it('refuses n > 1 before calling the vendor', async () => {
    const error = await rejection(provider.chat({ ...request, n: 2 }));
    expect(error).toMatchObject({ kind: 'invalid_request', provider: 'claude', retryable: false });
    expect(upstream.requests).toHaveLength(0);
  });

  it('turns a body of an unexpected shape into a server error', async () => {
    upstream.enqueue({ type: 'raw', status: 200, body: '{"type":"message","content":"nope"}' });
    const error = await rejection(provider.chat(request));
    expect(error.kind).toBe('server');
    expect(error.message).toContain('unexpected shape');
  });

  it('maps HTTP errors by type and status, with retry-after', async () => {
    upstream.enqueue(
      { type: 'error', status: 529 },
      { type: 'error', status: 429, headers: { 'retry-after': '7' } },
      { type: 'error', status: 402 },
      { type: 'error', status: 413 },
    );
    expect(await rejection(provider.chat(request))).toMatchObject({
      kind: 'overloaded',
      status: 529,
      type: 'overloaded_error',
    });
    expect(await rejection(provider.chat(request))).toMatchObject({
      kind: 'rate_limit',
      status: 429,
      retryAfterMs: 7000,
    });
    expect(await rejection(provider.chat(request))).toMatchObject({ kind: 'quota', retryable: false });
    expect(await rejection(provider.chat(request))).toMatchObject({
      kind: 'invalid_request',
      type: 'request_too_large',
    });
  });

  it('never puts the API key into an error message', async () => {
    upstream.enqueue({
      type: 'error',
      status: 401,
      body: { type: 'error', error: { type: 'authentication_error', message: `invalid x-api-key ${API_KEY}` } },
    });
    const error = await rejection(provider.chat(request));
    expect(error.kind).toBe('authentication');
    expect(error.message).not.toContain(API_KEY);
  });

  it('aborting the signal cancels the request (kind cancelled)', async () => {
    upstream.enqueue({ type: 'chat', delayMs: 5000 });
    const controller = new AbortController();
    const pending = rejection(provider.chat(request, { signal: controller.signal }));
    await vi.waitFor(() => expect(upstream.inFlight).toBe(1));
    controller.abort();
    expect((await pending).kind).toBe('cancelled');
  });
});

describe('chat replays', () => {
  function replay(fixture: string) {
    upstream.enqueue({ type: 'raw', body: readFixture(fixture), headers: { 'content-type': 'application/json' } });
    return provider.chat(request);
  }

  it('anthropic-text.json', async () => {
    const response = await replay('anthropic-text.json');
    expect(response).toEqual({
      id: 'msg_013Zva2CMHLNnXjNJJKqJ2EF',
      object: 'chat.completion',
      created: expect.any(Number),
      model: 'claude-sonnet-4-5-20250929',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi! My name is Claude.' }, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: 2095,
        completion_tokens: 503,
        total_tokens: 2598,
        prompt_tokens_details: { cached_tokens: 0, cache_creation_tokens: 0 },
      },
    });
  });

  it('anthropic-tool-use.json: text plus a tool call with JSON.stringify(input) as arguments', async () => {
    const response = await replay('anthropic-tool-use.json');
    expect(response.choices[0]).toEqual({
      index: 0,
      message: {
        role: 'assistant',
        content: "I'll check the current weather in San Francisco for you.",
        tool_calls: [
          {
            id: 'toolu_01A09q90qw90lq917835lq9',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' },
          },
        ],
      },
      finish_reason: 'tool_calls',
    });
  });

  it('anthropic-thinking.json: thinking as reasoning_content; cache reads and writes counted in prompt_tokens', async () => {
    const response = await replay('anthropic-thinking.json');
    expect(response.choices[0]?.message).toEqual({
      role: 'assistant',
      content: '27 * 453 = 12,231',
      reasoning_content: 'To find 27 * 453, I can split it: 27 * 453 = 27 * 400 + 27 * 53 = 10800 + 1431 = 12231.',
    });
    expect(response.usage).toEqual({
      prompt_tokens: 4248,
      completion_tokens: 164,
      total_tokens: 4412,
      prompt_tokens_details: { cached_tokens: 3000, cache_creation_tokens: 1200 },
    });
  });
});

describe('chatStream', () => {
  it('streams role, content, finish chunk and one usage-only chunk, asking for stream: true', async () => {
    upstream.enqueue({ type: 'chat', content: 'Paris is lovely', usage: { prompt_tokens: 7, completion_tokens: 3 } });
    const chunks = await collect(provider.chatStream(request));
    expect(upstream.requests[0]?.body).toMatchObject({ stream: true, max_tokens: 4096 });
    expect(chunks[0]).toMatchObject({
      id: expect.stringMatching(/^msg_standin\d+$/),
      object: 'chat.completion.chunk',
      model: 'claude-sonnet-4-5',
      choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }],
    });
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('Paris is lovely');
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
    });
    expect(chunks.filter((chunk) => chunk.usage != null)).toHaveLength(1);
  });

  it('streams thinking as reasoning_content and tool calls with ids, names and argument fragments', async () => {
    upstream.enqueue({
      type: 'chat',
      reasoning: 'Need two lookups.',
      toolCalls: [
        { id: 'toolu_a', name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
        { id: 'toolu_b', name: 'get_time', arguments: '{"tz":"Europe/Paris"}' },
      ],
    });
    const chunks = await collect(provider.chatStream(request));
    const deltas = chunks.map((chunk) => chunk.choices[0]?.delta);
    expect(deltas.map((delta) => delta?.reasoning_content ?? '').join('')).toBe('Need two lookups.');
    const calls = deltas.flatMap((delta) => delta?.tool_calls ?? []);
    expect(calls.filter((call) => call.id != null)).toEqual([
      { index: 0, id: 'toolu_a', type: 'function', function: { name: 'get_weather', arguments: '' } },
      { index: 1, id: 'toolu_b', type: 'function', function: { name: 'get_time', arguments: '' } },
    ]);
    const argumentsOf = (index: number) =>
      calls
        .filter((call) => call.index === index)
        .map((call) => call.function?.arguments ?? '')
        .join('');
    expect(argumentsOf(0)).toBe('{"city":"Paris","unit":"celsius"}');
    expect(argumentsOf(1)).toBe('{"tz":"Europe/Paris"}');
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('does not call the vendor before the first next(); HTTP errors reject that next()', async () => {
    upstream.enqueue({ type: 'error', status: 529 });
    const stream = provider.chatStream(request);
    expect(upstream.requests).toHaveLength(0);
    const error = await rejection(stream.next());
    expect(error).toMatchObject({ kind: 'overloaded', status: 529 });
  });

  it('throws an in-stream error event as a ProviderError of its kind, after the chunks before it', async () => {
    upstream.enqueue({ type: 'chat', content: 'one two three four', errorAfterChunks: 4 });
    const received: ChatCompletionChunk[] = [];
    const error = await rejection(
      (async () => {
        for await (const chunk of provider.chatStream(request)) received.push(chunk);
      })(),
    );
    expect(error).toMatchObject({ kind: 'overloaded', type: 'overloaded_error', retryable: true });
    expect(received.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('one ');
  });

  it('treats a cut connection before message_stop as a connection error, not a clean end', async () => {
    upstream.enqueue({ type: 'chat', content: 'one two three four', cutAfterChunks: 5 });
    const error = await rejection(collect(provider.chatStream(request)));
    expect(error.kind).toBe('connection');
  });

  it('treats a body that ends cleanly without message_stop as a truncated stream', async () => {
    upstream.enqueue({
      type: 'raw',
      body: 'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","model":"m","usage":{"input_tokens":1}}}\n\n',
    });
    const error = await rejection(collect(provider.chatStream(request)));
    expect(error).toMatchObject({
      kind: 'server',
      code: 'stream_truncated',
      message: expect.stringContaining('message_stop'),
    });
  });

  it('return() aborts the upstream request', async () => {
    upstream.enqueue({ type: 'chat', content: 'one two three', stallAfterChunks: 3 });
    const stream = provider.chatStream(request);
    expect((await stream.next()).value?.choices[0]?.delta.role).toBe('assistant');
    await stream.return?.();
    await vi.waitFor(() => expect(upstream.requests[0]?.aborted).toBe(true));
  });

  it('aborting the signal mid-stream fails the iteration with kind cancelled', async () => {
    upstream.enqueue({ type: 'chat', content: 'one two three', stallAfterChunks: 3 });
    const controller = new AbortController();
    const stream = provider.chatStream(request, { signal: controller.signal });
    await stream.next();
    const pending = rejection(collect(stream));
    controller.abort();
    expect((await pending).kind).toBe('cancelled');
    await vi.waitFor(() => expect(upstream.requests[0]?.aborted).toBe(true));
  });
});

describe('countTokens', () => {
  it('posts the prompt fields to /v1/messages/count_tokens and answers input_tokens', async () => {
    upstream.enqueue({ type: 'chat', usage: { prompt_tokens: 42, completion_tokens: 0 } });
    const counted = await provider.countTokens?.({
      ...request,
      messages: [{ role: 'system', content: 'Be terse.' }, ...request.messages],
      max_tokens: 100,
      temperature: 0.2,
    });
    expect(counted).toBe(42);
    const [recorded] = upstream.requests;
    expect(recorded?.path).toBe('/v1/messages/count_tokens');
    expect(recorded?.headers['x-api-key']).toBe(API_KEY);
    expect(recorded?.headers['anthropic-version']).toBe('2023-06-01');
    // Anthropic refuses the sampling fields (max_tokens, temperature…) on count_tokens.
    expect(recorded?.body).toEqual({
      model: 'claude-sonnet-4-5',
      system: 'Be terse.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Name the capital of France' }] }],
    });
  });

  it('counts as the stand-in bills the same prompt on /v1/messages', async () => {
    const counted = await provider.countTokens?.(request);
    const answered = await provider.chat(request);
    expect(counted).toBe(answered.usage?.prompt_tokens);
  });

  it('fails with a ProviderError of the vendor status', async () => {
    upstream.enqueue({ type: 'error', status: 529 });
    const error = await rejection(provider.countTokens?.(request) ?? Promise.resolve());
    expect(error).toMatchObject({ kind: 'overloaded', status: 529, provider: 'claude' });
  });
});

describe('embed, listModels, healthCheck', () => {
  it('embed fails with invalid_request without calling the vendor', async () => {
    const error = await rejection(provider.embed({ model: 'x', input: 'hi' }));
    expect(error).toMatchObject({ kind: 'invalid_request', message: 'Anthropic has no embeddings API' });
    expect(upstream.requests).toHaveLength(0);
  });

  it('lists models from GET /v1/models in Anthropic shape, created from created_at', async () => {
    const models = await provider.listModels();
    expect(models).toEqual([
      { id: 'claude-sonnet-4-5', object: 'model', created: 1_739_923_200, owned_by: 'anthropic' },
      { id: 'claude-haiku-4-5', object: 'model', created: 1_739_923_200, owned_by: 'anthropic' },
    ]);
    expect(upstream.requests[0]?.path).toBe('/v1/models');
    expect(upstream.requests[0]?.headers['x-api-key']).toBe(API_KEY);
  });

  it('healthCheck reports ok, or the error without throwing', async () => {
    expect(await provider.healthCheck()).toMatchObject({ ok: true });
    upstream.enqueue({ type: 'error', status: 401 });
    const failed = await provider.healthCheck();
    expect(failed.ok).toBe(false);
    expect(failed.error?.kind).toBe('authentication');
  });
});
