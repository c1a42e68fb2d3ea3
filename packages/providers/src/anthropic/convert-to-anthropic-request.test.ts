// Request conversion, checked where it matters: in the body the stand-in (Anthropic dialect) received, which also
// validates alternation, roles and max_tokens like the Messages API does. Shapes follow
// https://docs.anthropic.com/en/api/messages (system, content blocks, image sources, tool_use/tool_result, tools,
// tool_choice, thinking).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChatCompletionRequest } from '../chat-api.ts';
import { createProvider } from '../create-provider.ts';
import type { Provider } from '../provider.ts';
import { startStandInUpstream } from '../testing/stand-in-upstream.ts';
import type { StandInUpstream } from '../testing/stand-in-types.ts';
import { convertToAnthropicRequest } from './convert-to-anthropic-request.ts';

let upstream: StandInUpstream;
let provider: Provider;

beforeAll(async () => {
  upstream = await startStandInUpstream();
  provider = createProvider({
    kind: 'anthropic',
    id: 'claude',
    baseUrl: upstream.baseUrl,
    apiKey: 'sk-ant-test-key-123456',
  });
});
afterEach(() => upstream.reset());
afterAll(async () => {
  await upstream.close();
});

/** Sends the request through the adapter and answers the body the vendor received. */
async function received(request: ChatCompletionRequest): Promise<unknown> {
  await provider.chat(request);
  expect(upstream.requests[0]?.path).toBe('/v1/messages');
  return upstream.requests[0]?.body;
}

const model = 'claude-sonnet-4-5';
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

describe('conversion as the vendor receives it', () => {
  it('lifts system and developer messages into top-level system and merges consecutive user messages', async () => {
    const body = await received({
      model,
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'developer',
          content: [
            { type: 'text', text: 'Answer in French.' },
            { type: 'text', text: 'No emoji.' },
          ],
        },
        { role: 'user', content: 'Hello' },
        { role: 'user', content: [{ type: 'text', text: 'Capital of Italy?' }] },
      ],
    });
    expect(body).toEqual({
      model,
      max_tokens: 4096,
      system: 'Be brief.\n\nAnswer in French.\nNo emoji.',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Hello' },
            { type: 'text', text: 'Capital of Italy?' },
          ],
        },
      ],
    });
  });

  it('converts data: and http(s) image URLs into image blocks', async () => {
    const body = await received({
      model,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare these' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'high' } },
          ],
        },
      ],
    });
    expect(body).toMatchObject({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare these' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    });
  });

  it('converts tools, tool_choice, tool calls and merges tool results into one user turn before its text', async () => {
    const body = await received({
      model,
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Weather of a city',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          },
        },
        { type: 'function', function: { name: 'get_time' } },
      ],
      tool_choice: 'required',
      parallel_tool_calls: false,
      messages: [
        { role: 'user', content: 'Weather and time in Paris and Rome?' },
        {
          role: 'assistant',
          content: 'Looking up.',
          reasoning_content: 'dropped without a signature',
          tool_calls: [
            { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'toolu_2', type: 'function', function: { name: 'get_time', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: '18°C' },
        { role: 'tool', tool_call_id: 'toolu_2', content: [{ type: 'text', text: '14:05' }] },
        { role: 'user', content: 'Thanks, and Rome?' },
      ],
    });
    expect(body).toEqual({
      model,
      max_tokens: 4096,
      tools: [
        {
          name: 'get_weather',
          description: 'Weather of a city',
          input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
        { name: 'get_time', input_schema: { type: 'object', properties: {} } },
      ],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather and time in Paris and Rome?' }] },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Looking up.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'toolu_2', name: 'get_time', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: '18°C' }] },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: '14:05' }] },
            { type: 'text', text: 'Thanks, and Rome?' },
          ],
        },
      ],
    });
  });

  it('maps sampling parameters and drops the OpenAI-only ones', async () => {
    const body = await received({
      model,
      messages: [{ role: 'user', content: 'Hi' }],
      max_completion_tokens: 300,
      max_tokens: 999,
      temperature: 1.7,
      top_p: 0.9,
      stop: 'END',
      user: 'user-42',
      response_format: { type: 'json_object' },
      logprobs: true,
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: 0.5,
      metadata: { tenant: 'acme' },
      store: true,
      enable_thinking: true,
      top_k: 40,
    });
    expect(body).toEqual({
      model,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      max_tokens: 300,
      temperature: 1,
      top_p: 0.9,
      stop_sequences: ['END'],
      metadata: { user_id: 'user-42' },
      top_k: 40,
    });
  });

  it('reasoning_effort becomes a thinking budget, with max_tokens above it and temperature dropped', async () => {
    const body = await received({
      model,
      messages: [{ role: 'user', content: 'Hi' }],
      reasoning_effort: 'medium',
      temperature: 0.2,
    });
    expect(body).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 8192 }, max_tokens: 4096 + 8192 });
    expect(body).not.toHaveProperty('temperature');
  });
});

describe('convertToAnthropicRequest', () => {
  const options = { provider: 'claude', defaultMaxTokens: 4096 };
  const user = { role: 'user' as const, content: 'Hi' };

  it('maps every tool_choice form', () => {
    const tools = [{ type: 'function' as const, function: { name: 'f' } }];
    const choiceOf = (tool_choice: ChatCompletionRequest['tool_choice']) =>
      convertToAnthropicRequest({ model, messages: [user], tools, tool_choice }, options).tool_choice;
    expect(choiceOf('auto')).toEqual({ type: 'auto' });
    expect(choiceOf('none')).toEqual({ type: 'none' });
    expect(choiceOf({ type: 'function', function: { name: 'f' } })).toEqual({ type: 'tool', name: 'f' });
    expect(choiceOf(undefined)).toBeUndefined();
    expect(
      convertToAnthropicRequest({ model, messages: [user], tools, parallel_tool_calls: false }, options).tool_choice,
    ).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    // Without tools there is nothing to choose from: tool_choice is not sent.
    expect(
      convertToAnthropicRequest({ model, messages: [user], tool_choice: 'auto' }, options).tool_choice,
    ).toBeUndefined();
  });

  it('a native thinking field wins over reasoning_effort', () => {
    const body = convertToAnthropicRequest(
      { model, messages: [user], reasoning_effort: 'high', thinking: { type: 'enabled', budget_tokens: 2000 } },
      options,
    );
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 2000 });
    expect(body.max_tokens).toBe(4096);
  });

  it('an explicit max_tokens below the budget shrinks the budget, or turns thinking off below 1024', () => {
    expect(
      convertToAnthropicRequest({ model, messages: [user], reasoning_effort: 'high', max_tokens: 4000 }, options),
    ).toMatchObject({
      max_tokens: 4000,
      thinking: { type: 'enabled', budget_tokens: 2000 },
    });
    const small = convertToAnthropicRequest(
      { model, messages: [user], reasoning_effort: 'low', max_tokens: 1500 },
      options,
    );
    expect(small.max_tokens).toBe(1500);
    expect(small.thinking).toBeUndefined();
    expect(
      convertToAnthropicRequest({ model, messages: [user], reasoning_effort: 'none' }, options).thinking,
    ).toBeUndefined();
  });

  it('keeps temperature when a native thinking turns thinking off', () => {
    const body = convertToAnthropicRequest(
      { model, messages: [user], thinking: { type: 'disabled' }, temperature: 0.3 },
      options,
    );
    expect(body).toMatchObject({ thinking: { type: 'disabled' }, temperature: 0.3 });
  });

  it('keeps cache_control on text parts and sends system as blocks then', () => {
    const body = convertToAnthropicRequest(
      {
        model,
        messages: [
          { role: 'system', content: [{ type: 'text', text: 'Long policy', cache_control: { type: 'ephemeral' } }] },
          user,
        ],
      },
      options,
    );
    expect(body.system).toEqual([{ type: 'text', text: 'Long policy', cache_control: { type: 'ephemeral' } }]);
  });

  it.each([
    [{ model, messages: [user], n: 2 }, 'n > 1'],
    [{ model, messages: [user], reasoning_effort: 'extreme' }, 'reasoning_effort'],
    [
      {
        model,
        messages: [
          user,
          {
            role: 'assistant' as const,
            tool_calls: [{ id: 'a', type: 'function' as const, function: { name: 'f', arguments: '{oops' } }],
          },
        ],
      },
      'messages[1].tool_calls',
    ],
    [
      {
        model,
        messages: [
          {
            role: 'user' as const,
            content: [{ type: 'input_audio' as const, input_audio: { data: 'x', format: 'wav' } }],
          },
        ],
      },
      'audio',
    ],
    [
      {
        model,
        messages: [
          { role: 'user' as const, content: [{ type: 'image_url' as const, image_url: { url: 'ftp://x/y.png' } }] },
        ],
      },
      'image',
    ],
  ])('refuses what Anthropic cannot express (%#: %s)', (request, fragment) => {
    expect(() => convertToAnthropicRequest(request, options)).toThrow(
      expect.objectContaining({ kind: 'invalid_request', message: expect.stringContaining(fragment) }),
    );
  });
});
