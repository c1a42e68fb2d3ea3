// Fixtures follow the AWS Bedrock Runtime API reference (docs.aws.amazon.com/bedrock/latest/APIReference/
// API_runtime_Converse.html and API_runtime_ConverseStream.html: response shape, stream event members, error types
// sent in x-amzn-errortype with a {message} body). The *.events.json fixtures are decoded event-stream messages;
// the replay tests encode them back to the binary format.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { readFixture } from '../__fixtures__/read-fixture.ts';
import type { ChatCompletionRequest } from '../chat-api.ts';
import { createProvider } from '../create-provider.ts';
import type { Provider } from '../provider.ts';
import { startStandInUpstream } from '../testing/stand-in-upstream.ts';
import type { StandInUpstream } from '../testing/stand-in-types.ts';
import { createBedrockProvider } from './bedrock-provider.ts';
import { encodeEventStreamMessage } from './event-stream-codec.ts';
import { collect, rejection } from '../__fixtures__/provider-test-kit.ts';
import { closedPortUrl } from '@gw/test-kit';

const ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN';
const MODEL = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const NOW = Date.UTC(2026, 10, 22, 5, 30, 0);

let upstream: StandInUpstream;
let provider: Provider;

beforeAll(async () => {
  upstream = await startStandInUpstream();
  provider = createBedrockProvider({
    id: 'bedrock',
    region: 'us-east-1',
    baseUrl: upstream.url,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET,
    sessionToken: SESSION_TOKEN,
    now: () => NOW,
  });
});
afterEach(() => {
  upstream.reset();
  upstream.setDefault({ type: 'chat' });
});
afterAll(async () => {
  await upstream.close();
});

const request: ChatCompletionRequest = {
  model: MODEL,
  messages: [{ role: 'user', content: 'Name the capital of France' }],
};

function eventStream(name: string): Uint8Array {
  const events: Array<{ headers: Record<string, string>; payload: unknown }> = JSON.parse(readFixture(name));
  const parts = events.map((event) => encodeEventStreamMessage(event.headers, JSON.stringify(event.payload)));
  return Uint8Array.from(parts.flatMap((part) => Array.from(part)));
}

function exceptionMessage(type: string, message: string): Uint8Array {
  return encodeEventStreamMessage(
    { ':exception-type': type, ':content-type': 'application/json', ':message-type': 'exception' },
    JSON.stringify({ message }),
  );
}

describe('chat', () => {
  it('posts a signed Converse request to /model/{id}/converse and converts the answer', async () => {
    upstream.enqueue({ type: 'chat', content: 'Paris.', usage: { prompt_tokens: 7, completion_tokens: 2 } });
    const response = await provider.chat({ ...request, temperature: 0.2, max_tokens: 100, seed: 3 });
    expect(response).toMatchObject({
      object: 'chat.completion',
      created: NOW / 1000,
      model: MODEL,
      choices: [{ index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 },
    });
    const sent = upstream.requests[0];
    expect(sent?.path).toBe(`/model/${encodeURIComponent(MODEL)}/converse`);
    expect(sent?.headers['authorization']).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/20261122\/us-east-1\/bedrock\/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
    expect(sent?.headers['x-amz-date']).toBe('20261122T053000Z');
    expect(sent?.headers['x-amz-security-token']).toBe(SESSION_TOKEN);
    expect(sent?.body).toEqual({
      messages: [{ role: 'user', content: [{ text: 'Name the capital of France' }] }],
      inferenceConfig: { maxTokens: 100, temperature: 0.2 },
    });
  });

  it('sends a Bedrock API key as Bearer when no AWS credentials are configured', async () => {
    const keyed = createProvider({
      kind: 'bedrock',
      region: 'eu-west-1',
      baseUrl: upstream.url,
      apiKey: 'ABSKbedrockapikey1234',
    });
    await keyed.chat(request);
    expect(upstream.requests[0]?.headers['authorization']).toBe('Bearer ABSKbedrockapikey1234');
    expect(upstream.requests[0]?.headers['x-amz-date']).toBeUndefined();
  });

  it('converts system, images, tool calls and tool results, and tools with tool_choice', async () => {
    await provider.chat({
      model: MODEL,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: [{ type: 'text', text: 'Use tools.' }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather here?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0K' } },
          ],
        },
        { role: 'user', content: 'Paris, please.' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'tooluse_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'tooluse_1', content: '{"temp":21}' },
        { role: 'tool', tool_call_id: 'tooluse_2', content: 'sunny' },
      ],
      tools: [
        { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object' } } },
      ],
      tool_choice: 'required',
      stop: 'END',
      top_p: 0.9,
    });
    expect(upstream.requests[0]?.body).toEqual({
      system: [{ text: 'Be brief.' }, { text: 'Use tools.' }],
      messages: [
        {
          role: 'user',
          content: [
            { text: 'Weather here?' },
            { image: { format: 'png', source: { bytes: 'iVBORw0K' } } },
            { text: 'Paris, please.' },
          ],
        },
        {
          role: 'assistant',
          content: [{ toolUse: { toolUseId: 'tooluse_1', name: 'get_weather', input: { city: 'Paris' } } }],
        },
        {
          role: 'user',
          content: [
            { toolResult: { toolUseId: 'tooluse_1', content: [{ json: { temp: 21 } }] } },
            { toolResult: { toolUseId: 'tooluse_2', content: [{ text: 'sunny' }] } },
          ],
        },
      ],
      inferenceConfig: { topP: 0.9, stopSequences: ['END'] },
      toolConfig: {
        tools: [
          { toolSpec: { name: 'get_weather', description: 'Weather', inputSchema: { json: { type: 'object' } } } },
        ],
        toolChoice: { any: {} },
      },
    });
  });

  it('sends no tools for tool_choice none and names the tool for a named choice', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'f' } }];
    await provider.chat({ ...request, tools, tool_choice: 'none' });
    await provider.chat({ ...request, tools, tool_choice: { type: 'function', function: { name: 'f' } } });
    expect(upstream.requests[0]?.body).not.toHaveProperty('toolConfig');
    expect(upstream.requests[1]?.body).toMatchObject({ toolConfig: { toolChoice: { tool: { name: 'f' } } } });
  });

  it('refuses an image URL that is not a data: URL before calling', async () => {
    const error = await rejection(
      provider.chat({
        model: MODEL,
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/cat.png' } }] }],
      }),
    );
    expect(error).toMatchObject({ kind: 'invalid_request', param: 'messages[0].content[0]' });
    expect(upstream.requests).toHaveLength(0);
  });

  it('returns tool calls and reasoning', async () => {
    upstream.enqueue({
      type: 'chat',
      reasoning: 'Need weather',
      toolCalls: [{ id: 'tooluse_a', name: 'get_weather', arguments: '{"city":"Paris"}' }],
    });
    const response = await provider.chat(request);
    expect(response.choices[0]).toMatchObject({
      message: {
        content: null,
        reasoning_content: 'Need weather',
        tool_calls: [
          { id: 'tooluse_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      finish_reason: 'tool_calls',
    });
  });
});

describe('chatStream', () => {
  it('streams role, content, finish, then one usage-only chunk', async () => {
    upstream.enqueue({ type: 'chat', content: 'Paris is lovely', usage: { prompt_tokens: 5, completion_tokens: 3 } });
    const chunks = await collect(provider.chatStream(request));
    expect(upstream.requests[0]?.path).toBe(`/model/${encodeURIComponent(MODEL)}/converse-stream`);
    expect(chunks[0]).toMatchObject({
      object: 'chat.completion.chunk',
      model: MODEL,
      choices: [{ index: 0, delta: { role: 'assistant' } }],
    });
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('Paris is lovely');
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
    });
    expect(chunks.filter((chunk) => chunk.choices.length === 0)).toHaveLength(1);
  });

  it('streams reasoning and tool calls in OpenAI deltas', async () => {
    upstream.enqueue({
      type: 'chat',
      reasoning: 'Think',
      toolCalls: [{ id: 'tooluse_b', name: 'f', arguments: '{"a":"0123456789"}' }],
    });
    const chunks = await collect(provider.chatStream(request));
    const deltas = chunks.map((chunk) => chunk.choices[0]?.delta);
    expect(deltas.map((delta) => delta?.reasoning_content ?? '').join('')).toBe('Think');
    const calls = deltas.flatMap((delta) => delta?.tool_calls ?? []);
    expect(calls[0]).toEqual({ index: 0, id: 'tooluse_b', type: 'function', function: { name: 'f', arguments: '' } });
    expect(calls.map((call) => call.function?.arguments ?? '').join('')).toBe('{"a":"0123456789"}');
    expect(calls.slice(1).every((call) => call.id === undefined)).toBe(true);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('rejects the first next() with the HTTP error', async () => {
    upstream.enqueue({ type: 'error', status: 429 });
    const error = await rejection(provider.chatStream(request).next());
    expect(error).toMatchObject({ kind: 'rate_limit', status: 429, code: 'ThrottlingException' });
  });

  it.each([
    ['throttlingException', 'rate_limit'],
    ['serviceUnavailableException', 'overloaded'],
    ['internalServerException', 'server'],
    ['modelStreamErrorException', 'server'],
    ['validationException', 'invalid_request'],
  ])('turns an in-stream %s into a ProviderError of kind %s mid-iteration', async (type, kind) => {
    const start = encodeEventStreamMessage(
      { ':event-type': 'messageStart', ':message-type': 'event' },
      '{"role":"assistant"}',
    );
    upstream.enqueue({ type: 'raw', body: Uint8Array.from([...start, ...exceptionMessage(type, 'Stream failed')]) });
    const stream = provider.chatStream(request);
    expect((await stream.next()).value).toMatchObject({ choices: [{ delta: { role: 'assistant' } }] });
    const error = await rejection(stream.next());
    expect(error).toMatchObject({ kind, message: 'Stream failed' });
  });

  it('reports a cut connection as kind connection', async () => {
    upstream.enqueue({ type: 'chat', content: 'one two three four', cutAfterChunks: 2 });
    const error = await rejection(collect(provider.chatStream(request)));
    expect(error.kind).toBe('connection');
  });

  it('return() aborts a stalled upstream; an aborted signal gives kind cancelled', async () => {
    upstream.enqueue({ type: 'chat', content: 'one two three', stallAfterChunks: 1 });
    const stream = provider.chatStream(request);
    await stream.next();
    await stream.return?.();
    await vi.waitFor(() => expect(upstream.requests[0]?.aborted).toBe(true));

    upstream.enqueue({ type: 'chat', content: 'one two three', stallAfterChunks: 1 });
    const controller = new AbortController();
    const second = provider.chatStream(request, { signal: controller.signal });
    await second.next();
    const pending = second.next();
    controller.abort();
    expect((await rejection(pending)).kind).toBe('cancelled');
  });
});

describe('replayed fixtures', () => {
  it('bedrock-text.json', async () => {
    upstream.enqueue({ type: 'raw', body: readFixture('bedrock-text.json') });
    const response = await provider.chat(request);
    expect(response.choices[0]).toMatchObject({
      message: { content: 'The capital of France is Paris.' },
      finish_reason: 'stop',
    });
    expect(response.usage).toEqual({ prompt_tokens: 14, completion_tokens: 10, total_tokens: 24 });
  });

  it('bedrock-tool-use.json: text, the tool call, cache reads counted into prompt_tokens', async () => {
    upstream.enqueue({ type: 'raw', body: readFixture('bedrock-tool-use.json') });
    const response = await provider.chat(request);
    expect(response.choices[0]).toMatchObject({
      message: {
        content: "I'll look up the current weather in Paris.",
        tool_calls: [
          {
            id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q',
            function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
          },
        ],
      },
      finish_reason: 'tool_calls',
    });
    expect(response.usage).toEqual({
      prompt_tokens: 732,
      completion_tokens: 71,
      total_tokens: 803,
      prompt_tokens_details: { cached_tokens: 320, cache_creation_tokens: 0 },
    });
  });

  it('bedrock-text.events.json', async () => {
    upstream.enqueue({ type: 'raw', body: eventStream('bedrock-text.events.json') });
    const chunks = await collect(provider.chatStream(request));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(
      'The capital of France is Paris.',
    );
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 14, completion_tokens: 10, total_tokens: 24 },
    });
  });

  it('bedrock-tool-use.events.json', async () => {
    upstream.enqueue({ type: 'raw', body: eventStream('bedrock-tool-use.events.json') });
    const chunks = await collect(provider.chatStream(request));
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toMatchObject({
      index: 0,
      id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q',
      function: { name: 'get_weather' },
    });
    expect(JSON.parse(calls.map((call) => call.function?.arguments ?? '').join(''))).toEqual({
      city: 'Paris',
      unit: 'celsius',
    });
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 732, prompt_tokens_details: { cached_tokens: 320 } });
  });

  it('bedrock-error-throttling.json (ThrottlingException) → rate_limit', async () => {
    upstream.enqueue({ type: 'error', status: 429, body: JSON.parse(readFixture('bedrock-error-throttling.json')) });
    const error = await rejection(provider.chat(request));
    expect(error).toMatchObject({ kind: 'rate_limit', status: 429, code: 'ThrottlingException', retryable: true });
    expect(error.message).toBe('Too many requests, please wait before trying again.');
  });

  it('bedrock-error-validation.json (input too long) → context_window', async () => {
    upstream.enqueue({ type: 'error', status: 400, body: JSON.parse(readFixture('bedrock-error-validation.json')) });
    const error = await rejection(provider.chat(request));
    expect(error).toMatchObject({ kind: 'context_window', status: 400, code: 'ValidationException' });
  });
});

describe('errors', () => {
  it.each([
    [400, 'ValidationException', 'invalid_request'],
    [403, 'AccessDeniedException', 'permission'],
    [403, 'UnrecognizedClientException', 'authentication'],
    [403, 'ExpiredTokenException', 'authentication'],
    [403, 'InvalidSignatureException', 'authentication'],
    [404, 'ResourceNotFoundException', 'not_found'],
    [408, 'ModelTimeoutException', 'timeout'],
    [429, 'ModelNotReadyException', 'overloaded'],
    [400, 'ServiceQuotaExceededException', 'rate_limit'],
    [500, 'InternalServerException', 'server'],
    [503, 'ServiceUnavailableException', 'overloaded'],
  ])('HTTP %i %s → %s', async (status, type, kind) => {
    upstream.enqueue({
      type: 'error',
      status,
      body: { message: 'Malformed input request' },
      headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.coral.service/` },
    });
    const error = await rejection(provider.chat(request));
    expect(error).toMatchObject({ kind, status, code: type });
  });

  it('keeps the retry-after the service sends', async () => {
    upstream.enqueue({ type: 'error', status: 429, headers: { 'retry-after': '3' } });
    expect((await rejection(provider.chat(request))).retryAfterMs).toBe(3000);
  });

  it('never puts the secret key or the session token into an error message', async () => {
    upstream.enqueue({
      type: 'error',
      status: 403,
      body: { message: `Bad secret ${SECRET} token ${SESSION_TOKEN}` },
      headers: { 'x-amzn-errortype': 'UnrecognizedClientException' },
    });
    const error = await rejection(provider.chat(request));
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain(SESSION_TOKEN);
  });

  it('refuses embeddings and lists no models, without a call', async () => {
    expect((await rejection(provider.embed({ model: 'amazon.titan-embed-text-v2:0', input: 'x' }))).kind).toBe(
      'invalid_request',
    );
    expect(await provider.listModels()).toEqual([]);
    expect(upstream.requests).toHaveLength(0);
  });

  it('health-checks with a Converse call Bedrock refuses: the refusal is ok, bad credentials are not', async () => {
    upstream.enqueue({
      type: 'error',
      status: 400,
      body: { message: 'The provided model identifier is invalid.' },
      headers: { 'x-amzn-errortype': 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/' },
    });
    expect((await provider.healthCheck()).ok).toBe(true);
    expect(upstream.requests[0]).toMatchObject({ method: 'POST', path: '/model/gw-health-probe/converse' });
    expect(upstream.requests[0]?.headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 /);

    upstream.enqueue({
      type: 'error',
      status: 403,
      body: { message: 'The security token included in the request is invalid.' },
      headers: { 'x-amzn-errortype': 'UnrecognizedClientException' },
    });
    const refused = await provider.healthCheck();
    expect(refused).toMatchObject({ ok: false, error: { kind: 'authentication' } });
  });

  it('health-checks not ok, with a network error kind, when the endpoint cannot be reached', async () => {
    const unreachable = createProvider({
      kind: 'bedrock',
      region: 'us-east-1',
      apiKey: 'k',
      baseUrl: await closedPortUrl(),
    });
    const result = await unreachable.healthCheck();
    expect(result.ok).toBe(false);
    expect(result.error?.kind).toBe('connection');
  });

  it('needs a region', () => {
    expect(() => createProvider({ kind: 'bedrock', apiKey: 'k' })).toThrow(/needs a region/);
  });
});
