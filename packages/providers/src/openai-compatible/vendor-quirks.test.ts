// Replays of each OpenAI-compatible vendor's wire format, and the request each kind sends. The fixtures follow the
// vendors' public API references (response and chunk shapes, where usage sits):
// - zhipu-*: docs.z.ai / open.bigmodel.cn chat completions (usage on the finish chunk, no `object` field);
// - dashscope-*: Alibaba Model Studio OpenAI-compatible mode (usage-only chunk with stream_options);
// - qianfan-*: Baidu Qianfan v2 chat completions (`flag` in choices, usage-only chunk);
// - hunyuan-*: Tencent Hunyuan OpenAI-compatible API (`note` field; usage on every chunk, cumulative: unverified);
// - doubao-*: Volcengine Ark chat API (`service_tier`, usage-only chunk);
// - deepseek-*: api-docs.deepseek.com (usage on the finish chunk, prompt_cache_hit/miss_tokens);
// - moonshot-*: Moonshot (Kimi) chat API, legacy usage inside choices[0] of the last chunk;
// - mistral-*: docs.mistral.ai chat completion (usage on the last chunk; Magistral content chunks `thinking`);
// - groq-*: console.groq.com API reference (`x_groq.usage` on the last chunk, `reasoning` with reasoning_format parsed);
// - ollama-*: Ollama OpenAI compatibility (`reasoning` deltas, usage-only chunk with stream_options);
// - vllm-*: vLLM OpenAI-compatible server >= 0.11 (`reasoning` field, usage-only chunk with stream_options).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readChunksAsSse, readFixture } from '../__fixtures__/read-fixture.ts';
import type { ChatCompletionChunk, ChatCompletionRequest } from '../chat-api.ts';
import { createProvider } from '../create-provider.ts';
import type { ProviderKind } from '../provider-kinds.ts';
import type { Provider } from '../provider.ts';
import { wireJson } from '../wire-json.ts';
import { startStandInUpstream } from '../testing/stand-in-upstream.ts';
import type { StandInUpstream } from '../testing/stand-in-types.ts';
import { vendorQuirks } from './vendor-quirks.ts';
import { collect, rejection } from '../__fixtures__/provider-test-kit.ts';

const API_KEY = 'sk-test-quirks-7c1e4a9b';

let upstream: StandInUpstream;

beforeAll(async () => {
  upstream = await startStandInUpstream();
});
afterEach(() => upstream.reset());
afterAll(async () => {
  await upstream.close();
});

function providerFor(kind: ProviderKind): Provider {
  return createProvider({ kind, id: kind, baseUrl: upstream.baseUrl, apiKey: API_KEY });
}

function requestFor(model: string, extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest {
  return { model, messages: [{ role: 'user', content: 'What is the capital of France?' }], ...extra };
}

function joined(chunks: ChatCompletionChunk[], field: 'content' | 'reasoning_content'): string {
  return chunks.map((chunk) => chunk.choices[0]?.delta[field] ?? '').join('');
}

interface ExpectedUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  reasoning_tokens?: number;
}

/** Checks the canonical ending: a finish chunk, then exactly one usage-only chunk, and usage nowhere else. */
function expectOneUsageChunk(chunks: ChatCompletionChunk[], usage: ExpectedUsage): void {
  const withUsage = chunks.filter((chunk) => chunk.usage != null);
  expect(withUsage).toHaveLength(1);
  const last = chunks.at(-1);
  expect(last?.choices).toEqual([]);
  const { reasoning_tokens: reasoningTokens, ...counts } = usage;
  expect(last?.usage).toMatchObject(counts);
  if (reasoningTokens !== undefined) {
    expect(last?.usage?.completion_tokens_details?.reasoning_tokens).toBe(reasoningTokens);
  }
  expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
  for (const chunk of chunks.slice(0, -1)) expect(chunk.choices.length).toBeGreaterThan(0);
  // No vendor-specific usage left behind either.
  for (const chunk of chunks) {
    expect(chunk.choices[0]?.['usage']).toBeUndefined();
    expect(JSON.stringify(chunk['x_groq'] ?? {})).not.toContain('prompt_tokens');
  }
}

interface VendorCase {
  kind: ProviderKind;
  vendor: string;
  model: string;
  text: string;
  usage: ExpectedUsage;
  /** Whether the kind asks for `stream_options.include_usage`. */
  includeUsage: boolean;
  reasoning?: { model: string; thinking: string; text: string; usage: ExpectedUsage };
}

const ENGLISH = 'The capital of France is Paris.';
const THINKING = 'The user asks for a capital.';

const CASES: VendorCase[] = [
  {
    kind: 'zhipu',
    vendor: 'zhipu',
    model: 'glm-4-plus',
    text: '巴黎是法国的首都。',
    usage: { prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 },
    includeUsage: false,
    reasoning: {
      model: 'glm-4.5',
      thinking: '用户问法国首都。',
      text: '巴黎。',
      usage: { prompt_tokens: 11, completion_tokens: 20, total_tokens: 31, reasoning_tokens: 14 },
    },
  },
  {
    kind: 'dashscope',
    vendor: 'dashscope',
    model: 'qwen-plus',
    text: ENGLISH,
    usage: { prompt_tokens: 22, completion_tokens: 8, total_tokens: 30 },
    includeUsage: true,
    reasoning: {
      model: 'qwen3-32b',
      thinking: THINKING,
      text: 'Paris.',
      usage: { prompt_tokens: 14, completion_tokens: 30, total_tokens: 44, reasoning_tokens: 27 },
    },
  },
  {
    kind: 'qianfan',
    vendor: 'qianfan',
    model: 'ernie-4.0-turbo-8k',
    text: '法国的首都是巴黎。',
    usage: { prompt_tokens: 5, completion_tokens: 8, total_tokens: 13 },
    includeUsage: true,
    reasoning: {
      model: 'ernie-x1-turbo-32k',
      thinking: '用户想知道法国首都。',
      text: '巴黎。',
      usage: { prompt_tokens: 6, completion_tokens: 18, total_tokens: 24, reasoning_tokens: 12 },
    },
  },
  {
    kind: 'hunyuan',
    vendor: 'hunyuan',
    model: 'hunyuan-turbos-latest',
    text: '法国的首都是巴黎。',
    usage: { prompt_tokens: 6, completion_tokens: 7, total_tokens: 13 },
    includeUsage: true,
    reasoning: {
      model: 'hunyuan-t1-latest',
      thinking: '用户在问首都。',
      text: '巴黎。',
      usage: { prompt_tokens: 6, completion_tokens: 8, total_tokens: 14, reasoning_tokens: 5 },
    },
  },
  {
    kind: 'doubao',
    vendor: 'doubao',
    model: 'ep-20261122153000-abcde',
    text: '法国的首都是巴黎。',
    usage: { prompt_tokens: 21, completion_tokens: 9, total_tokens: 30 },
    includeUsage: true,
    reasoning: {
      model: 'doubao-seed-1-6-250615',
      thinking: '用户问法国首都。',
      text: '巴黎。',
      usage: { prompt_tokens: 21, completion_tokens: 25, total_tokens: 46, reasoning_tokens: 19 },
    },
  },
  {
    kind: 'deepseek',
    vendor: 'deepseek',
    model: 'deepseek-chat',
    text: ENGLISH,
    usage: { prompt_tokens: 10, completion_tokens: 8, total_tokens: 18 },
    includeUsage: true,
    reasoning: {
      model: 'deepseek-reasoner',
      thinking: 'The user asks 2+2.',
      text: '2 + 2 = 4。',
      usage: { prompt_tokens: 11, completion_tokens: 14, total_tokens: 25, reasoning_tokens: 8 },
    },
  },
  {
    kind: 'moonshot',
    vendor: 'moonshot',
    model: 'moonshot-v1-8k',
    text: '法国的首都是巴黎。',
    usage: { prompt_tokens: 19, completion_tokens: 7, total_tokens: 26 },
    includeUsage: true,
    reasoning: {
      model: 'kimi-k2-thinking',
      thinking: 'The user asks about France.',
      text: 'Paris.',
      usage: { prompt_tokens: 12, completion_tokens: 16, total_tokens: 28 },
    },
  },
  {
    kind: 'mistral',
    vendor: 'mistral',
    model: 'mistral-small-latest',
    text: ENGLISH,
    usage: { prompt_tokens: 10, completion_tokens: 9, total_tokens: 19 },
    includeUsage: false,
    reasoning: {
      model: 'magistral-medium-2509',
      thinking: THINKING,
      text: 'Paris.',
      usage: { prompt_tokens: 12, completion_tokens: 28, total_tokens: 40 },
    },
  },
  {
    kind: 'groq',
    vendor: 'groq',
    model: 'llama-3.3-70b-versatile',
    text: ENGLISH,
    usage: { prompt_tokens: 42, completion_tokens: 8, total_tokens: 50 },
    includeUsage: true,
    reasoning: {
      model: 'qwen/qwen3-32b',
      thinking: THINKING,
      text: 'Paris.',
      usage: { prompt_tokens: 15, completion_tokens: 21, total_tokens: 36 },
    },
  },
  {
    kind: 'ollama',
    vendor: 'ollama',
    model: 'llama3.2',
    text: ENGLISH,
    usage: { prompt_tokens: 31, completion_tokens: 8, total_tokens: 39 },
    includeUsage: true,
    reasoning: {
      model: 'qwen3:8b',
      thinking: THINKING,
      text: 'Paris.',
      usage: { prompt_tokens: 14, completion_tokens: 22, total_tokens: 36 },
    },
  },
  {
    kind: 'vllm',
    vendor: 'vllm',
    model: 'Qwen/Qwen3-8B',
    text: ENGLISH,
    usage: { prompt_tokens: 16, completion_tokens: 8, total_tokens: 24 },
    includeUsage: true,
    reasoning: {
      model: 'Qwen/Qwen3-8B',
      thinking: THINKING,
      text: 'Paris.',
      usage: { prompt_tokens: 14, completion_tokens: 24, total_tokens: 38 },
    },
  },
];

function enqueueStream(fixture: string): void {
  upstream.enqueue({ type: 'raw', headers: { 'content-type': 'text/event-stream' }, body: readChunksAsSse(fixture) });
}

describe.each(CASES)('$kind replay', (vendorCase) => {
  const { kind, vendor, model, text, usage, includeUsage, reasoning } = vendorCase;

  it(`converts ${vendor}-text.json`, async () => {
    upstream.enqueue({ type: 'raw', body: readFixture(`${vendor}-text.json`) });
    const response = await providerFor(kind).chat(requestFor(model));
    expect(response.choices[0]?.message.content).toBe(text);
    expect(response.choices[0]?.finish_reason).toBe('stop');
    expect(response.usage).toMatchObject(usage);
    const [received] = upstream.requests;
    expect(received?.path).toBe('/v1/chat/completions');
    expect(received?.headers['authorization']).toBe(`Bearer ${API_KEY}`);
    expect(received?.body).toMatchObject({ model, messages: requestFor(model).messages });
    expect(received?.body).not.toHaveProperty('stream');
    expect(received?.body).not.toHaveProperty('stream_options');
  });

  it(`converts ${vendor}-text.chunks.txt into chunks that end with one usage-only chunk`, async () => {
    enqueueStream(`${vendor}-text.chunks.txt`);
    const chunks = await collect(providerFor(kind).chatStream(requestFor(model)));
    expect(joined(chunks, 'content')).toBe(text);
    expectOneUsageChunk(chunks, usage);
    const [received] = upstream.requests;
    expect(received?.path).toBe('/v1/chat/completions');
    expect(received?.headers['authorization']).toBe(`Bearer ${API_KEY}`);
    expect(received?.body).toMatchObject({ model, stream: true });
    if (includeUsage) expect(received?.body).toMatchObject({ stream_options: { include_usage: true } });
    else expect(received?.body).not.toHaveProperty('stream_options');
  });

  it.runIf(reasoning !== undefined)(`converts ${vendor}-reasoning.chunks.txt into reasoning_content`, async () => {
    if (reasoning === undefined) return;
    enqueueStream(`${vendor}-reasoning.chunks.txt`);
    const chunks = await collect(providerFor(kind).chatStream(requestFor(reasoning.model)));
    expect(joined(chunks, 'reasoning_content')).toBe(reasoning.thinking);
    expect(joined(chunks, 'content')).toBe(reasoning.text);
    for (const chunk of chunks) expect(chunk.choices[0]?.delta ?? {}).not.toHaveProperty('reasoning');
    expectOneUsageChunk(chunks, reasoning.usage);
  });
});

describe('response normalisation', () => {
  it('splits a Magistral message of content chunks into content and reasoning_content', async () => {
    upstream.enqueue({ type: 'raw', body: readFixture('mistral-reasoning.json') });
    const response = await providerFor('mistral').chat(requestFor('magistral-medium-2509'));
    expect(response.choices[0]?.message).toMatchObject({ content: 'Paris.', reasoning_content: THINKING });
  });

  it('renames `reasoning` to reasoning_content in a JSON message', async () => {
    upstream.enqueue({
      type: 'raw',
      body: readFixture('vllm-text.json').replace('"reasoning": null', `"reasoning": ${JSON.stringify(THINKING)}`),
    });
    const response = await providerFor('vllm').chat(requestFor('Qwen/Qwen3-8B'));
    expect(response.choices[0]?.message.reasoning_content).toBe(THINKING);
    expect(response.choices[0]?.message).not.toHaveProperty('reasoning');
  });

  it('passes chunks the adapter did not change on with their wire JSON, and drops it for the ones it changed', async () => {
    enqueueStream('deepseek-text.chunks.txt');
    const chunks = await collect(providerFor('deepseek').chatStream(requestFor('deepseek-chat')));
    const kept = chunks.map((chunk) => wireJson(chunk) !== undefined);
    // Three content chunks as sent; the finish chunk lost its usage; the usage-only chunk is ours.
    expect(kept).toEqual([true, true, true, false, false]);
    expect(JSON.parse(wireJson(chunks[1] ?? { choices: [] }) ?? '{}')).toEqual(JSON.parse(JSON.stringify(chunks[1])));
  });

  it('maps Zhipu finish_reason sensitive to content_filter, in streams and JSON answers', async () => {
    const sensitive = readChunksAsSse('zhipu-text.chunks.txt').replace(
      '"finish_reason":"stop"',
      '"finish_reason":"sensitive"',
    );
    upstream.enqueue({ type: 'raw', headers: { 'content-type': 'text/event-stream' }, body: sensitive });
    const chunks = await collect(providerFor('zhipu').chatStream(requestFor('glm-4-plus')));
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('content_filter');
    upstream.enqueue({ type: 'raw', body: readFixture('zhipu-text.json').replace('"stop"', '"sensitive"') });
    const response = await providerFor('zhipu').chat(requestFor('glm-4-plus'));
    expect(response.choices[0]?.finish_reason).toBe('content_filter');
  });

  it('turns Zhipu finish_reason network_error into a server error after the chunks already sent', async () => {
    const failed = readChunksAsSse('zhipu-text.chunks.txt').replace(
      '"finish_reason":"stop"',
      '"finish_reason":"network_error"',
    );
    upstream.enqueue({ type: 'raw', headers: { 'content-type': 'text/event-stream' }, body: failed });
    const received: ChatCompletionChunk[] = [];
    const error = await rejection(
      (async () => {
        for await (const chunk of providerFor('zhipu').chatStream(requestFor('glm-4-plus'))) received.push(chunk);
      })(),
    );
    expect(received).toHaveLength(3);
    expect(error.kind).toBe('server');
    expect(error.code).toBe('network_error');
    expect(error.retryable).toBe(true);
    upstream.enqueue({ type: 'raw', body: readFixture('zhipu-text.json').replace('"stop"', '"network_error"') });
    expect((await rejection(providerFor('zhipu').chat(requestFor('glm-4-plus')))).kind).toBe('server');
  });

  it('passes an unknown finish_reason through unchanged', async () => {
    upstream.enqueue({ type: 'raw', body: readFixture('qianfan-text.json').replace('"stop"', '"normal"') });
    const response = await providerFor('qianfan').chat(requestFor('ernie-4.0-turbo-8k'));
    expect(response.choices[0]?.finish_reason).toBe('normal');
  });

  it('ends cleanly when the caller leaves after the finish chunk, before the held-back usage chunk', async () => {
    enqueueStream('deepseek-text.chunks.txt');
    const stream = providerFor('deepseek').chatStream(requestFor('deepseek-chat'));
    const seen: ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      seen.push(chunk);
      if (chunk.choices[0]?.finish_reason != null) break;
    }
    expect(seen).toHaveLength(4);
    expect(seen.some((chunk) => chunk.usage != null)).toBe(false);
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('sends one usage-only chunk when a vendor also sends its own after usage on the finish chunk', async () => {
    const lines = readChunksAsSse('deepseek-text.chunks.txt').replace(
      'data: [DONE]',
      'data: {"id":"x","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":8,"total_tokens":18}}\n\ndata: [DONE]',
    );
    upstream.enqueue({ type: 'raw', headers: { 'content-type': 'text/event-stream' }, body: lines });
    const chunks = await collect(providerFor('deepseek').chatStream(requestFor('deepseek-chat')));
    expectOneUsageChunk(chunks, { prompt_tokens: 10, completion_tokens: 8, total_tokens: 18 });
  });
});

describe('request conversion', () => {
  async function sent(kind: ProviderKind, request: ChatCompletionRequest, stream = false): Promise<unknown> {
    upstream.reset();
    const provider = providerFor(kind);
    if (stream) await collect(provider.chatStream(request));
    else await provider.chat(request);
    return upstream.requests[0]?.body;
  }

  it('openai: max_tokens becomes max_completion_tokens for o-series and gpt-5 models only', async () => {
    expect(await sent('openai', requestFor('o3-mini', { max_tokens: 100 }))).toMatchObject({
      max_completion_tokens: 100,
    });
    expect(await sent('openai', requestFor('o3-mini', { max_tokens: 100 }))).not.toHaveProperty('max_tokens');
    expect(await sent('openai', requestFor('gpt-5-mini', { max_tokens: 50, max_completion_tokens: 80 }))).toMatchObject(
      {
        max_completion_tokens: 80,
      },
    );
    expect(await sent('openai', requestFor('gpt-4o-mini', { max_tokens: 100 }))).toMatchObject({ max_tokens: 100 });
  });

  it('zhipu: clamps temperature and top_p, maps reasoning_effort to thinking, sends no stream_options', async () => {
    const body = await sent('zhipu', requestFor('glm-4.5', { temperature: 0, top_p: 0, reasoning_effort: 'none' }));
    expect(body).toMatchObject({ temperature: 0, top_p: 0.01, thinking: { type: 'disabled' } });
    expect(body).not.toHaveProperty('reasoning_effort');
    expect(
      await sent('zhipu', requestFor('glm-4.5', { temperature: 1.7, top_p: 1, reasoning_effort: 'high' })),
    ).toMatchObject({
      temperature: 1,
      top_p: 1,
      thinking: { type: 'enabled' },
    });
    const explicit = await sent(
      'zhipu',
      requestFor('glm-4.5', { reasoning_effort: 'high', thinking: { type: 'disabled' } }),
    );
    expect(explicit).toMatchObject({ thinking: { type: 'disabled' } });
    const streamed = await sent('zhipu', requestFor('glm-4.5', { stream_options: { include_usage: true } }), true);
    expect(streamed).toMatchObject({ stream: true });
    expect(streamed).not.toHaveProperty('stream_options');
  });

  it('dashscope: enable_thinking from reasoning_effort in streams, false in non-streamed calls unless set', async () => {
    const streamed = await sent('dashscope', requestFor('qwen3-32b', { reasoning_effort: 'medium' }), true);
    expect(streamed).toMatchObject({ enable_thinking: true, stream_options: { include_usage: true } });
    expect(streamed).not.toHaveProperty('reasoning_effort');
    expect(await sent('dashscope', requestFor('qwen3-32b', { reasoning_effort: 'none' }), true)).toMatchObject({
      enable_thinking: false,
    });
    expect(await sent('dashscope', requestFor('qwen3-32b', { reasoning_effort: 'high' }))).toMatchObject({
      enable_thinking: false,
    });
    expect(await sent('dashscope', requestFor('qwen-plus', { enable_thinking: true }))).toMatchObject({
      enable_thinking: true,
    });
  });

  it('doubao: sends endpoint ids as the model and maps reasoning_effort to thinking', async () => {
    const body = await sent('doubao', requestFor('ep-20261122153000-abcde', { reasoning_effort: 'none' }));
    expect(body).toMatchObject({ model: 'ep-20261122153000-abcde', thinking: { type: 'disabled' } });
    expect(await sent('doubao', requestFor('doubao-seed-1-6-250615', { reasoning_effort: 'low' }))).toMatchObject({
      thinking: { type: 'enabled' },
    });
  });

  it('deepseek: passes reasoning_content of assistant turns back untouched; reasoning_effort none disables thinking', async () => {
    const history = requestFor('deepseek-reasoner', {
      messages: [
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: '',
          reasoning_content: 'Need the tool.',
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      ],
    });
    expect(await sent('deepseek', history)).toMatchObject({ messages: history.messages });
    expect(await sent('deepseek', requestFor('deepseek-chat', { reasoning_effort: 'none' }))).toMatchObject({
      thinking: { type: 'disabled' },
    });
    expect(await sent('deepseek', requestFor('deepseek-chat', { reasoning_effort: 'high' }))).toMatchObject({
      reasoning_effort: 'high',
    });
  });

  it('moonshot: clamps temperature to 1 and sends tool_choice required as auto', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'weather', parameters: { type: 'object' } } }];
    const body = await sent(
      'moonshot',
      requestFor('moonshot-v1-8k', { temperature: 1.5, tools, tool_choice: 'required' }),
    );
    expect(body).toMatchObject({ temperature: 1, tool_choice: 'auto' });
  });

  it('mistral: maps seed, max_completion_tokens and tool_choice required; drops OpenAI-only fields', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'weather', parameters: { type: 'object' } } }];
    const body = await sent(
      'mistral',
      requestFor('mistral-small-latest', {
        seed: 7,
        max_completion_tokens: 64,
        tools,
        tool_choice: 'required',
        user: 'u-1',
        store: true,
        stream_options: { include_usage: true },
      }),
      true,
    );
    expect(body).toMatchObject({ random_seed: 7, max_tokens: 64, tool_choice: 'any', stream: true });
    for (const key of ['seed', 'max_completion_tokens', 'user', 'store', 'stream_options'])
      expect(body).not.toHaveProperty(key);
  });

  it('groq: drops logprobs, logit_bias, top_logprobs, n other than 1 and message names', async () => {
    const body = await sent(
      'groq',
      requestFor('llama-3.3-70b-versatile', {
        messages: [{ role: 'user', content: 'hi', name: 'alice' }],
        logprobs: true,
        top_logprobs: 2,
        logit_bias: { '50256': -100 },
        n: 2,
      }),
    );
    expect(body).toEqual({ model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'hi' }] });
  });

  it('ollama: max_completion_tokens becomes max_tokens', async () => {
    const body = await sent('ollama', requestFor('llama3.2', { max_completion_tokens: 32 }));
    expect(body).toMatchObject({ max_tokens: 32 });
    expect(body).not.toHaveProperty('max_completion_tokens');
  });

  it.each<ProviderKind>(['hunyuan', 'qianfan', 'vllm', 'openai-compatible'])(
    '%s: passes the request and vendor fields through',
    async (kind) => {
      const request = requestFor('some-model', { temperature: 0.3, enable_enhancement: false, top_k: 20 });
      expect(await sent(kind, request)).toEqual(request);
    },
  );

  it('copies nothing when a kind has nothing to change', () => {
    const request = requestFor('glm-4-plus', { temperature: 0.5 });
    expect(vendorQuirks('zhipu').prepareRequest(request, { stream: false })).toBe(request);
    expect(vendorQuirks('openai').jsonBody(request)).toBe(request);
  });
});
