// The promise of the gateway: the official clients work against it by changing only their base URL (and key).
// Everything here goes over real HTTP: SDK -> gateway -> stand-in upstream.
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { APICallError, generateText, stepCountIs, streamText, tool } from 'ai';
import OpenAI, { AuthenticationError, BadRequestError, RateLimitError } from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Usage } from '@gw/providers';
import type { RequestOutcome } from './settle/settle-once.ts';
import { thrownBy, waitFor } from '@gw/test-kit';
import { defaultTestConfig, startTestGateway, upstreamChatBody, type TestGateway } from './test-helpers.ts';

const MASTER_KEY = 'gw-master-key-sdk-compat-0123456789';
const ANSWER = 'The quick brown fox jumps over the lazy dog, twice: the quick brown fox jumps again.';
const USAGE = { prompt_tokens: 13, completion_tokens: 17 };
const TOTAL_TOKENS = USAGE.prompt_tokens + USAGE.completion_tokens;

const WEATHER_TOOL: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city'],
      additionalProperties: false,
    },
  },
};
const TIME_TOOL: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_time',
    parameters: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] },
  },
};
// Long enough that the stand-in streams them in several 8-character fragments.
const WEATHER_ARGS = '{"city":"San Francisco, California","unit":"celsius"}';
const TIME_ARGS = '{"zone":"America/Los_Angeles"}';

/** The parts of a recorded upstream chat request these tests look at; the rest passes through. */
const recordedChatBody = z.looseObject({
  model: z.string(),
  messages: z.array(z.unknown()),
  stream: z.boolean().optional(),
  tools: z.array(z.unknown()).optional(),
  tool_choice: z.unknown().optional(),
});

let t: TestGateway;
const settled: Array<{ usage: Usage | undefined; outcome: RequestOutcome }> = [];

beforeAll(async () => {
  t = await startTestGateway({
    config: (upstream) => ({ ...defaultTestConfig(upstream), auth: { masterKey: MASTER_KEY } }),
    settle: (outcome) => {
      settled.push({ usage: outcome.usage, outcome });
    },
  });
});
afterAll(async () => {
  await t.close();
});
beforeEach(() => {
  t.upstream.reset();
  settled.length = 0;
});

function openai(apiKey = MASTER_KEY): OpenAI {
  return new OpenAI({ baseURL: `${t.url}/v1`, apiKey, maxRetries: 0, timeout: 10_000 });
}

/** The body of the n-th request the upstream received, checked for the fields the tests read. */
function upstreamBody(index: number): z.infer<typeof recordedChatBody> {
  return upstreamChatBody(t.upstream, index, recordedChatBody);
}

describe('openai SDK (v7) against the gateway', () => {
  it('non-streaming: content, finish_reason and usage arrive', async () => {
    t.upstream.enqueue({ type: 'chat', content: ANSWER, usage: USAGE });
    const completion = await openai().chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'Tell me about foxes' }],
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: ANSWER });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage).toMatchObject({ ...USAGE, total_tokens: TOTAL_TOKENS });
    expect(upstreamBody(0).model).toBe('gpt-4o-mini');
  });

  it('streaming with include_usage: deltas assemble to the upstream text, the last chunk carries usage, clean end', async () => {
    t.upstream.enqueue({ type: 'chat', content: ANSWER, usage: USAGE });
    const stream = await openai().chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'Tell me about foxes' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    const deltas = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta.content ?? ''));
    expect(deltas.filter((delta) => delta !== '').length).toBeGreaterThan(5);
    expect(deltas.join('')).toBe(ANSWER);
    expect(
      chunks
        .flatMap((chunk) => chunk.choices.map((choice) => choice.finish_reason))
        .filter((reason) => reason !== null),
    ).toEqual(['stop']);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({ ...USAGE, total_tokens: TOTAL_TOKENS });
    // Only the last chunk reports usage.
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage == null)).toBe(true);
    await waitFor(() => settled.length === 1);
    expect(settled[0]?.outcome.status).toBe('completed');
    expect(settled[0]?.usage).toMatchObject({ ...USAGE, total_tokens: TOTAL_TOKENS });
  });

  it('streaming without include_usage: no chunk with empty choices (or usage) reaches the SDK', async () => {
    t.upstream.enqueue({ type: 'chat', content: ANSWER, usage: USAGE });
    const stream = await openai().chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
    });
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    // The premise: the gateway asks upstream for usage anyway, so there was a usage-only chunk to drop.
    expect(upstreamBody(0)['stream_options']).toMatchObject({ include_usage: true });
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) {
      expect(chunk.choices.length).toBeGreaterThan(0);
      expect(chunk.usage ?? undefined).toBeUndefined();
    }
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(ANSWER);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('tool calls, JSON: tools and tool_choice reach the upstream unchanged; id/name/arguments come back', async () => {
    t.upstream.enqueue({
      type: 'chat',
      toolCalls: [{ id: 'call_weather_1', name: 'get_weather', arguments: WEATHER_ARGS }],
    });
    const tools = [WEATHER_TOOL, TIME_TOOL];
    const toolChoice = { type: 'function', function: { name: 'get_weather' } } as const;
    const completion = await openai().chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'Weather in SF?' }],
      tools,
      tool_choice: toolChoice,
      parallel_tool_calls: false,
    });

    const sent = upstreamBody(0);
    expect(sent.tools).toEqual(tools);
    expect(sent.tool_choice).toEqual(toolChoice);
    expect(sent['parallel_tool_calls']).toBe(false);
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.tool_calls).toEqual([
      { id: 'call_weather_1', type: 'function', function: { name: 'get_weather', arguments: WEATHER_ARGS } },
    ]);
  });

  it('tool calls, streamed: the SDK stream helper assembles two calls from argument fragments', async () => {
    t.upstream.enqueue({
      type: 'chat',
      toolCalls: [
        { id: 'call_w', name: 'get_weather', arguments: WEATHER_ARGS },
        { id: 'call_t', name: 'get_time', arguments: TIME_ARGS },
      ],
    });
    const stream = openai().chat.completions.stream({
      model: 'chat',
      messages: [{ role: 'user', content: 'Weather and time in SF?' }],
      tools: [WEATHER_TOOL, TIME_TOOL],
      tool_choice: 'auto',
    });
    const fragments: Array<{ index: number; delta: string }> = [];
    stream.on('tool_calls.function.arguments.delta', (event) =>
      fragments.push({ index: event.index, delta: event.arguments_delta }),
    );
    const final = await stream.finalChatCompletion();

    expect(fragments.filter((fragment) => fragment.index === 0).length).toBeGreaterThan(3);
    expect(fragments.filter((fragment) => fragment.index === 1).length).toBeGreaterThan(2);
    const choice = final.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.tool_calls).toMatchObject([
      { id: 'call_w', type: 'function', function: { name: 'get_weather', arguments: WEATHER_ARGS } },
      { id: 'call_t', type: 'function', function: { name: 'get_time', arguments: TIME_ARGS } },
    ]);
    expect(upstreamBody(0).tools).toEqual([WEATHER_TOOL, TIME_TOOL]);
    expect(upstreamBody(0).tool_choice).toBe('auto');
  });

  it('tool calls, second turn: the assistant tool_calls message and the tool result reach the upstream intact', async () => {
    t.upstream.enqueue(
      { type: 'chat', toolCalls: [{ id: 'call_turn_1', name: 'get_weather', arguments: WEATHER_ARGS }] },
      { type: 'chat', content: 'It is 18 degrees and foggy in San Francisco.' },
    );
    const client = openai();
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in SF?' }];
    const first = await client.chat.completions.create({ model: 'chat', messages, tools: [WEATHER_TOOL] });
    const assistant = first.choices[0]?.message;
    const call = assistant?.tool_calls?.[0];
    if (assistant === undefined || call?.type !== 'function') throw new Error('expected a function tool call');

    const secondTurn: ChatCompletionMessageParam[] = [
      ...messages,
      { role: 'assistant', content: null, tool_calls: [{ id: call.id, type: 'function', function: call.function }] },
      { role: 'tool', tool_call_id: call.id, content: '{"temperature":18,"sky":"fog"}' },
    ];
    const second = await client.chat.completions.create({ model: 'chat', messages: secondTurn, tools: [WEATHER_TOOL] });

    expect(second.choices[0]?.message.content).toBe('It is 18 degrees and foggy in San Francisco.');
    expect(upstreamBody(1).messages).toEqual([
      { role: 'user', content: 'Weather in SF?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_turn_1', type: 'function', function: { name: 'get_weather', arguments: WEATHER_ARGS } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_turn_1', content: '{"temperature":18,"sky":"fog"}' },
    ]);
  });

  it('an upstream 429 surfaces as RateLimitError with the status, the vendor message and code', async () => {
    const message = 'Rate limit reached for gpt-4o-mini in organization org-abc on tokens per min (TPM): Limit 200000.';
    t.upstream.enqueue({
      type: 'error',
      status: 429,
      body: { error: { message, type: 'tokens', param: null, code: 'rate_limit_exceeded' } },
      headers: { 'retry-after': '1' },
    });
    const error = await thrownBy(() =>
      openai().chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Hi' }] }),
    );
    expect(error).toBeInstanceOf(RateLimitError);
    if (!(error instanceof RateLimitError)) return;
    expect(error.status).toBe(429);
    expect(error.message).toContain(message);
    expect(error.code).toBe('rate_limit_exceeded');
  });

  it('an upstream 429 before the first byte of a stream also surfaces as RateLimitError', async () => {
    t.upstream.enqueue({
      type: 'error',
      status: 429,
      body: { error: { message: 'Slow down, please.', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
    });
    const error = await thrownBy(() =>
      openai().chat.completions.create({
        model: 'chat',
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    expect(error).toBeInstanceOf(RateLimitError);
    if (!(error instanceof RateLimitError)) return;
    expect(error.status).toBe(429);
    expect(error.message).toContain('Slow down, please.');
  });

  it('an upstream 400 surfaces as BadRequestError with the vendor message, code and param', async () => {
    const message = "Invalid 'messages[0].content': string too long. Expected a string with maximum length 1048576.";
    t.upstream.enqueue({
      type: 'error',
      status: 400,
      body: {
        error: {
          message,
          type: 'invalid_request_error',
          param: 'messages[0].content',
          code: 'string_above_max_length',
        },
      },
    });
    const error = await thrownBy(() =>
      openai().chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Hi' }] }),
    );
    expect(error).toBeInstanceOf(BadRequestError);
    if (!(error instanceof BadRequestError)) return;
    expect(error.status).toBe(400);
    expect(error.message).toContain(message);
    expect(error.type).toBe('invalid_request_error');
    expect(error.code).toBe('string_above_max_length');
    expect(error.param).toBe('messages[0].content');
  });

  it('auth: a wrong apiKey gets AuthenticationError (401) and the upstream sees nothing; the right key works', async () => {
    const wrongKey = 'sk-not-the-master-key-987654321';
    const error = await thrownBy(() =>
      openai(wrongKey).chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Hi' }] }),
    );
    expect(error).toBeInstanceOf(AuthenticationError);
    if (!(error instanceof AuthenticationError)) return;
    expect(error.status).toBe(401);
    expect(error.code).toBe('invalid_api_key');
    expect(error.message).not.toContain(wrongKey);
    expect(error.message).not.toContain(MASTER_KEY);
    const streamError = await thrownBy(() =>
      openai(wrongKey).chat.completions.create({
        model: 'chat',
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
      }),
    );
    expect(streamError).toBeInstanceOf(AuthenticationError);
    expect(t.upstream.requests).toHaveLength(0);

    const completion = await openai(MASTER_KEY).chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(completion.choices[0]?.message.content).toBe('Stand-in reply to: Hi');
    expect(t.upstream.requests).toHaveLength(1);
  });
});

describe('Vercel AI SDK (ai v7 + @ai-sdk/openai-compatible v3) against the gateway', () => {
  function gw(): ReturnType<typeof createOpenAICompatible> {
    return createOpenAICompatible({ name: 'gw', baseURL: `${t.url}/v1`, apiKey: MASTER_KEY, includeUsage: true });
  }

  it('generateText: text, finish reason and usage', async () => {
    t.upstream.enqueue({ type: 'chat', content: ANSWER, usage: USAGE });
    const result = await generateText({ model: gw()('chat'), prompt: 'Tell me about foxes', maxRetries: 0 });
    expect(result.text).toBe(ANSWER);
    expect(result.finishReason).toBe('stop');
    expect(result.usage).toMatchObject({
      inputTokens: USAGE.prompt_tokens,
      outputTokens: USAGE.completion_tokens,
      totalTokens: TOTAL_TOKENS,
    });
    expect(upstreamBody(0).model).toBe('gpt-4o-mini');
  });

  it('streamText: textStream assembles to the upstream text; usage and finish reason at the end', async () => {
    t.upstream.enqueue({ type: 'chat', content: ANSWER, usage: USAGE });
    const errors: unknown[] = [];
    const result = streamText({
      model: gw()('chat'),
      prompt: 'Tell me about foxes',
      maxRetries: 0,
      onError: ({ error }) => {
        errors.push(error);
      },
    });
    const pieces: string[] = [];
    for await (const piece of result.textStream) pieces.push(piece);

    expect(errors).toEqual([]);
    expect(pieces.length).toBeGreaterThan(5);
    expect(pieces.join('')).toBe(ANSWER);
    expect(await result.finishReason).toBe('stop');
    expect(await result.usage).toMatchObject({
      inputTokens: USAGE.prompt_tokens,
      outputTokens: USAGE.completion_tokens,
      totalTokens: TOTAL_TOKENS,
    });
    expect(upstreamBody(0).stream).toBe(true);
  });

  it('an upstream 429 surfaces as APICallError with the status and the vendor message', async () => {
    t.upstream.enqueue({
      type: 'error',
      status: 429,
      body: {
        error: {
          message: 'Rate limit reached for requests.',
          type: 'requests',
          param: null,
          code: 'rate_limit_exceeded',
        },
      },
    });
    const error = await thrownBy(() => generateText({ model: gw()('chat'), prompt: 'Hi', maxRetries: 0 }));
    expect(APICallError.isInstance(error)).toBe(true);
    if (!APICallError.isInstance(error)) return;
    expect(error.statusCode).toBe(429);
    expect(error.message).toContain('Rate limit reached for requests.');
  });

  it('generateText with a tool: the SDK sees the call (name, input), runs it, and the result goes back upstream', async () => {
    t.upstream.enqueue(
      { type: 'chat', toolCalls: [{ id: 'call_ai_1', name: 'getWeather', arguments: '{"city":"Paris"}' }] },
      { type: 'chat', content: 'It is 21 degrees in Paris.' },
    );
    const executed: string[] = [];
    const result = await generateText({
      model: gw()('chat'),
      prompt: 'Weather in Paris?',
      maxRetries: 0,
      stopWhen: stepCountIs(2),
      tools: {
        getWeather: tool({
          description: 'Current weather for a city',
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => {
            executed.push(city);
            return { city, temperature: 21 };
          },
        }),
      },
    });

    const firstStep = result.steps[0];
    expect(firstStep?.finishReason).toBe('tool-calls');
    expect(firstStep?.toolCalls).toHaveLength(1);
    expect(firstStep?.toolCalls[0]).toMatchObject({
      toolCallId: 'call_ai_1',
      toolName: 'getWeather',
      input: { city: 'Paris' },
    });
    expect(executed).toEqual(['Paris']);
    expect(result.text).toBe('It is 21 degrees in Paris.');

    const firstRequest = upstreamBody(0);
    expect(firstRequest.tools).toMatchObject([
      {
        type: 'function',
        function: { name: 'getWeather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
      },
    ]);
    const secondMessages = upstreamBody(1).messages;
    expect(secondMessages).toContainEqual(
      expect.objectContaining({
        role: 'assistant',
        tool_calls: [
          expect.objectContaining({ id: 'call_ai_1', function: { name: 'getWeather', arguments: '{"city":"Paris"}' } }),
        ],
      }),
    );
    expect(secondMessages).toContainEqual({
      role: 'tool',
      tool_call_id: 'call_ai_1',
      content: JSON.stringify({ city: 'Paris', temperature: 21 }),
    });
  });
});
