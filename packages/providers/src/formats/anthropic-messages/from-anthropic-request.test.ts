// Conversion of Anthropic Messages requests (docs.anthropic.com/en/api/messages: content blocks, tool_use,
// tool_result, thinking, tool_choice) into canonical Chat Completions requests.
import { describe, expect, it } from 'vitest';
import { fromAnthropicRequest, reasoningEffortFor } from './from-anthropic-request.ts';
import { anthropicMessagesRequestSchema } from './messages-request-schema.ts';

function convert(body: Record<string, unknown>, nativeAnthropic = false): ReturnType<typeof fromAnthropicRequest> {
  return fromAnthropicRequest(anthropicMessagesRequestSchema.parse({ model: 'm', max_tokens: 64, ...body }), {
    nativeAnthropic,
  });
}

describe('fromAnthropicRequest', () => {
  it('turns base64 and url images into image_url parts next to the text', () => {
    const request = convert({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    });
    expect(request.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
        ],
      },
    ]);
  });

  it('keeps assistant thinking as reasoning_content and drops redacted thinking', () => {
    const request = convert({
      messages: [
        { role: 'user', content: 'Hi' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'The user greets me.', signature: 'sig' },
            { type: 'redacted_thinking', data: 'opaque' },
            { type: 'text', text: 'Hello!' },
          ],
        },
        { role: 'user', content: 'Again' },
      ],
    });
    expect(request.messages[1]).toEqual({
      role: 'assistant',
      content: 'Hello!',
      reasoning_content: 'The user greets me.',
    });
  });

  it('places several tool results before the rest of the user turn, string and block content alike', () => {
    const request = convert({
      messages: [
        { role: 'user', content: 'Go' },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 't1', name: 'a', input: {} },
            { type: 'tool_use', id: 't2', name: 'b', input: { x: 1 } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Here you go' },
            { type: 'tool_result', tool_use_id: 't1', content: 'one' },
            {
              type: 'tool_result',
              tool_use_id: 't2',
              content: [
                { type: 'text', text: 'tw' },
                { type: 'text', text: 'o' },
              ],
              is_error: true,
            },
          ],
        },
      ],
    });
    expect(request.messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 't1', type: 'function', function: { name: 'a', arguments: '{}' } },
          { id: 't2', type: 'function', function: { name: 'b', arguments: '{"x":1}' } },
        ],
      },
      { role: 'tool', tool_call_id: 't1', content: 'one' },
      { role: 'tool', tool_call_id: 't2', content: 'two' },
      { role: 'user', content: 'Here you go' },
    ]);
  });

  it.each([
    [{ type: 'auto' }, { tool_choice: 'auto' }],
    [{ type: 'any' }, { tool_choice: 'required' }],
    [
      { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true },
      { tool_choice: { type: 'function', function: { name: 'get_weather' } }, parallel_tool_calls: false },
    ],
    [{ type: 'none' }, { tool_choice: 'none' }],
  ])('maps tool_choice %j', (choice, expected) => {
    const request = convert({ messages: [{ role: 'user', content: 'Hi' }], tool_choice: choice });
    expect(request).toMatchObject(expected);
    if (!('parallel_tool_calls' in expected)) expect(request).not.toHaveProperty('parallel_tool_calls');
  });

  it.each([
    [1024, 'low'],
    [4095, 'low'],
    [4096, 'medium'],
    [16_383, 'medium'],
    [16_384, 'high'],
    [64_000, 'high'],
  ])('maps a thinking budget of %i tokens to reasoning_effort %s', (budget, effort) => {
    expect(reasoningEffortFor({ type: 'enabled', budget_tokens: budget })).toBe(effort);
  });

  it('takes output_config.effort over the budget (max → xhigh) and turns output_config.format into a json_schema response_format', () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    const request = convert({
      messages: [{ role: 'user', content: 'Hi' }],
      thinking: { type: 'adaptive' },
      output_config: { effort: 'max', format: { type: 'json_schema', schema } },
    });
    expect(request).toMatchObject({
      reasoning_effort: 'xhigh',
      response_format: { type: 'json_schema', json_schema: { name: 'output', schema, strict: true } },
    });
    expect(reasoningEffortFor({ type: 'enabled', budget_tokens: 20_000 }, 'low')).toBe('low');
  });

  it('keeps the thinking object and top_k only for a native Anthropic target, and sets no effort when disabled', () => {
    const thinking = { type: 'enabled', budget_tokens: 2048 };
    expect(convert({ messages: [{ role: 'user', content: 'Hi' }], thinking, top_k: 5 }, true)).toMatchObject({
      thinking,
      top_k: 5,
      reasoning_effort: 'low',
    });
    const openAiTarget = convert({ messages: [{ role: 'user', content: 'Hi' }], thinking, top_k: 5 }, false);
    expect(openAiTarget).not.toHaveProperty('thinking');
    expect(openAiTarget).not.toHaveProperty('top_k');
    expect(convert({ messages: [{ role: 'user', content: 'Hi' }], thinking: { type: 'disabled' } })).not.toHaveProperty(
      'reasoning_effort',
    );
  });

  it('keeps cache_control breakpoints (system, user text, tools) only for a native Anthropic target', () => {
    const ephemeral = { type: 'ephemeral' };
    const body = {
      system: [{ type: 'text', text: 'Long instructions', cache_control: ephemeral }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Big document', cache_control: ephemeral },
            { type: 'text', text: 'Question?' },
          ],
        },
      ],
      tools: [{ name: 'f', input_schema: { type: 'object' }, cache_control: ephemeral }],
    };
    const native = convert(body, true);
    expect(native.messages).toEqual([
      { role: 'system', content: [{ type: 'text', text: 'Long instructions', cache_control: ephemeral }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Big document', cache_control: ephemeral },
          { type: 'text', text: 'Question?' },
        ],
      },
    ]);
    expect(native.tools?.[0]).toMatchObject({ cache_control: ephemeral });
    const openAi = convert(body, false);
    expect(openAi.messages).toEqual([
      { role: 'system', content: 'Long instructions' },
      { role: 'user', content: 'Big document\nQuestion?' },
    ]);
    expect(openAi.tools?.[0]).not.toHaveProperty('cache_control');
  });

  it('rejects server tools and unknown block types with the path of the field', () => {
    const serverTool = anthropicMessagesRequestSchema.safeParse({
      model: 'm',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'Hi' }],
      tools: [{ type: 'web_search_20250305', name: 'web_search' }],
    });
    expect(serverTool.success).toBe(false);
    expect(serverTool.error?.issues[0]?.path).toEqual(['tools', 0, 'type']);
    const document = anthropicMessagesRequestSchema.safeParse({
      model: 'm',
      max_tokens: 5,
      messages: [{ role: 'user', content: [{ type: 'document', source: {} }] }],
    });
    expect(document.success).toBe(false);
  });
});
