// POST /v1/messages over real HTTP: the official Anthropic SDK (and raw fetch) -> gateway -> OpenAI-format
// stand-in upstream. Event names, block shapes and error types follow Anthropic's Messages API and streaming
// references (docs.anthropic.com/en/api/messages, /en/docs/build-with-claude/streaming, /en/api/errors).
import Anthropic, { APIError, AuthenticationError, RateLimitError } from '@anthropic-ai/sdk';
import type { Usage } from '@gw/providers';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RequestOutcome } from '../../settle/settle-once.ts';
import { sseFrames, thrownBy, waitFor } from '@gw/test-kit';
import {
  defaultTestConfig,
  postJson,
  startTestGateway,
  upstreamChatBody,
  type TestGateway,
} from '../../test-helpers.ts';

const MASTER_KEY = 'gw-master-key-messages-0123456789';
const ANSWER = 'The quick brown fox jumps over the lazy dog.';
const USAGE = { prompt_tokens: 21, completion_tokens: 9 };
const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

const recordedBody = z.looseObject({ model: z.string(), messages: z.array(z.looseObject({ role: z.string() })) });

let t: TestGateway;
const settled: Array<{ usage: Usage | undefined; outcome: RequestOutcome }> = [];

beforeAll(async () => {
  t = await startTestGateway({
    config: (upstream) => ({ ...defaultTestConfig(upstream), auth: { masterKey: MASTER_KEY } }),
    settle: (outcome) => void settled.push({ usage: outcome.usage, outcome }),
  });
});
afterAll(async () => {
  await t.close();
});
beforeEach(() => {
  t.upstream.reset();
  settled.length = 0;
});

function anthropic(options: { apiKey?: string | null; authToken?: string | null } = {}): Anthropic {
  return new Anthropic({ baseURL: t.url, apiKey: MASTER_KEY, maxRetries: 0, timeout: 10_000, ...options });
}

function upstreamBody(index = 0): z.infer<typeof recordedBody> {
  return upstreamChatBody(t.upstream, index, recordedBody);
}

/** `[event, data]` of every SSE message of an Anthropic stream. */
function sseEvents(text: string): Array<[string, Record<string, unknown>]> {
  return sseFrames(text).map((frame) => [
    frame.event ?? '',
    z.record(z.string(), z.unknown()).parse(JSON.parse(frame.data)),
  ]);
}

function headers(): Record<string, string> {
  return { 'x-api-key': MASTER_KEY, 'anthropic-version': '2023-06-01' };
}

describe('Anthropic SDK against /v1/messages (OpenAI-format target)', () => {
  it('non-streaming: an Anthropic Message with text, stop reason, usage and the requested model', async () => {
    t.upstream.enqueue({ type: 'chat', content: ANSWER, usage: USAGE });
    const message = await anthropic().messages.create({
      model: 'chat',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Tell me about foxes' }],
    });
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'chat',
      stop_reason: 'end_turn',
      stop_sequence: null,
    });
    expect(message.id).toMatch(/^msg_/);
    expect(message.content).toEqual([{ type: 'text', text: ANSWER }]);
    expect(message.usage).toMatchObject({
      input_tokens: 21,
      output_tokens: 9,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
    });
    const body = upstreamBody();
    expect(body).toMatchObject({
      model: 'gpt-4o-mini',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Tell me about foxes' }],
    });
    expect(settled).toHaveLength(1);
    expect(settled[0]?.usage).toMatchObject(USAGE);
    expect(settled[0]?.outcome).toMatchObject({ status: 'completed', model: 'chat', stream: false });
  });

  it('streaming: messages.stream().finalMessage() assembles the text and usage', async () => {
    t.upstream.enqueue({ type: 'chat', content: ANSWER, usage: USAGE });
    const stream = anthropic().messages.stream({
      model: 'chat',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Tell me about foxes' }],
    });
    const deltas: string[] = [];
    stream.on('text', (text) => deltas.push(text));
    const message = await stream.finalMessage();
    expect(deltas.length).toBeGreaterThan(3);
    expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: ANSWER })]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage).toMatchObject({ input_tokens: 21, output_tokens: 9 });
    expect(upstreamBody()).toMatchObject({ stream: true });
    await waitFor(() => settled.length === 1);
    expect(settled[0]?.usage).toMatchObject(USAGE);
    expect(settled[0]?.outcome).toMatchObject({ status: 'completed', stream: true });
  });

  it('sends the system prompt upstream as a system message, and maps the other parameters', async () => {
    await anthropic().messages.create({
      model: 'chat',
      max_tokens: 100,
      system: [{ type: 'text', text: 'You are terse.' }],
      messages: [{ role: 'user', content: 'Hi' }],
      stop_sequences: ['END'],
      metadata: { user_id: 'user-7' },
      thinking: { type: 'enabled', budget_tokens: 8000 },
    });
    const body = upstreamBody();
    expect(body.messages).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Hi' },
    ]);
    expect(body).toMatchObject({ stop: ['END'], user: 'user-7', reasoning_effort: 'medium', max_tokens: 100 });
    // Not for an OpenAI-format target: thinking would be an unknown field.
    expect(body).not.toHaveProperty('thinking');
  });

  it('passes temperature and top_p on and drops top_k (sampling fields the current SDK types no longer list)', async () => {
    const response = await postJson(
      `${t.url}/v1/messages`,
      {
        model: 'chat',
        max_tokens: 20,
        temperature: 0.2,
        top_p: 0.9,
        top_k: 40,
        messages: [{ role: 'user', content: 'Hi' }],
      },
      headers(),
    );
    expect(response.status).toBe(200);
    const body = upstreamBody();
    expect(body).toMatchObject({ temperature: 0.2, top_p: 0.9 });
    expect(body).not.toHaveProperty('top_k');
  });

  it('tool use both ways: the model calls a tool, then the tool_result reaches the upstream as a tool message', async () => {
    t.upstream.enqueue({
      type: 'chat',
      toolCalls: [{ id: 'call_w1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
    });
    const client = anthropic();
    const question = { role: 'user' as const, content: 'Weather in Paris?' };
    const first = await client.messages.create({
      model: 'chat',
      max_tokens: 100,
      tools: [WEATHER_TOOL],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      messages: [question],
    });
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content).toEqual([{ type: 'tool_use', id: 'call_w1', name: 'get_weather', input: { city: 'Paris' } }]);
    expect(upstreamBody(0)).toMatchObject({
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Current weather for a city',
            parameters: WEATHER_TOOL.input_schema,
          },
        },
      ],
      tool_choice: 'required',
      parallel_tool_calls: false,
    });

    t.upstream.enqueue({ type: 'chat', content: 'It is sunny in Paris.' });
    const second = await client.messages.create({
      model: 'chat',
      max_tokens: 100,
      tools: [WEATHER_TOOL],
      messages: [
        question,
        { role: 'assistant', content: first.content },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_w1', content: [{ type: 'text', text: '22°C, sunny' }] },
            { type: 'text', text: 'Thanks!' },
          ],
        },
      ],
    });
    expect(second.content).toEqual([{ type: 'text', text: 'It is sunny in Paris.' }]);
    expect(upstreamBody(1).messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_w1', content: '22°C, sunny' },
      { role: 'user', content: 'Thanks!' },
    ]);
  });

  it('streams a tool call that finalMessage() assembles into a tool_use block', async () => {
    t.upstream.enqueue({
      type: 'chat',
      toolCalls: [{ id: 'call_s1', name: 'get_weather', arguments: '{"city":"San Francisco, California"}' }],
    });
    const message = await anthropic()
      .messages.stream({
        model: 'chat',
        max_tokens: 100,
        tools: [WEATHER_TOOL],
        messages: [{ role: 'user', content: 'Weather?' }],
      })
      .finalMessage();
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toEqual([
      { type: 'tool_use', id: 'call_s1', name: 'get_weather', input: { city: 'San Francisco, California' } },
    ]);
  });

  it('accepts the master key as x-api-key and as Bearer; a wrong key is a 401 in Anthropic’s envelope', async () => {
    await expect(
      anthropic().messages.create({ model: 'chat', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }),
    ).resolves.toMatchObject({ type: 'message' });
    await expect(
      anthropic({ apiKey: null, authToken: MASTER_KEY }).messages.create({
        model: 'chat',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'Hi' }],
      }),
    ).resolves.toMatchObject({ type: 'message' });
    const error = await thrownBy(() =>
      anthropic({ apiKey: 'wrong-key' }).messages.create({
        model: 'chat',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'Hi' }],
      }),
    );
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({
      status: 401,
      error: { type: 'error', error: { type: 'authentication_error', message: 'Invalid API key.' } },
    });
    expect(String(error)).not.toContain('wrong-key');
    expect(t.upstream.requests).toHaveLength(2);
  });

  it.each([
    [429, { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' }, 429, 'rate_limit_error'],
    [
      429,
      { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' },
      429,
      'rate_limit_error',
    ],
    [529, { message: 'Overloaded', type: 'overloaded_error', code: null }, 529, 'overloaded_error'],
    [503, { message: 'Service unavailable', type: 'server_error', code: null }, 529, 'overloaded_error'],
    [500, { message: 'Boom', type: 'server_error', code: null }, 502, 'api_error'],
  ])('an upstream %i answers %i %s in Anthropic’s envelope (%#)', async (upstreamStatus, vendorError, status, type) => {
    t.upstream.enqueue({
      type: 'error',
      status: upstreamStatus,
      body: { error: { ...vendorError, param: null } },
      headers: { 'retry-after': '3' },
    });
    const error = await thrownBy(() =>
      anthropic().messages.create({ model: 'chat', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }),
    );
    expect(error).toBeInstanceOf(APIError);
    expect(error).toMatchObject({ status, error: { type: 'error', error: { type } } });
    if (status === 429) {
      expect(error).toBeInstanceOf(RateLimitError);
      expect(error).toMatchObject({ error: { error: { message: vendorError.message } } });
    }
  });

  it('a stream cut mid-way ends with an error event, and the SDK raises', async () => {
    t.upstream.enqueue({ type: 'chat', content: 'w1 w2 w3 w4 w5 w6 w7 w8 w9 w10', cutAfterChunks: 4 });
    const stream = anthropic().messages.stream({
      model: 'chat',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    const error = await thrownBy(() => stream.finalMessage());
    expect(error).toBeInstanceOf(APIError);
    expect(error).toMatchObject({ error: { type: 'error', error: { type: 'api_error' } } });
    await waitFor(() => settled.length === 1);
    expect(settled[0]?.outcome.status).toBe('failed');
  });

  it('a client abort aborts the upstream call and settles as cancelled', async () => {
    t.upstream.enqueue({
      type: 'chat',
      content: Array.from({ length: 200 }, (_, index) => `w${index}`).join(' '),
      chunkDelayMs: 20,
    });
    const stream = anthropic().messages.stream({
      model: 'chat',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    const ended = thrownBy(() => stream.finalMessage());
    await new Promise<void>((resolve) => stream.once('text', () => resolve()));
    stream.abort();
    expect((await ended) instanceof Error).toBe(true);
    await waitFor(() => t.upstream.requests[0]?.aborted === true, 1000);
    await waitFor(() => settled.length === 1, 1000);
    expect(settled[0]?.outcome.status).toBe('cancelled');
  });
});

describe('/v1/messages raw wire', () => {
  it('a text stream is exactly Anthropic’s event sequence, usage in message_delta, no [DONE]', async () => {
    t.upstream.enqueue({ type: 'chat', content: 'one two three', usage: USAGE, reasoning: 'think first' });
    const response = await postJson(
      `${t.url}/v1/messages`,
      { model: 'chat', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'Count' }] },
      headers(),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    expect(text).not.toContain('[DONE]');
    const events = sseEvents(text);
    // Every message names its type twice: in `event:` and in the data's `type`.
    for (const [name, data] of events) expect(data['type']).toBe(name);
    const names = events.map(([name]) => name);
    const thinkingDeltas = names.filter(
      (name, index) => name === 'content_block_delta' && events[index]?.[1]['index'] === 0,
    ).length;
    const textDeltas = names.filter(
      (name, index) => name === 'content_block_delta' && events[index]?.[1]['index'] === 1,
    ).length;
    expect(names).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      ...Array<string>(thinkingDeltas).fill('content_block_delta'),
      'content_block_stop',
      'content_block_start',
      ...Array<string>(textDeltas).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[0]?.[1]).toMatchObject({
      message: {
        type: 'message',
        role: 'assistant',
        model: 'chat',
        content: [],
        stop_reason: null,
        usage: { input_tokens: 0, output_tokens: 0 },
      },
    });
    expect(events[2]?.[1]).toEqual({
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'thinking', thinking: '', signature: '' },
    });
    expect(events[3]?.[1]).toMatchObject({ index: 0, delta: { type: 'thinking_delta' } });
    const textStart = events.findIndex(([name, data]) => name === 'content_block_start' && data['index'] === 1);
    expect(events[textStart]?.[1]).toEqual({
      type: 'content_block_start',
      index: 1,
      content_block: { type: 'text', text: '' },
    });
    const joined = events
      .filter(([name, data]) => name === 'content_block_delta' && data['index'] === 1)
      .map(
        ([, data]) =>
          z.object({ delta: z.object({ type: z.literal('text_delta'), text: z.string() }) }).parse(data).delta.text,
      )
      .join('');
    expect(joined).toBe('one two three');
    expect(events.at(-2)?.[1]).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      // The cost of gpt-4o-mini at $0.15 / $0.60 per 1M tokens, in the reporting currency.
      usage: {
        input_tokens: 21,
        output_tokens: 9,
        cache_read_input_tokens: 0,
        cache_creation_input_tokens: 0,
        cost: (21 * 0.15 + 9 * 0.6) / 1e6,
      },
    });
    expect(events.at(-1)?.[1]).toEqual({ type: 'message_stop' });
  });

  it('a tool-use stream: tool_use block with input_json_delta fragments, stop_reason tool_use', async () => {
    const args = '{"city":"San Francisco, California"}';
    t.upstream.enqueue({
      type: 'chat',
      toolCalls: [
        { id: 'call_a', name: 'get_weather', arguments: args },
        { id: 'call_b', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      ],
    });
    const response = await postJson(
      `${t.url}/v1/messages`,
      {
        model: 'chat',
        max_tokens: 50,
        stream: true,
        tools: [WEATHER_TOOL],
        messages: [{ role: 'user', content: 'Weather?' }],
      },
      headers(),
    );
    const events = sseEvents(await response.text());
    const names = events.map(([name]) => name);
    expect(names.slice(0, 3)).toEqual(['message_start', 'ping', 'content_block_start']);
    expect(names.slice(-2)).toEqual(['message_delta', 'message_stop']);
    const starts = events.filter(([name]) => name === 'content_block_start').map(([, data]) => data);
    expect(starts).toEqual([
      {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'tool_use', id: 'call_a', name: 'get_weather', input: {} },
      },
      {
        type: 'content_block_start',
        index: 1,
        content_block: { type: 'tool_use', id: 'call_b', name: 'get_weather', input: {} },
      },
    ]);
    // Blocks never overlap: each stop comes before the next start.
    const order = events
      .filter(([name]) => name === 'content_block_start' || name === 'content_block_stop')
      .map(([name, data]) => `${name}:${String(data['index'])}`);
    expect(order).toEqual([
      'content_block_start:0',
      'content_block_stop:0',
      'content_block_start:1',
      'content_block_stop:1',
    ]);
    const partial = (index: number): string =>
      events
        .filter(([name, data]) => name === 'content_block_delta' && data['index'] === index)
        .map(
          ([, data]) =>
            z.object({ delta: z.object({ type: z.literal('input_json_delta'), partial_json: z.string() }) }).parse(data)
              .delta.partial_json,
        )
        .join('');
    expect(partial(0)).toBe(args);
    expect(partial(1)).toBe('{"city":"Oslo"}');
    expect(events.at(-2)?.[1]).toMatchObject({ delta: { stop_reason: 'tool_use' } });
  });

  it('a stream the upstream refuses before its first chunk is a plain JSON error in Anthropic’s envelope', async () => {
    t.upstream.enqueue({
      type: 'error',
      status: 529,
      body: { error: { message: 'Overloaded', type: 'overloaded_error', code: null, param: null } },
    });
    const response = await postJson(
      `${t.url}/v1/messages`,
      { model: 'chat', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'Hi' }] },
      headers(),
    );
    expect(response.status).toBe(529);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json()).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: expect.stringContaining('Overloaded') },
    });
    await waitFor(() => settled.length === 1);
    expect(settled[0]?.outcome.status).toBe('failed');
  });

  it('requires max_tokens, like Anthropic, with a 400 in Anthropic’s envelope', async () => {
    const response = await postJson(
      `${t.url}/v1/messages`,
      { model: 'chat', messages: [{ role: 'user', content: 'Hi' }] },
      headers(),
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('max_tokens') },
    });
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('an unknown model is a 404 not_found_error; GET is a 405 in Anthropic’s envelope', async () => {
    const missing = await postJson(
      `${t.url}/v1/messages`,
      { model: 'nope', max_tokens: 5, messages: [{ role: 'user', content: 'Hi' }] },
      headers(),
    );
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    const wrongMethod = await fetch(`${t.url}/v1/messages`, { headers: headers() });
    expect(wrongMethod.status).toBe(405);
    expect(await wrongMethod.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });
});

describe('/v1/messages request validation', () => {
  it('names the block at fault inside string-or-blocks content', async () => {
    const response = await postJson(
      `${t.url}/v1/messages`,
      {
        model: 'chat',
        max_tokens: 5,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Hi' },
              { type: 'document', source: {} },
            ],
          },
        ],
      },
      headers(),
    );
    expect(response.status).toBe(400);
    const body = z
      .object({ type: z.literal('error'), error: z.object({ type: z.string(), message: z.string() }) })
      .parse(await response.json());
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toContain('messages[0].content[1].type');
  });
});

describe('/v1/messages stream failures on the wire', () => {
  it('a stalled upstream ends the stream with event: error (timeout_error) and is aborted', async () => {
    const stalled = await startTestGateway({
      config: (upstream) => ({ ...defaultTestConfig(upstream), server: { streamIdleTimeoutMs: 300 } }),
    });
    try {
      stalled.upstream.enqueue({ type: 'chat', content: 'a b c d e f', stallAfterChunks: 3 });
      const response = await postJson(`${stalled.url}/v1/messages`, {
        model: 'chat',
        max_tokens: 50,
        stream: true,
        messages: [{ role: 'user', content: 'Hi' }],
      });
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text.endsWith('\n\n')).toBe(true);
      const events = sseEvents(text);
      expect(events.map(([name]) => name)).not.toContain('message_stop');
      expect(events.at(-1)).toEqual([
        'error',
        { type: 'error', error: { type: 'timeout_error', message: expect.stringContaining('300 ms') } },
      ]);
      await waitFor(() => stalled.upstream.requests[0]?.aborted === true, 1000);
    } finally {
      await stalled.close();
    }
  });
});

describe('/v1/messages to a native Anthropic target', () => {
  const nativeBody = z.looseObject({
    model: z.string(),
    system: z.unknown().optional(),
    thinking: z.unknown().optional(),
    top_k: z.number().optional(),
    messages: z.array(z.looseObject({ role: z.string(), content: z.unknown() })),
  });

  async function startNative(): Promise<TestGateway> {
    return startTestGateway({
      config: (upstream) => ({
        providers: [
          { id: 'claude', kind: 'anthropic', apiKey: 'sk-ant-test-key-0123456789', baseUrl: `${upstream.url}/v1` },
        ],
        models: [{ name: 'sonnet', targets: [{ provider: 'claude', model: 'claude-sonnet-4-5' }] }],
      }),
    });
  }

  it('non-streaming: the SDK gets text, tool use and usage from a Claude target, the vendor gets x-api-key', async () => {
    const native = await startNative();
    try {
      native.upstream.enqueue(
        { type: 'chat', content: 'Paris.', usage: { prompt_tokens: 15, completion_tokens: 2 } },
        {
          type: 'chat',
          toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }],
          usage: { prompt_tokens: 30, completion_tokens: 8 },
        },
      );
      const client = new Anthropic({ baseURL: native.url, apiKey: 'unused', maxRetries: 0, timeout: 10_000 });
      const message = await client.messages.create({
        model: 'sonnet',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Capital of France?' }],
      });
      expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: 'Paris.' })]);
      expect(message.stop_reason).toBe('end_turn');
      expect(message.usage).toMatchObject({ input_tokens: 15, output_tokens: 2 });
      expect(native.upstream.requests[0]?.headers['x-api-key']).toBe('sk-ant-test-key-0123456789');

      const withTool = await client.messages.create({
        model: 'sonnet',
        max_tokens: 100,
        tools: [WEATHER_TOOL],
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
      });
      expect(withTool.stop_reason).toBe('tool_use');
      expect(withTool.content).toEqual([
        expect.objectContaining({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } }),
      ]);
      const sent = z
        .looseObject({ tools: z.array(z.looseObject({ name: z.string(), input_schema: z.unknown() })) })
        .parse(native.upstream.requests[1]?.body);
      expect(sent.tools.map((tool) => tool.name)).toEqual(['get_weather']);
    } finally {
      await native.close();
    }
  });

  it('sends thinking and top_k as the client wrote them, and streams the answer back through the canonical form', async () => {
    const native = await startNative();
    try {
      native.upstream.enqueue({
        type: 'chat',
        content: 'Bonjour à tous.',
        reasoning: 'French greeting',
        usage: { prompt_tokens: 12, completion_tokens: 7 },
      });
      const thinking = { type: 'enabled' as const, budget_tokens: 3000 };
      const client = new Anthropic({ baseURL: native.url, apiKey: 'unused', maxRetries: 0, timeout: 10_000 });
      const message = await client.messages
        .stream({
          model: 'sonnet',
          max_tokens: 5000,
          system: 'Answer in French.',
          thinking,
          messages: [{ role: 'user', content: 'Greet everyone' }],
        })
        .finalMessage();
      expect(message.content).toEqual([
        expect.objectContaining({ type: 'thinking', thinking: 'French greeting' }),
        expect.objectContaining({ type: 'text', text: 'Bonjour à tous.' }),
      ]);
      expect(message.model).toBe('sonnet');
      const request = native.upstream.requests[0];
      expect(request?.path).toBe('/v1/messages');
      const body = nativeBody.parse(request?.body);
      expect(body).toMatchObject({ model: 'claude-sonnet-4-5', thinking });
      expect(JSON.stringify(body.system)).toContain('Answer in French.');

      const ephemeral = { type: 'ephemeral' };
      const raw = await postJson(`${native.url}/v1/messages`, {
        model: 'sonnet',
        max_tokens: 50,
        top_k: 5,
        system: [{ type: 'text', text: 'Long cached instructions', cache_control: ephemeral }],
        messages: [{ role: 'user', content: 'Hi' }],
      });
      expect(raw.status).toBe(200);
      const second = nativeBody.parse(native.upstream.requests[1]?.body);
      expect(second.top_k).toBe(5);
      // The prompt-caching breakpoint reaches the vendor where the client put it.
      expect(second.system).toEqual([{ type: 'text', text: 'Long cached instructions', cache_control: ephemeral }]);
    } finally {
      await native.close();
    }
  });
});
