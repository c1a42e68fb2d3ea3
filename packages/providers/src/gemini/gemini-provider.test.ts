// Fixtures follow Google's Gemini API reference (ai.google.dev/api: generateContent, streamGenerateContent,
// batchEmbedContents, GenerateContentResponse, UsageMetadata, PromptFeedback) and its docs examples for
// function calling with thought signatures and for thinking (thought parts, thoughtsTokenCount).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readChunksAsSse, readFixture } from '../__fixtures__/read-fixture.ts';
import type { ChatCompletionRequest } from '../chat-api.ts';
import { createProvider } from '../create-provider.ts';
import type { Provider } from '../provider.ts';
import { startStandInUpstream } from '../testing/stand-in-upstream.ts';
import type { RecordedRequest, StandInUpstream } from '../testing/stand-in-types.ts';
import { collect, rejection } from '../__fixtures__/provider-test-kit.ts';

const API_KEY = 'AIzaSyTestKey4f9c1e7a2b8d3c6e5f0a';

let upstream: StandInUpstream;
let provider: Provider;

beforeAll(async () => {
  upstream = await startStandInUpstream({ models: ['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-embedding-001'] });
  provider = createProvider({ kind: 'gemini', baseUrl: `${upstream.url}/v1beta`, apiKey: API_KEY });
});
afterEach(() => {
  upstream.reset();
  upstream.setDefault({ type: 'chat' });
});
afterAll(async () => {
  await upstream.close();
});

const request: ChatCompletionRequest = {
  model: 'gemini-2.5-flash',
  messages: [{ role: 'user', content: 'Name the capital of France' }],
};

function lastRequest(): RecordedRequest {
  const recorded = upstream.requests.at(-1);
  if (recorded === undefined) throw new Error('no request recorded');
  return recorded;
}

function raw(name: string) {
  return { type: 'raw' as const, body: readFixture(name) };
}

function rawStream(name: string) {
  return { type: 'raw' as const, body: readChunksAsSse(name, { done: false }) };
}

describe('createProvider', () => {
  it('is supported and defaults to the public v1beta endpoint', () => {
    const gemini = createProvider({ kind: 'gemini', apiKey: API_KEY });
    expect(gemini.kind).toBe('gemini');
    expect(gemini.id).toBe('gemini');
  });
});

describe('chat', () => {
  it('posts to :generateContent with x-goog-api-key and converts the answer', async () => {
    upstream.enqueue({ type: 'chat', content: 'Paris.', usage: { prompt_tokens: 7, completion_tokens: 2 } });
    const response = await provider.chat(request);
    const sent = lastRequest();
    expect(sent.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(sent.headers['x-goog-api-key']).toBe(API_KEY);
    expect(sent.headers['authorization']).toBeUndefined();
    expect(sent.body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'Name the capital of France' }] }] });
    expect(response).toMatchObject({
      object: 'chat.completion',
      model: 'gemini-2.5-flash',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 },
    });
  });

  it('accepts a models/ prefixed model and URL-encodes it', async () => {
    await provider.chat({ ...request, model: 'models/gemini-2.5-flash' });
    expect(lastRequest().path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    await provider.chat({ ...request, model: 'my model?x' }).catch(() => undefined);
    expect(lastRequest().url).toBe('/v1beta/models/my%20model%3Fx:generateContent');
  });

  it('turns reasoning into reasoning_content and tool calls into OpenAI tool_calls', async () => {
    upstream.enqueue({
      type: 'chat',
      reasoning: 'Look it up',
      toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }],
    });
    const response = await provider.chat(request);
    expect(response.choices[0]).toMatchObject({
      message: {
        content: null,
        reasoning_content: 'Look it up',
        tool_calls: [
          { id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      finish_reason: 'tool_calls',
    });
    expect(response.usage?.completion_tokens_details?.reasoning_tokens).toBe(3);
  });

  it('maps a behaviour finish reason the Gemini way (length → MAX_TOKENS → length)', async () => {
    upstream.enqueue({ type: 'chat', content: 'cut', finishReason: 'length' });
    expect((await provider.chat(request)).choices[0]?.finish_reason).toBe('length');
    upstream.enqueue({ type: 'chat', content: '', finishReason: 'RECITATION' });
    expect((await provider.chat(request)).choices[0]?.finish_reason).toBe('content_filter');
  });
});

describe('replayed fixtures (chat)', () => {
  it('gemini-text.json', async () => {
    upstream.enqueue(raw('gemini-text.json'));
    const response = await provider.chat(request);
    expect(response).toMatchObject({
      id: 'mWk_Z7WqCo2b1MkPgtbE0AQ',
      model: 'gemini-2.0-flash',
      choices: [{ message: { role: 'assistant', content: 'The capital of France is Paris.' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 8, completion_tokens: 7, total_tokens: 15 },
    });
  });

  it('gemini-function-call.json keeps the thought signature in the tool call id', async () => {
    upstream.enqueue(raw('gemini-function-call.json'));
    const response = await provider.chat(request);
    const call = response.choices[0]?.message.tool_calls?.[0];
    expect(response.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.id).toBe('call_0__thought__CiQB0e2Kb4x7mQqZrM3t9yKc1fVwYl0sPp8Rz6aJjL5uHnTgW2E=');
    expect(JSON.parse(call?.function?.arguments ?? '')).toEqual({ location: 'Boston, MA', unit: 'celsius' });
    expect(response.usage).toMatchObject({
      prompt_tokens: 56,
      completion_tokens: 106,
      total_tokens: 162,
      completion_tokens_details: { reasoning_tokens: 84 },
    });
  });

  it('gemini-thinking.json', async () => {
    upstream.enqueue(raw('gemini-thinking.json'));
    const response = await provider.chat(request);
    const message = response.choices[0]?.message;
    expect(message?.content).toBe('There are **3** r\'s in "strawberry".');
    expect(message?.reasoning_content).toMatch(/^\*\*Counting the letter r\*\*/);
    expect(response.usage).toMatchObject({
      prompt_tokens: 11,
      completion_tokens: 409,
      total_tokens: 420,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 397 },
    });
  });

  it('gemini-safety-block.json: a blocked prompt is one empty content_filter choice', async () => {
    upstream.enqueue(raw('gemini-safety-block.json'));
    const response = await provider.chat(request);
    expect(response.choices).toEqual([
      { index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'content_filter' },
    ]);
    expect(response.usage).toMatchObject({ prompt_tokens: 14, completion_tokens: 0, total_tokens: 14 });
  });
});

describe('chatStream', () => {
  it('posts to :streamGenerateContent?alt=sse and ends with one usage-only chunk', async () => {
    upstream.enqueue({ type: 'chat', content: 'Paris is the capital', reasoning: 'easy one' });
    const chunks = await collect(provider.chatStream(request));
    expect(lastRequest().url).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    expect(lastRequest().headers['x-goog-api-key']).toBe(API_KEY);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', reasoning_content: 'easy ' });
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
    const deltas = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta));
    expect(deltas.map((delta) => delta.reasoning_content ?? '').join('')).toBe('easy one');
    expect(deltas.map((delta) => delta.content ?? '').join('')).toBe('Paris is the capital');
    const finish = chunks.at(-2);
    expect(finish?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: {
        prompt_tokens: 5,
        completion_tokens: 6,
        total_tokens: 11,
        completion_tokens_details: { reasoning_tokens: 2 },
      },
    });
  });

  it('starts the HTTP call lazily and rejects the first next() on an HTTP error', async () => {
    upstream.enqueue({ type: 'error', status: 429 });
    const stream = provider.chatStream(request);
    expect(upstream.requests).toHaveLength(0);
    const error = await rejection(stream.next());
    expect(error).toMatchObject({ kind: 'rate_limit', status: 429, retryAfterMs: 2000, type: 'RESOURCE_EXHAUSTED' });
  });

  it('return() aborts the upstream request', async () => {
    upstream.enqueue({ type: 'chat', content: 'one two three four five six', chunkDelayMs: 50 });
    const stream = provider.chatStream(request);
    await stream.next();
    await stream.return?.();
    await expect.poll(() => lastRequest().aborted).toBe(true);
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('aborting the signal fails the stream with kind cancelled', async () => {
    upstream.enqueue({ type: 'chat', content: 'one two three', stallAfterChunks: 1 });
    const controller = new AbortController();
    const stream = provider.chatStream(request, { signal: controller.signal });
    await stream.next();
    const pending = stream.next();
    controller.abort();
    expect(await rejection(pending)).toMatchObject({ kind: 'cancelled' });
    await expect.poll(() => lastRequest().aborted).toBe(true);
  });

  it('a cut connection mid-stream is a connection error', async () => {
    upstream.enqueue({ type: 'chat', content: 'one two three four', cutAfterChunks: 2 });
    const error = await rejection(collect(provider.chatStream(request)));
    expect(error.kind).toBe('connection');
  });

  it('an error object inside the stream becomes a ProviderError', async () => {
    const event = JSON.stringify({
      error: { code: 500, message: 'An internal error has occurred.', status: 'INTERNAL' },
    });
    upstream.enqueue({
      type: 'raw',
      body: `${readChunksAsSse('gemini-text.chunks.txt', { done: false }).split('\n\n')[0]}\n\ndata: ${event}\n\n`,
    });
    const stream = provider.chatStream(request);
    expect((await stream.next()).value?.choices[0]?.delta.content).toBe('The');
    expect(await rejection(stream.next())).toMatchObject({ kind: 'server', type: 'INTERNAL' });
  });
});

describe('cancellation and malformed answers', () => {
  it('aborting a chat aborts the request with kind cancelled', async () => {
    upstream.enqueue({ type: 'chat', delayMs: 5000 });
    const controller = new AbortController();
    const pending = provider.chat(request, { signal: controller.signal });
    await expect.poll(() => upstream.requests.length).toBe(1);
    controller.abort();
    expect(await rejection(pending)).toMatchObject({ kind: 'cancelled' });
    await expect.poll(() => lastRequest().aborted).toBe(true);
  });

  it('return() during a pending next() ends the iteration and aborts the upstream at once', async () => {
    upstream.enqueue({ type: 'chat', content: 'one two three', stallAfterChunks: 1 });
    const stream = provider.chatStream(request);
    await stream.next();
    const pending = stream.next();
    await stream.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
    await expect.poll(() => lastRequest().aborted).toBe(true);
  });

  it('a 200 body that is not a GenerateContentResponse is a server error', async () => {
    upstream.enqueue({ type: 'raw', body: '{"candidates":"nope"}' }, { type: 'raw', body: 'not json' });
    expect(await rejection(provider.chat(request))).toMatchObject({ kind: 'server', retryable: false });
    expect(await rejection(provider.chat(request))).toMatchObject({ kind: 'server', retryable: false });
  });

  it('a JSON body where an event stream was expected is an error, not an empty stream', async () => {
    upstream.enqueue({ type: 'raw', body: readFixture('gemini-text.json') });
    expect(await rejection(provider.chatStream(request).next())).toMatchObject({ kind: 'server' });
  });

  it('a stream that ends before a finishReason is truncated, not finished', async () => {
    const first = readChunksAsSse('gemini-text.chunks.txt', { done: false }).split('\n\n')[0];
    const sse = { 'content-type': 'text/event-stream' };
    upstream.enqueue({ type: 'raw', headers: sse, body: `${first}\n\n` }, { type: 'raw', headers: sse, body: '' });
    const stream = provider.chatStream(request);
    expect((await stream.next()).value?.choices[0]?.delta.content).toBe('The');
    expect(await rejection(stream.next())).toMatchObject({ kind: 'server', code: 'stream_truncated' });
    expect(await rejection(collect(provider.chatStream(request)))).toMatchObject({ code: 'stream_truncated' });
  });

  it('an unparsable stream event is a server error', async () => {
    upstream.enqueue({ type: 'raw', body: 'data: {"candidates":[{"content":{"parts":"x"}}]}\n\n' });
    expect(await rejection(collect(provider.chatStream(request)))).toMatchObject({ kind: 'server' });
  });
});

describe('replayed fixtures (stream)', () => {
  it('gemini-text.chunks.txt', async () => {
    upstream.enqueue(rawStream('gemini-text.chunks.txt'));
    const chunks = await collect(provider.chatStream(request));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(
      'The capital of France is Paris.',
    );
    expect(chunks[0]).toMatchObject({ id: 'pWk_Z4yuL8Cb1MkPgtbE0AQ', model: 'gemini-2.0-flash' });
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 8, completion_tokens: 7, total_tokens: 15 },
    });
  });

  it('gemini-function-call.chunks.txt: each call arrives whole, indexed in order', async () => {
    upstream.enqueue(rawStream('gemini-function-call.chunks.txt'));
    const chunks = await collect(provider.chatStream(request));
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(calls).toEqual([
      {
        index: 0,
        id: 'call_0__thought__CiQB0e2Kb4x7mQqZrM3t9yKc1fVwYl0sPp8Rz6aJjL5uHnTgW2E=',
        type: 'function',
        function: { name: 'get_current_weather', arguments: '{"location":"Boston, MA","unit":"celsius"}' },
      },
      {
        index: 1,
        id: 'call_1',
        type: 'function',
        function: { name: 'get_current_time', arguments: '{"timezone":"America/New_York"}' },
      },
    ]);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 56, completion_tokens: 121, total_tokens: 177 });
  });

  it('gemini-thinking.chunks.txt: thoughts become reasoning_content, the last usage wins', async () => {
    upstream.enqueue(rawStream('gemini-thinking.chunks.txt'));
    const chunks = await collect(provider.chatStream(request));
    const deltas = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta));
    expect(deltas.map((delta) => delta.reasoning_content ?? '').join('')).toBe(
      "**Counting the letter r**\n\nI'll spell the word out: s-t-r-a-w-b-e-r-r-y. The letter r appears at positions 3, 8 and 9.\n",
    );
    expect(deltas.map((delta) => delta.content ?? '').join('')).toBe('There are **3** r\'s in "strawberry".');
    expect(chunks.at(-1)?.usage).toMatchObject({
      prompt_tokens: 11,
      completion_tokens: 409,
      completion_tokens_details: { reasoning_tokens: 397 },
    });
  });

  it('a blocked prompt streams one content_filter chunk then usage', async () => {
    upstream.enqueue({
      type: 'raw',
      body: `data: ${JSON.stringify(JSON.parse(readFixture('gemini-safety-block.json')))}\r\n\r\n`,
    });
    const chunks = await collect(provider.chatStream(request));
    expect(chunks.map((chunk) => chunk.choices[0]?.finish_reason ?? null)).toEqual(['content_filter', null]);
    expect(chunks.at(-1)?.usage?.prompt_tokens).toBe(14);
  });
});

describe('embed', () => {
  it('posts :batchEmbedContents with models/-prefixed requests and outputDimensionality', async () => {
    const response = await provider.embed({ model: 'gemini-embedding-001', input: ['a cat', 'a dog'], dimensions: 8 });
    const sent = lastRequest();
    expect(sent.path).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents');
    expect(sent.body).toEqual({
      requests: [
        { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'a cat' }] }, outputDimensionality: 8 },
        { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'a dog' }] }, outputDimensionality: 8 },
      ],
    });
    expect(
      response.data.map((item) => [
        item.object,
        item.index,
        Array.isArray(item.embedding) ? item.embedding.length : -1,
      ]),
    ).toEqual([
      ['embedding', 0, 8],
      ['embedding', 1, 8],
    ]);
    expect(response.usage).toEqual({ prompt_tokens: 0, total_tokens: 0 });
  });

  it('replays gemini-embeddings.json, also as base64', async () => {
    upstream.enqueue(raw('gemini-embeddings.json'), raw('gemini-embeddings.json'));
    const floats = await provider.embed({ model: 'gemini-embedding-001', input: ['x', 'y'] });
    expect(floats.data[0]?.embedding).toEqual([
      0.013168517, -0.00871193, -0.046782672, 0.00069969177, -0.009518645, -0.008720573, 0.060103573, 0.024175962,
    ]);
    const base64 = await provider.embed({
      model: 'gemini-embedding-001',
      input: ['x', 'y'],
      encoding_format: 'base64',
    });
    const encoded = base64.data[1]?.embedding;
    expect(typeof encoded).toBe('string');
    const bytes = Buffer.from(String(encoded), 'base64');
    expect(new Float32Array(bytes.buffer, bytes.byteOffset, 8)[0]).toBeCloseTo(-0.026522124, 6);
  });

  it('refuses token-array input', async () => {
    const error = await rejection(provider.embed({ model: 'gemini-embedding-001', input: [1, 2, 3] }));
    expect(error).toMatchObject({ kind: 'invalid_request', param: 'input' });
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('listModels and healthCheck', () => {
  it('lists models without the models/ prefix', async () => {
    const models = await provider.listModels();
    expect(lastRequest().path).toBe('/v1beta/models');
    expect(models.map((model) => model.id)).toEqual(['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-embedding-001']);
  });

  it('follows nextPageToken', async () => {
    upstream.enqueue(
      { type: 'raw', body: JSON.stringify({ models: [{ name: 'models/a' }], nextPageToken: 'p2' }) },
      { type: 'raw', body: JSON.stringify({ models: [{ name: 'models/b' }] }) },
    );
    const models = await provider.listModels();
    expect(models.map((model) => model.id)).toEqual(['a', 'b']);
    expect(upstream.requests[1]?.url).toContain('pageToken=p2');
  });

  it('healthCheck reports a failure without throwing', async () => {
    upstream.enqueue({ type: 'raw', status: 400, body: readFixture('gemini-error-api-key-invalid.json') });
    const result = await provider.healthCheck();
    expect(result.ok).toBe(false);
    expect(result.error?.kind).toBe('authentication');
    expect((await provider.healthCheck()).ok).toBe(true);
  });
});
