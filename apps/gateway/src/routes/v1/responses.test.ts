// POST /v1/responses over real HTTP: the official `openai` SDK (and raw fetch) -> gateway -> stand-in upstream that
// speaks OpenAI's chat format or Anthropic's Messages format. Event names, item shapes and their order follow
// OpenAI's Responses API reference (platform.openai.com/docs/api-reference/responses, .../responses-streaming) and
// what the SDK's stream helpers check (openai v7, lib/responses/ResponseStream).
import OpenAI, { APIError, BadRequestError, NotFoundError } from 'openai';
import type { FunctionTool, ResponseInputItem, ResponseStreamEvent } from 'openai/resources/responses/responses';
import type { RecordedRequest } from '@gw/providers/testing';
import { sseFrames, thrownBy, waitFor } from '@gw/test-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RequestOutcome } from '../../settle/settle-once.ts';
import { NO_RETRIES, postJson, startTestGateway, TEST_VENDOR_KEY, type TestGateway } from '../../test-helpers.ts';

const MASTER_KEY = 'gw-master-key-responses-0123456789';
const ANSWER = 'Paris is the capital of France, and it sits on the Seine.';
const USAGE = { prompt_tokens: 21, completion_tokens: 9 };
const WEATHER_ARGS = '{"city":"Paris"}';
const WEATHER_TOOL: FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: null,
};

/** Dollars per million tokens of the catalog entry the target is billed at. */
interface Price {
  input: number;
  cachedInput: number;
  output: number;
}

/** A target of another wire format behind the same Responses client. */
interface Target {
  name: string;
  /** The alias the client names. */
  model: string;
  provider: (upstreamUrl: string) => Record<string, unknown>;
  upstreamModel: string;
  price: Price;
  /** The vendor reports cache writes (Anthropic does, as `cache_creation_input_tokens`), so the usage has them. */
  reportsCacheWrites: boolean;
  /** The path the vendor's stand-in must have been called on. */
  path: string;
  /** The conversation the vendor received, one line per turn: `role:text`, `call:name args`, `result:id text`. */
  turns: (request: RecordedRequest | undefined) => string[];
}

const openAIBody = z.looseObject({
  messages: z.array(
    z.looseObject({
      role: z.string(),
      content: z
        .union([z.string(), z.array(z.looseObject({ type: z.string(), text: z.string().optional() }))])
        .nullish(),
      tool_call_id: z.string().optional(),
      tool_calls: z
        .array(z.looseObject({ function: z.looseObject({ name: z.string(), arguments: z.string() }) }))
        .optional(),
    }),
  ),
});

const anthropicBlock = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  name: z.string().optional(),
  input: z.unknown().optional(),
  tool_use_id: z.string().optional(),
  content: z.union([z.string(), z.array(z.looseObject({ text: z.string() }))]).optional(),
});
const anthropicBody = z.looseObject({
  system: z.union([z.string(), z.array(z.looseObject({ text: z.string() }))]).optional(),
  messages: z.array(z.looseObject({ role: z.string(), content: z.union([z.string(), z.array(anthropicBlock)]) })),
});

function textOf(content: string | ReadonlyArray<{ text?: string | undefined }> | null | undefined): string {
  if (content == null) return '';
  return typeof content === 'string' ? content : content.map((part) => part.text ?? '').join('');
}

const TARGETS: Target[] = [
  {
    name: 'an OpenAI-format target',
    model: 'gpt',
    provider: (url) => ({ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: `${url}/v1` }),
    upstreamModel: 'gpt-4o-mini',
    price: { input: 0.15, cachedInput: 0.075, output: 0.6 },
    reportsCacheWrites: false,
    path: '/v1/chat/completions',
    turns: (request) =>
      openAIBody.parse(request?.body).messages.flatMap((message) => {
        if (message.role === 'tool') return [`result:${message.tool_call_id ?? ''} ${textOf(message.content)}`];
        const calls = (message.tool_calls ?? []).map((call) => `call:${call.function.name} ${call.function.arguments}`);
        const text = textOf(message.content);
        return [...(text === '' ? [] : [`${message.role}:${text}`]), ...calls];
      }),
  },
  {
    name: 'an Anthropic Messages target',
    model: 'claude',
    provider: (url) => ({ id: 'claude', kind: 'anthropic', apiKey: TEST_VENDOR_KEY, baseUrl: `${url}/v1` }),
    upstreamModel: 'claude-sonnet-4-5',
    price: { input: 3, cachedInput: 0.3, output: 15 },
    reportsCacheWrites: true,
    path: '/v1/messages',
    turns: (request) => {
      const body = anthropicBody.parse(request?.body);
      const system = body.system === undefined ? [] : [`system:${textOf(body.system)}`];
      return [
        ...system,
        ...body.messages.flatMap((message) => {
          if (typeof message.content === 'string') return [`${message.role}:${message.content}`];
          return message.content.map((block) => {
            if (block.type === 'tool_use') return `call:${block.name ?? ''} ${JSON.stringify(block.input)}`;
            if (block.type === 'tool_result') return `result:${block.tool_use_id ?? ''} ${textOf(block.content)}`;
            return `${message.role}:${block.text ?? ''}`;
          });
        }),
      ];
    },
  },
];

let t: TestGateway;
const settled: RequestOutcome[] = [];

beforeAll(async () => {
  t = await startTestGateway({
    config: (upstream) => ({
      auth: { masterKey: MASTER_KEY },
      providers: TARGETS.map((target) => target.provider(upstream.url)),
      models: TARGETS.map((target) => ({
        name: target.model,
        targets: [{ provider: Reflect.get(target.provider(''), 'id'), model: target.upstreamModel }],
      })),
      ...NO_RETRIES,
    }),
    settle: (outcome) => void settled.push(outcome),
  });
});
afterAll(async () => {
  await t.close();
});
beforeEach(() => {
  t.upstream.reset();
  settled.length = 0;
});

function openai(): OpenAI {
  return new OpenAI({ baseURL: `${t.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0, timeout: 10_000 });
}

/** The cost the gateway must report for `usage` at `price` (dollars per million tokens). */
function costOf(price: Price, usage: { prompt_tokens: number; completion_tokens: number; cached_tokens?: number }) {
  const cached = usage.cached_tokens ?? 0;
  return (
    ((usage.prompt_tokens - cached) * price.input +
      cached * price.cachedInput +
      usage.completion_tokens * price.output) /
    1e6
  );
}

function upstreamRequest(target: Target, index = 0): RecordedRequest | undefined {
  const request = t.upstream.requests[index];
  expect(request?.path).toBe(target.path);
  return request;
}

describe.each(TARGETS)('openai SDK responses against $name', (target) => {
  it('create(): a Response with the message, usage with its cost, and the instructions sent as the system prompt', async () => {
    t.upstream.enqueue({ type: 'chat', content: ANSWER, usage: { ...USAGE, cached_tokens: 6 } });
    const { data: response, response: raw } = await openai()
      .responses.create({ model: target.model, instructions: 'Be terse.', input: 'What is the capital of France?' })
      .withResponse();
    expect(response).toMatchObject({
      object: 'response',
      status: 'completed',
      model: target.model,
      instructions: 'Be terse.',
      error: null,
      incomplete_details: null,
      store: true,
    });
    expect(response.id).toMatch(/^resp_/);
    expect(response.output).toEqual([
      {
        id: expect.stringMatching(/^msg_/),
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: ANSWER, annotations: [], logprobs: [] }],
      },
    ]);
    expect(response.output_text).toBe(ANSWER);
    const cost = costOf(target.price, { ...USAGE, cached_tokens: 6 });
    expect(response.usage).toEqual({
      input_tokens: USAGE.prompt_tokens,
      input_tokens_details: { cached_tokens: 6, ...(target.reportsCacheWrites ? { cache_write_tokens: 0 } : {}) },
      output_tokens: USAGE.completion_tokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: USAGE.prompt_tokens + USAGE.completion_tokens,
      cost: expect.closeTo(cost, 12),
    });
    expect(Number(raw.headers.get('x-gw-cost'))).toBeCloseTo(cost, 12);
    expect(target.turns(upstreamRequest(target))).toEqual(['system:Be terse.', 'user:What is the capital of France?']);
    expect(settled).toHaveLength(1);
    expect(settled[0]).toMatchObject({ status: 'completed', model: target.model, stream: false });
    expect(settled[0]?.upstreamModel).toBe(target.upstreamModel);
  });

  it('create() with an image and max_output_tokens: the image reaches the vendor in its own shape, the limit too, and the headers say who served', async () => {
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
    const { data: response, response: raw } = await openai()
      .responses.create({
        model: target.model,
        max_output_tokens: 50,
        input: [
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'What is in this picture?' },
              { type: 'input_image', image_url: `data:image/png;base64,${png}`, detail: 'low' },
            ],
          },
        ],
      })
      .withResponse();
    expect(response.status).toBe('completed');
    expect(response.max_output_tokens).toBe(50);
    const body = JSON.stringify(upstreamRequest(target)?.body);
    expect(body).toContain(png);
    expect(body).toContain(target.path === '/v1/messages' ? '"type":"image"' : '"type":"image_url"');
    expect(body).toContain('"max_tokens":50');
    expect(raw.headers.get('x-gw-provider')).toBe(Reflect.get(target.provider(''), 'id'));
    expect(raw.headers.get('x-gw-model')).toBe(target.upstreamModel);
    expect(raw.headers.get('x-gw-attempts')).toBe('1');
    expect(settled).toHaveLength(1);
  });

  it('create({ stream: true }): the events in OpenAI’s order, text deltas that add up, usage and cost in response.completed', async () => {
    t.upstream.enqueue({ type: 'chat', content: ANSWER, usage: USAGE });
    const stream = await openai().responses.create({ model: target.model, input: 'Capital of France?', stream: true });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const types = events.map((event) => event.type);
    const deltas = types.filter((type) => type === 'response.output_text.delta').length;
    expect(deltas).toBeGreaterThan(3);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...Array<string>(deltas).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    const text = events.map((event) => (event.type === 'response.output_text.delta' ? event.delta : '')).join('');
    expect(text).toBe(ANSWER);
    const completed = events.at(-1);
    if (completed?.type !== 'response.completed') throw new Error('expected response.completed last');
    expect(completed.response.status).toBe('completed');
    expect(completed.response.usage).toMatchObject({
      input_tokens: USAGE.prompt_tokens,
      output_tokens: USAGE.completion_tokens,
      total_tokens: USAGE.prompt_tokens + USAGE.completion_tokens,
      cost: expect.closeTo(costOf(target.price, USAGE), 12),
    });
    await waitFor(() => settled.length === 1);
    expect(settled[0]).toMatchObject({ status: 'completed', stream: true });
  });

  it('responses.stream().finalResponse() assembles the message, and the stored Response is the same', async () => {
    t.upstream.enqueue({ type: 'chat', content: ANSWER, usage: USAGE });
    const deltas: string[] = [];
    const stream = openai().responses.stream({ model: target.model, input: 'Capital of France?' });
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
    const final = await stream.finalResponse();
    expect(deltas.join('')).toBe(ANSWER);
    expect(final.output_text).toBe(ANSWER);
    expect(final.status).toBe('completed');
    expect(final.usage).toMatchObject({ input_tokens: USAGE.prompt_tokens, output_tokens: USAGE.completion_tokens });
    const stored = await openai().responses.retrieve(final.id);
    expect(stored.output).toEqual([
      expect.objectContaining({ type: 'message', content: [expect.objectContaining({ text: ANSWER })] }),
    ]);
    expect(stored.usage).toEqual(final.usage);
  });

  it('a tool call round trip through previous_response_id: the function_call, then its output continues the stored conversation', async () => {
    t.upstream.enqueue({ type: 'chat', toolCalls: [{ id: 'call_w1', name: 'get_weather', arguments: WEATHER_ARGS }] });
    const client = openai();
    const first = await client.responses.create({
      model: target.model,
      instructions: 'Be terse.',
      input: 'Weather in Paris?',
      tools: [WEATHER_TOOL],
      tool_choice: 'required',
    });
    expect(first.output).toEqual([
      {
        id: expect.stringMatching(/^fc_/),
        type: 'function_call',
        status: 'completed',
        call_id: 'call_w1',
        name: 'get_weather',
        arguments: WEATHER_ARGS,
      },
    ]);
    expect(first.tools).toEqual([WEATHER_TOOL]);

    t.upstream.enqueue({ type: 'chat', content: 'It is 18 degrees in Paris.' });
    const second = await client.responses.create({
      model: target.model,
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: 'call_w1', output: '{"temperature":18}' }],
      tools: [WEATHER_TOOL],
    });
    expect(second.output_text).toBe('It is 18 degrees in Paris.');
    expect(second.previous_response_id).toBe(first.id);
    // The first request's instructions are not carried over, as at OpenAI.
    expect(target.turns(upstreamRequest(target, 1))).toEqual([
      'user:Weather in Paris?',
      `call:get_weather ${WEATHER_ARGS}`,
      'result:call_w1 {"temperature":18}',
    ]);

    // A third turn continues the whole chain.
    t.upstream.enqueue({ type: 'chat', content: 'You are welcome.' });
    await client.responses.create({ model: target.model, previous_response_id: second.id, input: 'Thanks!' });
    expect(target.turns(upstreamRequest(target, 2))).toEqual([
      'user:Weather in Paris?',
      `call:get_weather ${WEATHER_ARGS}`,
      'result:call_w1 {"temperature":18}',
      'assistant:It is 18 degrees in Paris.',
      'user:Thanks!',
    ]);
  });

  it('a tool call round trip without previous_response_id: the client sends the output items back', async () => {
    t.upstream.enqueue({ type: 'chat', toolCalls: [{ id: 'call_w2', name: 'get_weather', arguments: WEATHER_ARGS }] });
    const client = openai();
    const input: ResponseInputItem[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await client.responses
      .stream({ model: target.model, input, tools: [WEATHER_TOOL], store: false })
      .finalResponse();
    const call = first.output[0];
    if (call?.type !== 'function_call') throw new Error('expected a function call');
    expect(call).toMatchObject({ call_id: 'call_w2', name: 'get_weather', arguments: WEATHER_ARGS });
    // store: false keeps nothing.
    await expect(client.responses.retrieve(first.id)).rejects.toBeInstanceOf(NotFoundError);

    t.upstream.enqueue({ type: 'chat', content: 'Sunny.' });
    // As OpenAI's guide does it: every output item back into the input (here the kinds the gateway produces).
    for (const item of first.output) {
      if (item.type === 'message' || item.type === 'function_call' || item.type === 'reasoning') input.push(item);
    }
    input.push({ type: 'function_call_output', call_id: call.call_id, output: 'sunny, 18C' });
    const second = await client.responses.create({ model: target.model, input, tools: [WEATHER_TOOL] });
    expect(second.output_text).toBe('Sunny.');
    expect(target.turns(upstreamRequest(target, 1))).toEqual([
      'user:Weather in Paris?',
      `call:get_weather ${WEATHER_ARGS}`,
      'result:call_w2 sunny, 18C',
    ]);
  });

  it('streams a tool call: function_call_arguments deltas that add up, and the item in response.completed', async () => {
    const args = '{"city":"San Francisco, California"}';
    t.upstream.enqueue({ type: 'chat', toolCalls: [{ id: 'call_s1', name: 'get_weather', arguments: args }] });
    const stream = openai().responses.stream({ model: target.model, input: 'Weather?', tools: [WEATHER_TOOL] });
    const deltas: string[] = [];
    stream.on('response.function_call_arguments.delta', (event) => deltas.push(event.delta));
    const final = await stream.finalResponse();
    expect(deltas.join('')).toBe(args);
    expect(final.output).toEqual([
      expect.objectContaining({ type: 'function_call', call_id: 'call_s1', name: 'get_weather', arguments: args }),
    ]);
  });
});

describe('/v1/responses refusals', () => {
  it('a built-in tool is a 400 naming the field, before any upstream call', async () => {
    const error = await thrownBy(() =>
      openai().responses.create({ model: 'gpt', input: 'News?', tools: [{ type: 'web_search' }] }),
    );
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ status: 400, code: 'invalid_request', param: 'tools[0].type' });
    expect(String(error)).toContain('Only function tools are supported');
    expect(t.upstream.requests).toHaveLength(0);
  });

  it('an unknown previous_response_id is a 404 previous_response_not_found, before any upstream call', async () => {
    const error = await thrownBy(() =>
      openai().responses.create({ model: 'gpt', input: 'Hi', previous_response_id: 'resp_nope' }),
    );
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({
      status: 404,
      code: 'previous_response_not_found',
      param: 'previous_response_id',
      type: 'invalid_request_error',
    });
    expect(t.upstream.requests).toHaveLength(0);
    expect(settled).toHaveLength(0);
  });

  it('GET /v1/responses/{id} answers a stored Response, 404 response_not_found otherwise; other methods are 405', async () => {
    t.upstream.enqueue({ type: 'chat', content: ANSWER, usage: USAGE });
    const client = openai();
    const created = await client.responses.create({ model: 'gpt', input: 'Hi', metadata: { ticket: '42' } });
    const stored = await client.responses.retrieve(created.id);
    expect(stored).toEqual(created);
    expect(stored.metadata).toEqual({ ticket: '42' });
    const error = await thrownBy(() => client.responses.retrieve('resp_unknown'));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ code: 'response_not_found' });
    const wrongMethod = await fetch(`${t.url}/v1/responses`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });

  it('GET /v1/responses/{id} without the master key is a 401', async () => {
    const response = await fetch(`${t.url}/v1/responses/resp_x`, { headers: { authorization: 'Bearer wrong' } });
    expect(response.status).toBe(401);
  });
});

/** `[event, data]` of every SSE message of a Responses stream. */
function sseEvents(text: string): Array<[string, Record<string, unknown>]> {
  return sseFrames(text).map((frame) => [
    frame.event ?? '',
    z.record(z.string(), z.unknown()).parse(JSON.parse(frame.data)),
  ]);
}

function headers(): Record<string, string> {
  return { authorization: `Bearer ${MASTER_KEY}` };
}

describe('/v1/responses raw wire', () => {
  it('every event names its type twice, counts its sequence from 0, and the stream has no [DONE]', async () => {
    t.upstream.enqueue({ type: 'chat', content: 'one two three', usage: USAGE, reasoning: 'think first' });
    const response = await postJson(
      `${t.url}/v1/responses`,
      { model: 'gpt', input: 'Count', stream: true, reasoning: { effort: 'low' } },
      headers(),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    expect(text).not.toContain('[DONE]');
    const events = sseEvents(text);
    for (const [name, data] of events) expect(data['type']).toBe(name);
    expect(events.map(([, data]) => data['sequence_number'])).toEqual(events.map((_, index) => index));
    const names = events.map(([name]) => name);
    const summaryDeltas = names.filter((name) => name === 'response.reasoning_summary_text.delta').length;
    const textDeltas = names.filter((name) => name === 'response.output_text.delta').length;
    expect(names).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      ...Array<string>(summaryDeltas).fill('response.reasoning_summary_text.delta'),
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      ...Array<string>(textDeltas).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events[0]?.[1]).toMatchObject({
      response: { status: 'in_progress', output: [], usage: null, reasoning: { effort: 'low' } },
    });
    const completed = z
      .object({ response: z.looseObject({ output: z.array(z.looseObject({ type: z.string() })) }) })
      .parse(events.at(-1)?.[1]);
    expect(completed.response.output).toEqual([
      {
        id: expect.stringMatching(/^rs_/),
        type: 'reasoning',
        summary: [{ type: 'summary_text', text: 'think first' }],
      },
      expect.objectContaining({ type: 'message', status: 'completed' }),
    ]);
    // The effort reached the upstream as the chat field.
    expect(openAIBody.extend({ reasoning_effort: z.string() }).parse(t.upstream.requests[0]?.body)).toMatchObject({
      reasoning_effort: 'low',
    });
  });

  it('an answer cut by max_output_tokens ends with response.incomplete', async () => {
    t.upstream.enqueue({ type: 'chat', content: 'one two', finishReason: 'length', usage: USAGE });
    const response = await postJson(
      `${t.url}/v1/responses`,
      { model: 'gpt', input: 'Count', stream: true, max_output_tokens: 2 },
      headers(),
    );
    const events = sseEvents(await response.text());
    expect(events.at(-1)?.[0]).toBe('response.incomplete');
    expect(events.at(-1)?.[1]).toMatchObject({
      response: {
        status: 'incomplete',
        incomplete_details: { reason: 'max_output_tokens' },
        max_output_tokens: 2,
        output: [expect.objectContaining({ type: 'message', status: 'incomplete' })],
      },
    });
    expect(z.looseObject({ max_tokens: z.number() }).parse(t.upstream.requests[0]?.body).max_tokens).toBe(2);
  });

  it('a stream cut mid-way ends with error and response.failed; the SDK raises, the request settles failed', async () => {
    t.upstream.enqueue({ type: 'chat', content: 'w1 w2 w3 w4 w5 w6 w7 w8 w9 w10', cutAfterChunks: 4 });
    const response = await postJson(`${t.url}/v1/responses`, { model: 'gpt', input: 'Hi', stream: true }, headers());
    const events = sseEvents(await response.text());
    expect(events.map(([name]) => name).slice(-2)).toEqual(['error', 'response.failed']);
    expect(events.at(-2)?.[1]).toMatchObject({
      type: 'error',
      code: 'upstream_connection_error',
      message: expect.any(String),
      error: { type: 'upstream_error', code: 'upstream_connection_error' },
    });
    expect(events.at(-1)?.[1]).toMatchObject({
      response: {
        status: 'failed',
        error: { code: 'upstream_connection_error' },
        output: [expect.objectContaining({ type: 'message', status: 'incomplete' })],
      },
    });
    await waitFor(() => settled.length === 1);
    expect(settled[0]?.status).toBe('failed');

    t.upstream.enqueue({ type: 'chat', content: 'w1 w2 w3 w4 w5 w6 w7 w8 w9 w10', cutAfterChunks: 4 });
    const error = await thrownBy(() => openai().responses.stream({ model: 'gpt', input: 'Hi' }).finalResponse());
    expect(error).toBeInstanceOf(APIError);
    expect(String(error)).toContain('upstream');
  });
});
