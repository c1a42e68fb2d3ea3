// Anthropic's streaming event sequence (docs.anthropic.com/en/docs/build-with-claude/streaming) built from
// canonical chunks; the end-to-end order over HTTP is in the gateway's routes/v1/messages.test.ts.
import type { ChatCompletionChunk } from '../../chat-api.ts';
import { sseFrames } from '@gw/test-kit';
import { describe, expect, it } from 'vitest';
import { anthropicStreamEncoder } from './anthropic-stream-encoder.ts';
import { toAnthropicResponse, toAnthropicUsage } from './to-anthropic-response.ts';

function events(text: string): unknown[] {
  return sseFrames(text).map((frame): unknown => JSON.parse(frame.data));
}

describe('toAnthropicUsage', () => {
  it('counts only uncached input as input_tokens, cache reads and writes apart', () => {
    const usage = {
      prompt_tokens: 1000,
      completion_tokens: 50,
      total_tokens: 1050,
      prompt_tokens_details: { cached_tokens: 600, cache_creation_tokens: 300 },
    };
    expect(toAnthropicUsage(usage)).toEqual({
      input_tokens: 100,
      output_tokens: 50,
      cache_read_input_tokens: 600,
      cache_creation_input_tokens: 300,
    });
  });
});

describe('toAnthropicResponse', () => {
  it('orders thinking, text, tool_use and maps length to max_tokens', () => {
    const message = toAnthropicResponse(
      {
        choices: [
          {
            index: 0,
            finish_reason: 'length',
            message: {
              role: 'assistant',
              content: 'Partial',
              reasoning_content: 'Hmm',
              tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: 'not json' } }],
            },
          },
        ],
      },
      { id: 'msg_1', model: 'claude' },
    );
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'Hmm', signature: '' },
      { type: 'text', text: 'Partial' },
      { type: 'tool_use', id: 'c1', name: 'f', input: {} },
    ]);
    expect(message.stop_reason).toBe('max_tokens');
  });

  it('maps content_filter to refusal', () => {
    const message = toAnthropicResponse(
      { choices: [{ index: 0, finish_reason: 'content_filter', message: { content: '' } }] },
      { id: 'msg_2', model: 'm' },
    );
    expect(message.stop_reason).toBe('refusal');
    expect(message.content).toEqual([]);
  });
});

describe('anthropicStreamEncoder', () => {
  it('reports input usage in message_start when the first chunk already carries it, and the final usage in message_delta', () => {
    const encoder = anthropicStreamEncoder({ id: 'msg_x', model: 'claude' });
    const usage = {
      prompt_tokens: 40,
      completion_tokens: 2,
      total_tokens: 42,
      prompt_tokens_details: { cached_tokens: 30 },
    };
    const chunks: ChatCompletionChunk[] = [
      { id: 'a', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' } }], usage },
      { id: 'a', choices: [{ index: 0, delta: {}, finish_reason: 'content_filter' }] },
      { id: 'a', choices: [], usage },
    ];
    const text = chunks.map((chunk) => encoder.encode(chunk)).join('') + encoder.end();
    expect(events(text)).toEqual([
      {
        type: 'message_start',
        message: {
          id: 'msg_x',
          type: 'message',
          role: 'assistant',
          model: 'claude',
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 10, output_tokens: 0, cache_read_input_tokens: 30, cache_creation_input_tokens: 0 },
        },
      },
      { type: 'ping' },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
      { type: 'content_block_stop', index: 0 },
      {
        type: 'message_delta',
        delta: { stop_reason: 'refusal', stop_sequence: null },
        usage: { input_tokens: 10, output_tokens: 2, cache_read_input_tokens: 30, cache_creation_input_tokens: 0 },
      },
      { type: 'message_stop' },
    ]);
  });

  it('opens one tool_use block per call even when a vendor repeats the id on every delta', () => {
    const encoder = anthropicStreamEncoder({ id: 'msg_y', model: 'm' });
    const call = (args: string): ChatCompletionChunk => ({
      choices: [
        { index: 0, delta: { tool_calls: [{ index: 0, id: 'c1', function: { name: 'f', arguments: args } }] } },
      ],
    });
    const text = [call('{"a"'), call(':1}')].map((chunk) => encoder.encode(chunk)).join('') + encoder.end();
    const starts = events(text).filter(
      (event) => typeof event === 'object' && event !== null && Reflect.get(event, 'type') === 'content_block_start',
    );
    expect(starts).toHaveLength(1);
  });

  it('still sends message_start, message_delta and message_stop for an empty stream', () => {
    const encoder = anthropicStreamEncoder({ id: 'msg_z', model: 'm' });
    const types = events(encoder.end()).map((event) =>
      typeof event === 'object' && event !== null ? Reflect.get(event, 'type') : undefined,
    );
    expect(types).toEqual(['message_start', 'ping', 'message_delta', 'message_stop']);
  });
});
