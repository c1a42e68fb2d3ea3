import type { ChatCompletionChunk, Usage } from '../../chat-api.ts';
import type { ChunkEncoder } from '../chunk-encoder.ts';
import { toAnthropicStopReason, toAnthropicUsage, type AnthropicStopReason } from './to-anthropic-response.ts';

function event(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/** Options of {@link anthropicStreamEncoder}. */
export interface AnthropicStreamEncoderOptions {
  /** The message id (`msg_…`), see `anthropicMessageId`. */
  id: string;
  /** The model named in `message_start`: usually the one the client asked for. */
  model: string;
}

type OpenBlock = { kind: 'thinking' | 'text' } | { kind: 'tool_use'; toolIndex: number; id: string };

/**
 * Canonical chunks → Anthropic's streaming events, in exactly Anthropic's order:
 * `message_start` (input usage as known so far, 0 until the upstream reports it), `ping`, then per
 * content block `content_block_start` / `content_block_delta` (`thinking_delta`, `text_delta`,
 * `input_json_delta`) / `content_block_stop`, one block at a time, indexed from 0; then, once the
 * canonical stream has ended (OpenAI-format upstreams report usage only in the last chunk),
 * `message_delta` (stop reason and the final usage) and `message_stop`. No `[DONE]`.
 *
 * A block switches when the kind of delta changes (reasoning → text → tool call) or a new tool
 * call starts; a thinking block gets no `signature_delta`, as only Anthropic can sign one.
 *
 * @example
 * const encoder = anthropicStreamEncoder({ id: anthropicMessageId(), model: 'claude-sonnet-4-5' });
 * for await (const chunk of provider.chatStream(request)) response.write(encoder.encode(chunk));
 * response.end(encoder.end());
 */
export function anthropicStreamEncoder(options: AnthropicStreamEncoderOptions): ChunkEncoder {
  let started = false;
  let open: OpenBlock | undefined;
  let nextIndex = 0;
  let usage: Usage | undefined;
  let stopReason: AnthropicStopReason = 'end_turn';

  function start(): string {
    if (started) return '';
    started = true;
    const message = {
      id: options.id,
      type: 'message',
      role: 'assistant',
      model: options.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...toAnthropicUsage(usage), output_tokens: 0 },
    };
    return event('message_start', { message }) + event('ping', {});
  }

  function close(): string {
    if (open === undefined) return '';
    open = undefined;
    return event('content_block_stop', { index: nextIndex - 1 });
  }

  function openBlock(block: OpenBlock, contentBlock: Record<string, unknown>): string {
    const text = close() + event('content_block_start', { index: nextIndex, content_block: contentBlock });
    open = block;
    nextIndex += 1;
    return text;
  }

  function delta(delta: Record<string, unknown>): string {
    return event('content_block_delta', { index: nextIndex - 1, delta });
  }

  return {
    encode(chunk: ChatCompletionChunk): string {
      if (chunk.usage != null) usage = chunk.usage;
      let text = start();
      const choice = chunk.choices[0];
      if (choice === undefined) return text;
      const { reasoning_content: reasoning, content, refusal, tool_calls: toolCalls } = choice.delta;
      if (reasoning != null && reasoning !== '') {
        if (open?.kind !== 'thinking')
          text += openBlock({ kind: 'thinking' }, { type: 'thinking', thinking: '', signature: '' });
        text += delta({ type: 'thinking_delta', thinking: reasoning });
      }
      const visible = content != null && content !== '' ? content : refusal;
      if (visible != null && visible !== '') {
        if (open?.kind !== 'text') text += openBlock({ kind: 'text' }, { type: 'text', text: '' });
        text += delta({ type: 'text_delta', text: visible });
      }
      for (const call of toolCalls ?? []) {
        const toolIndex = call.index ?? 0;
        const id = call.id ?? '';
        // A new call: another index, or (vendors that reuse index 0) another id. Some vendors repeat the id on every delta.
        const isOpen = open?.kind === 'tool_use' && open.toolIndex === toolIndex && (id === '' || id === open.id);
        if (!isOpen)
          text += openBlock(
            { kind: 'tool_use', toolIndex, id },
            { type: 'tool_use', id, name: call.function?.name ?? '', input: {} },
          );
        const partial = call.function?.arguments;
        if (partial != null && partial !== '') text += delta({ type: 'input_json_delta', partial_json: partial });
      }
      if (choice.finish_reason != null) stopReason = toAnthropicStopReason(choice.finish_reason);
      return text;
    },
    end(): string {
      const final = toAnthropicUsage(usage);
      return (
        start() +
        close() +
        event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: final }) +
        event('message_stop', {})
      );
    },
  };
}
