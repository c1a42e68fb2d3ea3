// Fixtures follow Microsoft's Azure OpenAI REST reference (learn.microsoft.com/azure/ai-foundry/openai/reference:
// chat completions response with prompt_filter_results / content_filter_results, the streamed prompt-filter chunk,
// and the content-filter error with innererror ResponsibleAIPolicyViolation).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readChunksAsSse, readFixture } from '../__fixtures__/read-fixture.ts';
import type { ChatCompletionRequest } from '../chat-api.ts';
import { createProvider } from '../create-provider.ts';
import type { Provider } from '../provider.ts';
import { startStandInUpstream } from '../testing/stand-in-upstream.ts';
import type { StandInUpstream } from '../testing/stand-in-types.ts';
import { AZURE_OPENAI_DEFAULT_API_VERSION } from './azure-openai-provider.ts';
import { collect, rejection } from '../__fixtures__/provider-test-kit.ts';

const API_KEY = 'azure-key-0d4e8f1a2b3c4d5e6f7a';

let upstream: StandInUpstream;
let provider: Provider;

beforeAll(async () => {
  upstream = await startStandInUpstream();
  provider = createProvider({ kind: 'azure-openai', id: 'azure', baseUrl: upstream.url, apiKey: API_KEY });
});
afterEach(() => {
  upstream.reset();
});
afterAll(async () => {
  await upstream.close();
});

const request: ChatCompletionRequest = {
  model: 'my gpt-4o',
  messages: [{ role: 'user', content: 'Name the capital of France' }],
};

describe('deployment URLs and auth', () => {
  it('posts to /openai/deployments/{deployment}/chat/completions with the default api-version and api-key', async () => {
    upstream.enqueue({ type: 'chat', content: 'Paris.' });
    const response = await provider.chat(request);
    expect(response.choices[0]?.message.content).toBe('Paris.');
    const sent = upstream.requests[0];
    expect(sent?.url).toBe(
      `/openai/deployments/my%20gpt-4o/chat/completions?api-version=${AZURE_OPENAI_DEFAULT_API_VERSION}`,
    );
    expect(sent?.headers['api-key']).toBe(API_KEY);
    expect(sent?.headers['authorization']).toBeUndefined();
  });

  it('takes a configured api-version and a base URL ending in /openai', async () => {
    const own = createProvider({
      kind: 'azure-openai',
      baseUrl: `${upstream.url}/openai/`,
      apiKey: API_KEY,
      apiVersion: '2025-04-01-preview',
    });
    await own.embed({ model: 'emb', input: 'hello' });
    expect(upstream.requests[0]?.url).toBe('/openai/deployments/emb/embeddings?api-version=2025-04-01-preview');
  });

  it.each([
    ['apiVersion v1', { apiVersion: 'v1' }, ''],
    ['a base URL ending in /openai/v1', {}, '/openai/v1'],
  ])('selects the v1 API with %s: model in the body, no api-version', async (_name, extra, suffix) => {
    const own = createProvider({
      kind: 'azure-openai',
      baseUrl: `${upstream.url}${suffix}`,
      apiKey: API_KEY,
      ...extra,
    });
    await own.chat({ ...request, model: 'gpt-4o' });
    expect(upstream.requests[0]?.url).toBe('/openai/v1/chat/completions');
    expect(upstream.requests[0]?.body).toMatchObject({ model: 'gpt-4o' });
  });

  it('lists the resource models from /openai/models and health-checks with that call', async () => {
    const models = await provider.listModels();
    expect(models.length).toBeGreaterThan(0);
    expect(upstream.requests[0]?.url).toBe(`/openai/models?api-version=${AZURE_OPENAI_DEFAULT_API_VERSION}`);
    expect(upstream.requests[0]?.headers['api-key']).toBe(API_KEY);
    expect((await provider.healthCheck()).ok).toBe(true);
  });

  it('refuses a config without baseUrl', () => {
    expect(() => createProvider({ kind: 'azure-openai', apiKey: API_KEY })).toThrow(/baseUrl is required/);
  });
});

describe('streams', () => {
  it('drops the prompt-filter chunk: exactly one choices: [] chunk, the usage one, at the end', async () => {
    upstream.enqueue({ type: 'chat', content: 'Paris is lovely' });
    const chunks = await collect(provider.chatStream(request));
    const empty = chunks.filter((chunk) => chunk.choices.length === 0);
    expect(empty).toHaveLength(1);
    expect(chunks.at(-1)).toBe(empty[0]);
    expect(chunks.at(-1)?.usage).toMatchObject({ total_tokens: expect.any(Number) });
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(upstream.requests[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('passes finish_reason content_filter through', async () => {
    upstream.enqueue({ type: 'chat', content: 'partial', finishReason: 'content_filter' });
    const chunks = await collect(provider.chatStream(request));
    expect(chunks.find((chunk) => chunk.choices[0]?.finish_reason != null)?.choices[0]?.finish_reason).toBe(
      'content_filter',
    );
  });
});

describe('replayed fixtures', () => {
  it('azure-text.json: the answer, its usage, the filter results kept', async () => {
    upstream.enqueue({ type: 'raw', body: readFixture('azure-text.json') });
    const response = await provider.chat(request);
    expect(response).toMatchObject({
      model: 'gpt-4o-2024-11-20',
      choices: [{ message: { content: 'The capital of France is Paris.' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 14, completion_tokens: 8, total_tokens: 22 },
      prompt_filter_results: [{ prompt_index: 0 }],
    });
  });

  it('azure-text.chunks.txt: the filter chunk dropped, the text whole, the usage chunk last', async () => {
    upstream.enqueue({ type: 'raw', body: readChunksAsSse('azure-text.chunks.txt') });
    const chunks = await collect(provider.chatStream(request));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(
      'The capital of France is Paris.',
    );
    expect(chunks.filter((chunk) => chunk.choices.length === 0)).toHaveLength(1);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 14, completion_tokens: 8, total_tokens: 22 },
    });
  });

  it('azure-error-content-filter.json: kind content_filter with the vendor code and message', async () => {
    upstream.enqueue({ type: 'error', status: 400, body: JSON.parse(readFixture('azure-error-content-filter.json')) });
    const error = await rejection(provider.chat(request));
    expect(error).toMatchObject({
      kind: 'content_filter',
      status: 400,
      code: 'content_filter',
      param: 'prompt',
      retryable: false,
    });
    expect(error.message).toContain('content management policy');
  });
});

describe('errors', () => {
  it.each([
    [
      400,
      {
        error: {
          message: 'too long',
          type: 'invalid_request_error',
          param: 'messages',
          code: 'context_length_exceeded',
        },
      },
      {},
      'context_window',
    ],
    [
      404,
      { error: { code: 'DeploymentNotFound', message: 'The API deployment for this resource does not exist.' } },
      {},
      'not_found',
    ],
    [
      429,
      {
        error: {
          code: '429',
          message: 'Requests to the ChatCompletions_Create Operation have exceeded call rate limit.',
        },
      },
      { 'retry-after': '7' },
      'rate_limit',
    ],
  ])('HTTP %i maps to its kind', async (status, body, headers, kind) => {
    upstream.enqueue({ type: 'error', status, body, headers });
    const error = await rejection(provider.chat(request));
    expect(error.kind).toBe(kind);
    if (status === 429) expect(error.retryAfterMs).toBe(7000);
  });

  it('never puts the key into an error message', async () => {
    upstream.enqueue({
      type: 'error',
      status: 401,
      body: { error: { code: '401', message: `Access denied: key ${API_KEY} is invalid` } },
    });
    const error = await rejection(provider.chat(request));
    expect(error.kind).toBe('authentication');
    expect(error.message).not.toContain(API_KEY);
  });
});
