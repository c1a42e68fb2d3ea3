import { getEventListeners } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChatCompletionChunk, ChatCompletionRequest } from '../chat-api.ts';
import { createProvider } from '../create-provider.ts';
import type { Provider } from '../provider.ts';
import { startStandInUpstream } from '../testing/stand-in-upstream.ts';
import type { StandInUpstream } from '../testing/stand-in-types.ts';
import { collect, rejection } from '../__fixtures__/provider-test-kit.ts';

const API_KEY = 'sk-test-4f9c1e7a2b8d3c6e5f0a';

let upstream: StandInUpstream;
let provider: Provider;

beforeAll(async () => {
  upstream = await startStandInUpstream();
  provider = createProvider({ kind: 'openai', id: 'primary', baseUrl: upstream.baseUrl, apiKey: API_KEY });
});
afterEach(() => {
  upstream.reset();
  upstream.setDefault({ type: 'chat' });
});
afterAll(async () => {
  await upstream.close();
});

const request: ChatCompletionRequest = {
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Name the capital of France' }],
};

function text(chunks: ChatCompletionChunk[]): string {
  return chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
}

describe('chat', () => {
  it('returns the completion and sends the key as Bearer to /v1/chat/completions', async () => {
    upstream.enqueue({ type: 'chat', content: 'Paris.', usage: { prompt_tokens: 7, completion_tokens: 2 } });
    const response = await provider.chat({ ...request, temperature: 0.1, enable_thinking: false });
    expect(response.choices[0]?.message.content).toBe('Paris.');
    expect(response.choices[0]?.finish_reason).toBe('stop');
    expect(response.model).toBe('gpt-4o-mini');
    expect(response.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 });
    expect(response['system_fingerprint']).toBe('fp_standin');
    const [recorded] = upstream.requests;
    expect(recorded?.method).toBe('POST');
    expect(recorded?.path).toBe('/v1/chat/completions');
    expect(recorded?.headers['authorization']).toBe(`Bearer ${API_KEY}`);
    expect(recorded?.body).toEqual({ ...request, temperature: 0.1, enable_thinking: false });
  });

  it('never asks for a stream, even when the request says stream: true', async () => {
    const response = await provider.chat({ ...request, stream: true, stream_options: { include_usage: true } });
    expect(response.choices[0]?.message.content).toContain('Stand-in reply to: Name the capital of France');
    expect(upstream.requests[0]?.body).toEqual(request);
  });

  it('sends per-call and per-provider headers', async () => {
    const withHeaders = createProvider({
      kind: 'openai-compatible',
      baseUrl: upstream.baseUrl,
      headers: { 'x-tenant': 'acme' },
    });
    await withHeaders.chat(request, { headers: { 'x-trace': 't-1' } });
    const headers = upstream.requests[0]?.headers;
    expect(headers?.['x-tenant']).toBe('acme');
    expect(headers?.['x-trace']).toBe('t-1');
    expect(headers?.['authorization']).toBeUndefined();
    upstream.reset();
    await provider.chat(request, { headers: { 'x-trace': 't-2' } });
    expect(upstream.requests[0]?.headers).toMatchObject({ 'x-trace': 't-2', authorization: `Bearer ${API_KEY}` });
    upstream.reset();
    const both = createProvider({
      kind: 'openai',
      baseUrl: upstream.baseUrl,
      apiKey: API_KEY,
      headers: { Authorization: 'Bearer other' },
    });
    await both.chat(request, { headers: { 'x-trace': 't-2' } });
    expect(upstream.requests[0]?.headers).toMatchObject({ 'x-trace': 't-2', authorization: `Bearer ${API_KEY}` });
  });

  it('returns tool calls and forwards the tools', async () => {
    upstream.enqueue({
      type: 'chat',
      toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
    });
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object' } } }];
    const response = await provider.chat({ ...request, tools, tool_choice: 'auto' });
    expect(response.choices[0]?.finish_reason).toBe('tool_calls');
    expect(response.choices[0]?.message.content).toBeNull();
    expect(response.choices[0]?.message.tool_calls).toEqual([
      { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
    ]);
    expect(upstream.requests[0]?.body).toMatchObject({ tools, tool_choice: 'auto' });
  });

  it('turns a 200 body carrying {"error":…} into that error', async () => {
    upstream.enqueue({ type: 'raw', body: '{"error":{"message":"busy","type":"server_error","code":"1305"}}' });
    const error = await rejection(provider.chat(request));
    expect(error.kind).toBe('server');
    expect(error.message).toBe('busy');
    expect(error.code).toBe('1305');
  });

  it('refuses a 200 body that is not a chat completion with a typed error', async () => {
    upstream.enqueue({ type: 'raw', body: '<html>gateway</html>', headers: { 'content-type': 'text/html' } });
    const error = await rejection(provider.chat(request));
    expect(error.kind).toBe('server');
    expect(error.retryable).toBe(false);
    upstream.enqueue({ type: 'raw', body: '{"choices":"nope"}' });
    expect((await rejection(provider.chat(request))).message).toContain('choices');
  });
});

describe('chatStream', () => {
  it('streams the text, sends include_usage upstream and yields the usage-only chunk', async () => {
    upstream.enqueue({ type: 'chat', content: 'The capital of France is Paris.' });
    const chunks = await collect(provider.chatStream(request));
    expect(text(chunks)).toBe('The capital of France is Paris.');
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe('stop');
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 });
    expect(upstream.requests[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('keeps the caller stream_options and adds include_usage', async () => {
    await collect(provider.chatStream({ ...request, stream_options: { include_obfuscation: false } }));
    expect(upstream.requests[0]?.body).toMatchObject({
      stream: true,
      stream_options: { include_obfuscation: false, include_usage: true },
    });
  });

  it('does not send stream_options to kinds that reject it (mistral), yet streams', async () => {
    const mistral = createProvider({ kind: 'mistral', baseUrl: upstream.baseUrl, apiKey: API_KEY });
    const chunks = await collect(mistral.chatStream(request));
    expect(text(chunks)).toContain('Stand-in reply to');
    expect(upstream.requests[0]?.body).not.toHaveProperty('stream_options');
    expect(upstream.requests[0]?.body).toMatchObject({ stream: true });
  });

  it('streams tool calls as index/id/name plus argument fragments', async () => {
    upstream.enqueue({
      type: 'chat',
      toolCalls: [
        { id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
        { id: 'call_b', name: 'get_time', arguments: '{"tz":"Europe/Paris"}' },
      ],
    });
    const chunks = await collect(provider.chatStream({ ...request, tools: [] }));
    const calls = new Map<number, { id: string; name: string; arguments: string }>();
    for (const chunk of chunks) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        const index = delta.index ?? 0;
        const call = calls.get(index) ?? { id: '', name: '', arguments: '' };
        call.id += delta.id ?? '';
        call.name += delta.function?.name ?? '';
        call.arguments += delta.function?.arguments ?? '';
        calls.set(index, call);
      }
    }
    expect([...calls.values()]).toEqual([
      { id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
      { id: 'call_b', name: 'get_time', arguments: '{"tz":"Europe/Paris"}' },
    ]);
    const fragments = chunks.filter((chunk) => chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments);
    expect(fragments.length).toBeGreaterThan(2);
    expect(chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('starts the HTTP call lazily and rejects the first next() with the HTTP error', async () => {
    upstream.enqueue({
      type: 'error',
      status: 401,
      body: { error: { message: 'bad key', type: 'invalid_request_error', code: 'invalid_api_key' } },
    });
    const stream = provider.chatStream(request);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(upstream.requests).toHaveLength(0);
    const error = await rejection(stream.next());
    expect(error.kind).toBe('authentication');
    expect(error.status).toBe(401);
    expect(error.provider).toBe('primary');
    expect(error.model).toBe('gpt-4o-mini');
  });

  it('throws a ProviderError mid-stream on an {"error":…} payload', async () => {
    upstream.enqueue({
      type: 'raw',
      body:
        'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}\n\n' +
        'data: {"error":{"message":"Rate limit reached","type":"rate_limit_error","code":"rate_limit_exceeded"}}\n\n',
    });
    const received: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const chunk of provider.chatStream(request)) received.push(chunk.choices[0]?.delta.content ?? '');
      })(),
    );
    expect(received).toEqual(['Hel']);
    expect(error.kind).toBe('rate_limit');
    expect(error.retryable).toBe(true);
    expect(error.message).toBe('Rate limit reached');
  });

  it('refuses a JSON answer to a streaming call instead of yielding nothing', async () => {
    upstream.enqueue({
      type: 'raw',
      body: '{"error":{"message":"quota gone","type":"insufficient_quota","code":"insufficient_quota"}}',
    });
    expect((await rejection(provider.chatStream(request).next())).kind).toBe('quota');
    upstream.enqueue({
      type: 'raw',
      body: '{"id":"x","choices":[{"index":0,"message":{"content":"hi"},"finish_reason":"stop"}]}',
    });
    const error = await rejection(provider.chatStream(request).next());
    expect(error.kind).toBe('server');
    expect(error.message).toContain('event stream was expected');
  });

  it('throws kind connection when the upstream cuts the connection mid-stream, without hanging', async () => {
    upstream.enqueue({ type: 'chat', content: 'one two three four five six seven eight', cutAfterChunks: 3 });
    const received: ChatCompletionChunk[] = [];
    const started = performance.now();
    const error = await rejection(
      (async () => {
        for await (const chunk of provider.chatStream(request)) received.push(chunk);
      })(),
    );
    expect(error.kind).toBe('connection');
    expect(error.retryable).toBe(true);
    expect(received).toHaveLength(3);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('aborts the upstream request when the caller aborts mid-stream', async () => {
    upstream.enqueue({ type: 'chat', content: 'a b c d e f g h', stallAfterChunks: 2 });
    const controller = new AbortController();
    const stream = provider.chatStream(request, { signal: controller.signal });
    await stream.next();
    await stream.next();
    const pending = stream.next();
    controller.abort();
    const error = await rejection(pending);
    expect(error.kind).toBe('cancelled');
    expect(error.retryable).toBe(false);
    await vi.waitFor(() => expect(upstream.requests[0]?.aborted).toBe(true));
    expect(upstream.inFlight).toBe(0);
  });

  it('aborts the upstream request when the consumer breaks out early', async () => {
    upstream.enqueue({ type: 'chat', content: 'a b c d e f g h', stallAfterChunks: 3 });
    for await (const chunk of provider.chatStream(request)) {
      if (chunk.choices[0]?.delta.content === 'a ') break;
    }
    await vi.waitFor(() => expect(upstream.requests[0]?.aborted).toBe(true));
  });

  it('answers next() calls that were not awaited in order, over one upstream call', async () => {
    upstream.enqueue({ type: 'chat', content: 'a b', chunkWords: 1 });
    const stream = provider.chatStream(request);
    const results = await Promise.all(Array.from({ length: 7 }, () => stream.next()));
    // Role chunk, two words, finish chunk, usage-only chunk, then the end.
    expect(
      results.map((result) => (result.done === true ? 'done' : (result.value.choices[0]?.delta.content ?? '-'))),
    ).toEqual(['', 'a ', 'b', '-', '-', 'done', 'done']);
    expect(upstream.requests).toHaveLength(1);
  });

  it('leaves nothing on a long-lived caller signal once a stream ends, fails or is left early', async () => {
    const caller = new AbortController();
    upstream.enqueue({ type: 'chat', content: 'a b c' });
    expect(text(await collect(provider.chatStream(request, { signal: caller.signal })))).toBe('a b c');
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    upstream.enqueue({ type: 'chat', content: 'a b c d e f g h', stallAfterChunks: 3 });
    for await (const chunk of provider.chatStream(request, { signal: caller.signal })) {
      if (chunk.choices[0]?.delta.content === 'a ') break;
    }
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    upstream.enqueue({ type: 'error', status: 500, body: { error: { message: 'boom', type: 'server_error' } } });
    expect((await rejection(provider.chatStream(request, { signal: caller.signal }).next())).kind).toBe('server');
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    await vi.waitFor(() => expect(upstream.inFlight).toBe(0));
  });

  it('reports a caller AbortSignal.timeout as kind timeout', async () => {
    upstream.enqueue({ type: 'chat', delayMs: 2000 });
    const error = await rejection(provider.chat(request, { signal: AbortSignal.timeout(50) }));
    expect(error.kind).toBe('timeout');
  });

  it('delivers a 20,000-word answer whole and in order', async () => {
    const words = Array.from({ length: 20_000 }, (_, index) => `w${index}`);
    upstream.enqueue({ type: 'chat', content: words.join(' ') });
    let received = '';
    let count = 0;
    for await (const chunk of provider.chatStream(request)) {
      received += chunk.choices[0]?.delta.content ?? '';
      count += 1;
    }
    expect(received).toBe(words.join(' '));
    expect(count).toBe(20_000 + 3);
  });
});

describe('embed, listModels, healthCheck', () => {
  it('embeds text with deterministic vectors', async () => {
    const first = await provider.embed({ model: 'text-embedding-3-small', input: ['hello', 'world'], dimensions: 4 });
    const again = await provider.embed({ model: 'text-embedding-3-small', input: 'hello', dimensions: 4 });
    expect(first.data).toHaveLength(2);
    expect(first.data[0]?.embedding).toHaveLength(4);
    expect(again.data[0]?.embedding).toEqual(first.data[0]?.embedding);
    expect(first.data[1]?.embedding).not.toEqual(first.data[0]?.embedding);
    expect(first.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
    expect(upstream.requests[0]?.path).toBe('/v1/embeddings');
  });

  it('lists models', async () => {
    const models = await provider.listModels();
    expect(models.map((model) => model.id)).toEqual(['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small']);
    expect(models[0]).toEqual({ id: 'gpt-4o-mini', object: 'model', created: 1_700_000_000, owned_by: 'stand-in' });
    expect(upstream.requests[0]).toMatchObject({ method: 'GET', path: '/v1/models' });
  });

  it('reports health ok with a latency', async () => {
    const health = await provider.healthCheck();
    expect(health.ok).toBe(true);
    expect(health.latencyMs).toBeGreaterThanOrEqual(0);
    expect(health.error).toBeUndefined();
  });

  it('reports health failing with the error instead of throwing', async () => {
    upstream.enqueue({ type: 'error', status: 503 });
    const health = await provider.healthCheck();
    expect(health.ok).toBe(false);
    expect(health.error?.kind).toBe('overloaded');
  });
});

describe('secrets', () => {
  it('never puts the API key into an error message, even when the upstream echoes it', async () => {
    upstream.setDefault({
      type: 'error',
      status: 401,
      body: {
        error: {
          message: `Incorrect API key provided: ${API_KEY}. Header was Authorization: Bearer ${API_KEY}`,
          type: 'invalid_request_error',
          code: 'invalid_api_key',
        },
      },
    });
    const chatError = await rejection(provider.chat(request));
    const streamError = await rejection(provider.chatStream(request).next());
    upstream.setDefault({ type: 'error', status: 500, body: `upstream crashed with key ${API_KEY}` });
    const textError = await rejection(provider.embed({ model: 'e', input: 'x' }));
    for (const error of [chatError, streamError, textError]) {
      expect(error.message).not.toContain(API_KEY);
      expect(error.message).toContain('[redacted]');
      expect(JSON.stringify(error)).not.toContain(API_KEY);
    }
    expect(chatError.kind).toBe('authentication');
    expect(textError.kind).toBe('server');
  });

  it('reports an unreachable upstream as kind connection', async () => {
    const closed = await startStandInUpstream();
    await closed.close();
    const unreachable = createProvider({ kind: 'openai', baseUrl: closed.baseUrl, apiKey: API_KEY });
    const error = await rejection(unreachable.chat(request));
    expect(error.kind).toBe('connection');
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).not.toContain(API_KEY);
    const streamError = await rejection(unreachable.chatStream(request).next());
    expect(streamError.kind).toBe('connection');
  });
});
