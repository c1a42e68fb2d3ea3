// One OpenAI client, any vendor behind it: the official `openai` SDK talks to /v1/chat/completions while the
// gateway's targets speak native Anthropic Messages, native Gemini, Azure OpenAI or Bedrock Converse. Everything goes over real HTTP, and each
// test also checks what the vendor's stand-in received (its real path, auth header and body shape).
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RecordedRequest } from '@gw/providers/testing';
import { startTestGateway, TEST_VENDOR_KEY, type TestGateway } from './test-helpers.ts';

const MASTER_KEY = 'gw-master-key-cross-vendor-0123456789';
const SYSTEM = 'You are terse.';
const ANSWER = 'Paris is the capital of France, and it sits on the Seine.';
const USAGE = { prompt_tokens: 21, completion_tokens: 13 };
const WEATHER_ARGS = { city: 'Paris', unit: 'celsius' };
const WEATHER_TOOL: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string' } },
      required: ['city'],
    },
  },
};

/** What differs per vendor: how the gateway reaches it, and how its wire shows what we sent. */
interface Vendor {
  name: string;
  provider: (baseUrl: string) => Record<string, unknown>;
  model: string;
  /** Asserts the vendor's path and auth header; returns the body. */
  received: (request: RecordedRequest | undefined, stream: boolean) => unknown;
  systemOf: (body: unknown) => string | undefined;
  toolNamesOf: (body: unknown) => string[];
  /** The tool result the follow-up request carried, as the vendor's wire has it: [tool name or id, result]. */
  toolResultOf: (body: unknown) => { ref: string; result: unknown } | undefined;
}

const anthropicBody = z.looseObject({
  system: z.union([z.string(), z.array(z.looseObject({ text: z.string() }))]).optional(),
  tools: z.array(z.looseObject({ name: z.string(), input_schema: z.unknown() })).optional(),
  messages: z.array(
    z.looseObject({ role: z.string(), content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]) }),
  ),
});

const geminiBody = z.looseObject({
  systemInstruction: z.looseObject({ parts: z.array(z.looseObject({ text: z.string() })) }).optional(),
  tools: z
    .array(z.looseObject({ functionDeclarations: z.array(z.looseObject({ name: z.string() })).optional() }))
    .optional(),
  contents: z.array(z.looseObject({ role: z.string().optional(), parts: z.array(z.looseObject({})) })),
});

const openAIBody = z.looseObject({
  stream: z.boolean().optional(),
  tools: z.array(z.looseObject({ function: z.looseObject({ name: z.string() }) })).optional(),
  messages: z.array(z.looseObject({ role: z.string(), content: z.unknown(), tool_call_id: z.string().optional() })),
});

const bedrockBody = z.looseObject({
  system: z.array(z.looseObject({ text: z.string() })).optional(),
  toolConfig: z
    .looseObject({ tools: z.array(z.looseObject({ toolSpec: z.looseObject({ name: z.string() }) })) })
    .optional(),
  messages: z.array(z.looseObject({ role: z.string(), content: z.array(z.looseObject({})) })),
});

const VENDORS: Vendor[] = [
  {
    name: 'Anthropic (native Messages API)',
    provider: (baseUrl) => ({ id: 'claude', kind: 'anthropic', apiKey: TEST_VENDOR_KEY, baseUrl: `${baseUrl}/v1` }),
    model: 'claude-sonnet-4-5',
    received: (request, stream) => {
      expect(request?.path).toBe('/v1/messages');
      expect(request?.headers['x-api-key']).toBe(TEST_VENDOR_KEY);
      expect(request?.headers['anthropic-version']).toBe('2023-06-01');
      expect(request?.headers['authorization']).toBeUndefined();
      const body = anthropicBody.parse(request?.body);
      expect(Reflect.get(body, 'stream') === true).toBe(stream);
      return body;
    },
    systemOf: (body) => {
      const { system } = anthropicBody.parse(body);
      return typeof system === 'string' ? system : system?.map((block) => block.text).join('');
    },
    toolNamesOf: (body) => (anthropicBody.parse(body).tools ?? []).map((tool) => tool.name),
    toolResultOf: (body) => {
      for (const message of anthropicBody.parse(body).messages) {
        if (message.role !== 'user' || typeof message.content === 'string') continue;
        const block = message.content.find((part) => part.type === 'tool_result');
        if (block !== undefined)
          return { ref: String(Reflect.get(block, 'tool_use_id')), result: Reflect.get(block, 'content') };
      }
      return undefined;
    },
  },
  {
    name: 'Gemini (native generateContent)',
    provider: (baseUrl) => ({ id: 'gemini', kind: 'gemini', apiKey: TEST_VENDOR_KEY, baseUrl: `${baseUrl}/v1beta` }),
    model: 'gemini-2.5-flash',
    received: (request, stream) => {
      expect(request?.path).toBe(
        `/v1beta/models/gemini-2.5-flash:${stream ? 'streamGenerateContent' : 'generateContent'}`,
      );
      if (stream) expect(request?.url).toContain('alt=sse');
      expect(request?.headers['x-goog-api-key']).toBe(TEST_VENDOR_KEY);
      expect(request?.headers['authorization']).toBeUndefined();
      return geminiBody.parse(request?.body);
    },
    systemOf: (body) =>
      geminiBody
        .parse(body)
        .systemInstruction?.parts.map((part) => part.text)
        .join(''),
    toolNamesOf: (body) =>
      (geminiBody.parse(body).tools ?? []).flatMap((tool) => (tool.functionDeclarations ?? []).map((fn) => fn.name)),
    toolResultOf: (body) => {
      for (const content of geminiBody.parse(body).contents) {
        for (const part of content.parts) {
          const response: unknown = Reflect.get(part, 'functionResponse');
          if (typeof response === 'object' && response !== null) {
            return { ref: String(Reflect.get(response, 'name')), result: Reflect.get(response, 'response') };
          }
        }
      }
      return undefined;
    },
  },
  {
    name: 'Azure OpenAI (deployment URLs)',
    provider: (baseUrl) => ({
      id: 'azure',
      kind: 'azure-openai',
      apiKey: TEST_VENDOR_KEY,
      baseUrl,
      apiVersion: '2024-10-21',
    }),
    model: 'prod-gpt-4o',
    received: (request, stream) => {
      expect(request?.url).toBe('/openai/deployments/prod-gpt-4o/chat/completions?api-version=2024-10-21');
      expect(request?.headers['api-key']).toBe(TEST_VENDOR_KEY);
      expect(request?.headers['authorization']).toBeUndefined();
      const body = openAIBody.parse(request?.body);
      expect(body.stream === true).toBe(stream);
      return body;
    },
    systemOf: (body) => {
      const first = openAIBody.parse(body).messages[0];
      return first?.role === 'system' && typeof first.content === 'string' ? first.content : undefined;
    },
    toolNamesOf: (body) => (openAIBody.parse(body).tools ?? []).map((tool) => tool.function.name),
    toolResultOf: (body) => {
      const message = openAIBody.parse(body).messages.find((entry) => entry.role === 'tool');
      return message === undefined ? undefined : { ref: String(message.tool_call_id), result: message.content };
    },
  },
  {
    name: 'Bedrock (Converse, SigV4)',
    provider: (baseUrl) => ({
      id: 'aws',
      kind: 'bedrock',
      region: 'eu-west-1',
      baseUrl,
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYCROSSVENDOR',
    }),
    model: 'anthropic.claude-3-5-haiku-20241022-v1:0',
    received: (request, stream) => {
      const operation = stream ? 'converse-stream' : 'converse';
      expect(request?.path).toBe(
        `/model/${encodeURIComponent('anthropic.claude-3-5-haiku-20241022-v1:0')}/${operation}`,
      );
      expect(request?.headers['authorization']).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-1\/bedrock\/aws4_request, /,
      );
      expect(request?.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
      return bedrockBody.parse(request?.body);
    },
    systemOf: (body) =>
      bedrockBody
        .parse(body)
        .system?.map((block) => block.text)
        .join(''),
    toolNamesOf: (body) => (bedrockBody.parse(body).toolConfig?.tools ?? []).map((tool) => tool.toolSpec.name),
    toolResultOf: (body) => {
      for (const message of bedrockBody.parse(body).messages) {
        for (const block of message.content) {
          const result: unknown = Reflect.get(block, 'toolResult');
          if (typeof result === 'object' && result !== null) {
            return { ref: String(Reflect.get(result, 'toolUseId')), result: Reflect.get(result, 'content') };
          }
        }
      }
      return undefined;
    },
  },
];

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({
    config: (upstream) => ({
      auth: { masterKey: MASTER_KEY },
      providers: VENDORS.map((vendor) => vendor.provider(upstream.url)),
      models: VENDORS.map((vendor) => ({
        name: vendor.name,
        targets: [{ provider: Reflect.get(vendor.provider(''), 'id'), model: vendor.model }],
      })),
    }),
  });
});
afterAll(async () => {
  await t.close();
});
beforeEach(() => {
  t.upstream.reset();
});

function openai(): OpenAI {
  return new OpenAI({ baseURL: `${t.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0, timeout: 10_000 });
}

const question: ChatCompletionMessageParam[] = [
  { role: 'system', content: SYSTEM },
  { role: 'user', content: 'What is the capital of France?' },
];

describe.each(VENDORS)('openai SDK through the gateway to $name', (vendor) => {
  it('gets text and usage, with the system prompt lifted to where the vendor wants it', async () => {
    t.upstream.enqueue({ type: 'chat', content: ANSWER, usage: USAGE });
    const completion = await openai().chat.completions.create({ model: vendor.name, messages: question });
    expect(completion.choices[0]?.message.content).toBe(ANSWER);
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage).toMatchObject({ ...USAGE, total_tokens: USAGE.prompt_tokens + USAGE.completion_tokens });
    const body = vendor.received(t.upstream.requests[0], false);
    expect(vendor.systemOf(body)).toBe(SYSTEM);
  });

  it('streams text and ends with the usage chunk the client asked for', async () => {
    t.upstream.enqueue({ type: 'chat', content: ANSWER, usage: USAGE });
    const stream = await openai().chat.completions.create({
      model: vendor.name,
      messages: question,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null | undefined;
    const usages: unknown[] = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage != null) usages.push(chunk.usage);
    }
    expect(text).toBe(ANSWER);
    expect(finish).toBe('stop');
    expect(usages).toEqual([
      expect.objectContaining({ ...USAGE, total_tokens: USAGE.prompt_tokens + USAGE.completion_tokens }),
    ]);
    vendor.received(t.upstream.requests[0], true);
  });

  it('gets a tool call, converted both ways: tools out, the call back in OpenAI form', async () => {
    t.upstream.enqueue({
      type: 'chat',
      toolCalls: [{ name: 'get_weather', arguments: JSON.stringify(WEATHER_ARGS) }],
      usage: USAGE,
    });
    const completion = await openai().chat.completions.create({
      model: vendor.name,
      messages: question,
      tools: [WEATHER_TOOL],
    });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    const call = choice?.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual(WEATHER_ARGS);
    expect(call.id).not.toBe('');
    expect(vendor.toolNamesOf(vendor.received(t.upstream.requests[0], false))).toEqual(['get_weather']);
  });

  it('streams a tool call whose arguments add up to the JSON the model sent', async () => {
    t.upstream.enqueue({
      type: 'chat',
      toolCalls: [{ name: 'get_weather', arguments: JSON.stringify(WEATHER_ARGS) }],
      usage: USAGE,
    });
    const stream = await openai().chat.completions.create({
      model: vendor.name,
      messages: question,
      tools: [WEATHER_TOOL],
      stream: true,
    });
    let name = '';
    let args = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta.tool_calls?.[0];
      name += delta?.function?.name ?? '';
      args += delta?.function?.arguments ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe('get_weather');
    expect(JSON.parse(args)).toEqual(WEATHER_ARGS);
    expect(finish).toBe('tool_calls');
  });

  it('sends a tool result back in the vendor form and gets the final answer', async () => {
    t.upstream.enqueue({ type: 'chat', content: ANSWER, usage: USAGE });
    const completion = await openai().chat.completions.create({
      model: vendor.name,
      tools: [WEATHER_TOOL],
      messages: [
        ...question,
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'call_weather_1',
              type: 'function',
              function: { name: 'get_weather', arguments: JSON.stringify(WEATHER_ARGS) },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_weather_1', content: '{"temperature":18}' },
      ],
    });
    expect(completion.choices[0]?.message.content).toBe(ANSWER);
    const result = vendor.toolResultOf(vendor.received(t.upstream.requests[0], false));
    expect(result).toBeDefined();
    expect(['call_weather_1', 'get_weather']).toContain(result?.ref);
    expect(JSON.stringify(result?.result)).toContain('18');
  });
});
