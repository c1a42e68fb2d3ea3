import { decodeSse } from '@gw/stream';
import type { ChatCompletionChunk } from '../chat-api.ts';
import type { ErrorContext } from '../openai-compatible/openai-compatible-error.ts';
import {
  DEFAULT_ANSWER_LIMITS,
  providerErrorFromException,
  providerErrorFromTruncation,
  providerErrorFromMalformed,
} from '../openai-compatible/openai-compatible-error.ts';
import { anthropicStreamEventSchema } from './anthropic-api.ts';
import type { AnthropicStreamEvent, AnthropicUsage } from './anthropic-api.ts';
import { anthropicErrorFromEvent } from './anthropic-error.ts';
import { mapAnthropicStopReason } from './map-anthropic-stop-reason.ts';
import { toCanonicalUsage } from './map-anthropic-usage.ts';
import type { TransportBody } from '../transport.ts';

/** What the stream parser needs besides the body. */
export interface AnthropicStreamOptions {
  context: ErrorContext;
  /** The caller's signal: tells a cancel (`cancelled`) apart from a broken connection (`connection`). */
  callerSignal: AbortSignal | undefined;
  /** Unix seconds for every chunk's `created` (Anthropic sends no timestamp); default: now. */
  created?: number;
}

// Event types this parser knows. Anthropic may add event types (its versioning policy says so): others are skipped.
const KNOWN_EVENTS: ReadonlySet<string> = new Set([
  'message_start',
  'content_block_start',
  'content_block_delta',
  'content_block_stop',
  'message_delta',
  'message_stop',
  'ping',
  'error',
]);

type Delta = ChatCompletionChunk['choices'][number]['delta'];

function parseEvent(
  eventName: string | undefined,
  data: string,
  context: ErrorContext,
): AnthropicStreamEvent | undefined {
  if (eventName === 'error') throw anthropicErrorFromEvent(data, context);
  let payload: unknown;
  try {
    payload = JSON.parse(data);
  } catch (cause) {
    throw providerErrorFromMalformed('a stream event that is not JSON', context, cause);
  }
  const type: unknown = typeof payload === 'object' && payload !== null ? Reflect.get(payload, 'type') : undefined;
  if (typeof type === 'string' && !KNOWN_EVENTS.has(type)) return undefined;
  const event = anthropicStreamEventSchema.safeParse(payload);
  if (!event.success) {
    const path = event.error.issues[0]?.path.join('.') ?? '';
    throw providerErrorFromMalformed(`a stream event of an unexpected shape (at "${path}")`, context, event.error);
  }
  return event.data;
}

/**
 * An Anthropic Messages SSE body as canonical `chat.completion.chunk`s, converted event by event:
 * message_start → a chunk with `role: 'assistant'`; text_delta → `content`; thinking_delta → `reasoning_content`;
 * a tool_use block → a `tool_calls` delta with id, name and `arguments: ''` (tool indexes count tool_use blocks
 * from 0), then its input_json_delta fragments; message_delta → the chunk with `finish_reason`; message_stop →
 * the usage-only chunk (`choices: []`), then the end. `ping`, signature_delta, citations and unknown events are
 * skipped. Throws `ProviderError` for an `event: error` (its kind from the error type), an unparsable event, a
 * broken connection, or a body that ends before message_stop (kind `server`, code `stream_truncated`).
 *
 * @example
 * ```ts
 * for await (const chunk of parseAnthropicStream(response.body, { context, callerSignal: signal })) {
 *   process.stdout.write(chunk.choices[0]?.delta.content ?? '');
 * }
 * ```
 */
export async function* parseAnthropicStream(
  body: TransportBody,
  options: AnthropicStreamOptions,
): AsyncGenerator<ChatCompletionChunk, void, undefined> {
  const { context, callerSignal } = options;
  const created = options.created ?? Math.floor(Date.now() / 1000);
  const messages = decodeSse(body, { maxEventSize: (context.limits ?? DEFAULT_ANSWER_LIMITS).maxEventSize });
  let id = '';
  let model = context.model ?? '';
  let usage: AnthropicUsage = {};
  let nextToolIndex = 0;
  // content-block index → tool_calls index, for the blocks that are tool_use.
  const toolIndexByBlock = new Map<number, number>();

  const chunk = (delta: Delta, finishReason: string | null = null): ChatCompletionChunk => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  });

  try {
    for await (const message of messages) {
      if (message.data === '' && message.event !== 'error') continue;
      const event = parseEvent(message.event, message.data, context);
      if (event === undefined) continue;
      switch (event.type) {
        case 'message_start':
          id = event.message.id;
          model = event.message.model;
          usage = { ...event.message.usage };
          yield chunk({ role: 'assistant', content: '' });
          break;
        case 'content_block_start': {
          const block = event.content_block;
          if (block.type === 'tool_use') {
            const index = nextToolIndex;
            nextToolIndex += 1;
            toolIndexByBlock.set(event.index, index);
            yield chunk({
              tool_calls: [
                { index, id: block.id ?? '', type: 'function', function: { name: block.name ?? '', arguments: '' } },
              ],
            });
          } else if (block.type === 'text' && block.text != null && block.text !== '') {
            yield chunk({ content: block.text });
          } else if (block.type === 'thinking' && block.thinking != null && block.thinking !== '') {
            yield chunk({ reasoning_content: block.thinking });
          }
          break;
        }
        case 'content_block_delta': {
          const { delta } = event;
          if (delta.type === 'text_delta' && delta.text != null) yield chunk({ content: delta.text });
          else if (delta.type === 'thinking_delta' && delta.thinking != null) {
            yield chunk({ reasoning_content: delta.thinking });
          } else if (delta.type === 'input_json_delta' && delta.partial_json != null && delta.partial_json !== '') {
            const index = toolIndexByBlock.get(event.index);
            if (index !== undefined)
              yield chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json } }] });
          }
          // signature_delta, citations_delta: nothing in the canonical shape carries them.
          break;
        }
        case 'message_delta':
          // output_tokens is cumulative; newer API versions also repeat the input counts here.
          for (const [key, value] of Object.entries(event.usage ?? {})) {
            if (typeof value === 'number') usage = { ...usage, [key]: value };
          }
          if (event.delta.stop_reason != null) yield chunk({}, mapAnthropicStopReason(event.delta.stop_reason));
          break;
        case 'message_stop':
          yield { id, object: 'chat.completion.chunk', created, model, choices: [], usage: toCanonicalUsage(usage) };
          return;
        case 'error':
          throw anthropicErrorFromEvent(message.data, context);
        case 'content_block_stop':
        case 'ping':
          break;
      }
    }
  } catch (error) {
    throw providerErrorFromException(error, callerSignal, context);
  }
  throw providerErrorFromTruncation('The Anthropic stream ended before message_stop', context);
}
