import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readFixture } from './__fixtures__/read-fixture.ts';
import { chatCompletionChunkSchema, chatCompletionRequestSchema, chatCompletionResponseSchema } from './chat-api.ts';

function issuePaths(input: unknown): string[] {
  const result = chatCompletionRequestSchema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((issue) => issue.path.map(String).join('.'));
}

describe('chatCompletionRequestSchema', () => {
  it('accepts a full OpenAI request and passes unknown fields through untouched', () => {
    const request = {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'developer', content: 'Be brief.' },
        { role: 'system', content: [{ type: 'text', text: 'You are helpful.' }] },
        {
          role: 'user',
          name: 'ada',
          content: [
            { type: 'text', text: 'What is in this image?' },
            { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'low' } },
            { type: 'input_audio', input_audio: { data: 'UklGR…', format: 'wav' } },
            { type: 'file', file: { file_id: 'file-abc', filename: 'a.pdf' } },
          ],
        },
        {
          role: 'assistant',
          content: null,
          reasoning_content: 'thinking…',
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'look', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'a cat' },
        { role: 'function', name: 'legacy', content: null },
      ],
      tools: [{ type: 'function', function: { name: 'look', parameters: { type: 'object' }, strict: true } }],
      tool_choice: { type: 'function', function: { name: 'look' } },
      parallel_tool_calls: false,
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.2,
      top_p: 1,
      n: 1,
      stop: ['\n\n'],
      max_tokens: 100,
      max_completion_tokens: 200,
      presence_penalty: 0,
      frequency_penalty: 0.5,
      seed: 42,
      user: 'user-1',
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' }, strict: true } },
      logprobs: true,
      top_logprobs: 3,
      logit_bias: { '50256': -100 },
      reasoning_effort: 'low',
      metadata: { team: 'a' },
      enable_thinking: true,
      web_search_options: { search_context_size: 'low' },
    };
    const parsed = chatCompletionRequestSchema.parse(request);
    expect(parsed).toEqual(request);
    expect(parsed['enable_thinking']).toBe(true);
  });

  it('names the offending field path of a bad role', () => {
    const result = chatCompletionRequestSchema.safeParse({ model: 'm', messages: [{ role: 'robot', content: 'hi' }] });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(z.prettifyError(result.error)).toContain('messages[0].role');
  });

  it.each([
    [{ model: '', messages: [{ role: 'user', content: 'hi' }] }, 'model'],
    [{ model: 'm', messages: [] }, 'messages'],
    [{ model: 'm', messages: [{ role: 'tool', content: 'x' }] }, 'messages.0.tool_call_id'],
    [{ model: 'm', messages: [{ role: 'user', content: 5 }] }, 'messages.0.content'],
    [
      {
        model: 'm',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'a' },
              { type: 'image_url', image_url: { url: 3 } },
            ],
          },
        ],
      },
      'messages.0.content.1.image_url.url',
    ],
    [{ model: 'm', messages: [{ role: 'user', content: [{ type: 'video', url: 'x' }] }] }, 'messages.0.content.0.type'],
    [{ model: 'm', messages: [{ role: 'user', content: 'hi' }], temperature: 'hot' }, 'temperature'],
    [{ model: 'm', messages: [{ role: 'user', content: 'hi' }], stop: 3 }, 'stop'],
    [{ model: 'm', messages: [{ role: 'user', content: 'hi' }], n: 1.5 }, 'n'],
    [
      { model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: {} }] },
      'tools.0.function.name',
    ],
    [
      { model: 'm', messages: [{ role: 'user', content: 'hi' }], stream_options: { include_usage: 'yes' } },
      'stream_options.include_usage',
    ],
    [
      {
        model: 'm',
        messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f' } }] }],
      },
      'messages.0.tool_calls.0.function.arguments',
    ],
  ])('rejects %j at %s', (input, path) => {
    expect(issuePaths(input)).toContain(path);
  });
});

describe('chatCompletionResponseSchema', () => {
  it('parses a recorded OpenAI response and keeps the fields it does not know', () => {
    const raw: unknown = JSON.parse(readFixture('openai-text.json'));
    const parsed = chatCompletionResponseSchema.parse(raw);
    expect(parsed.choices[0]?.message.content).toBe('The capital of France is Paris. It sits on the Seine.');
    expect(parsed.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    expect(parsed.choices[0]?.message['annotations']).toEqual([]);
    expect(parsed).toEqual(raw);
  });

  it('tolerates vendors that leave optional fields null or out', () => {
    const parsed = chatCompletionResponseSchema.parse({
      choices: [{ message: { content: 'hi', reasoning_content: 'because' }, finish_reason: null }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2, prompt_cache_hit_tokens: 0 },
    });
    expect(parsed.choices[0]?.index).toBe(0);
    expect(parsed.choices[0]?.message.reasoning_content).toBe('because');
    expect(parsed.usage?.['prompt_cache_hit_tokens']).toBe(0);
  });

  it('fills in total_tokens when a compatible server leaves it out', () => {
    const parsed = chatCompletionResponseSchema.parse({
      choices: [{ message: { content: 'hi' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 4, completion_tokens: 6 },
    });
    expect(parsed.usage?.total_tokens).toBe(10);
  });
});

describe('chatCompletionChunkSchema', () => {
  it('keeps obfuscation and defaults a missing delta and choices', () => {
    const chunk = chatCompletionChunkSchema.parse({
      id: 'x',
      obfuscation: 'ab',
      choices: [{ index: 0, finish_reason: 'stop' }],
    });
    expect(chunk['obfuscation']).toBe('ab');
    expect(chunk.choices[0]?.delta).toEqual({});
    expect(
      chatCompletionChunkSchema.parse({ usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }).choices,
    ).toEqual([]);
  });
});

describe('assistant turns of other vendors', () => {
  it('reads Mistral content chunks as content plus reasoning_content', () => {
    const message = {
      role: 'assistant',
      content: [
        {
          type: 'thinking',
          thinking: [
            { type: 'text', text: 'Think' },
            { type: 'text', text: 'ing.' },
          ],
        },
        { type: 'text', text: 'Answer.' },
      ],
    };
    const response = chatCompletionResponseSchema.parse({ choices: [{ index: 0, message, finish_reason: 'stop' }] });
    expect(response.choices[0]?.message).toEqual({
      role: 'assistant',
      content: 'Answer.',
      reasoning_content: 'Thinking.',
    });
    const chunk = chatCompletionChunkSchema.parse({
      choices: [{ index: 0, delta: { content: [{ type: 'text', text: 'Hi' }] } }],
    });
    expect(chunk.choices[0]?.delta).toEqual({ content: 'Hi' });
  });

  it('renames `reasoning` to reasoning_content, and keeps it when both are present', () => {
    const chunk = chatCompletionChunkSchema.parse({ choices: [{ index: 0, delta: { reasoning: 'hmm' } }] });
    expect(chunk.choices[0]?.delta).toEqual({ reasoning_content: 'hmm' });
    const both = chatCompletionChunkSchema.parse({
      choices: [{ index: 0, delta: { reasoning: 'a', reasoning_content: 'b' } }],
    });
    expect(both.choices[0]?.delta).toEqual({ reasoning: 'a', reasoning_content: 'b' });
  });

  it('still refuses content chunks it does not know, and request validation is unchanged', () => {
    const unknownChunk = { choices: [{ index: 0, delta: { content: [{ type: 'image_url', image_url: 'x' }] } }] };
    expect(chatCompletionChunkSchema.safeParse(unknownChunk).success).toBe(false);
    // A request's assistant message may not carry a thinking chunk: only text and refusal parts.
    const request = {
      model: 'm',
      messages: [{ role: 'assistant', content: [{ type: 'thinking', thinking: [{ type: 'text', text: 'x' }] }] }],
    };
    expect(chatCompletionRequestSchema.safeParse(request).success).toBe(false);
  });
});
