import type { z } from 'zod';
import type { ChatCompletionChunk } from '../chat-api.ts';
import { parseJson } from '../parse-json.ts';
import type { ErrorContext } from '../openai-compatible/openai-compatible-error.ts';
import { providerErrorFromMalformed } from '../openai-compatible/openai-compatible-error.ts';
import type { ProviderError } from '../provider-error.ts';
import {
  contentBlockDeltaSchema,
  contentBlockStartSchema,
  messageStartSchema,
  messageStopSchema,
  metadataSchema,
} from './bedrock-api.ts';
import { providerErrorFromBedrockException } from './bedrock-error.ts';
import type { EventStreamMessage } from './event-stream-codec.ts';
import { mapBedrockStopReason } from './map-bedrock-stop-reason.ts';
import { toOpenAIUsage } from './to-openai-usage.ts';

type ChunkDelta = ChatCompletionChunk['choices'][number]['delta'];

/** Turns decoded Converse stream events into OpenAI chunks; one instance per stream. */
export interface BedrockChunkConverter {
  /** The chunks of one event (none for contentBlockStop and unknown events); throws ProviderError for exceptions. */
  convert(message: EventStreamMessage): ChatCompletionChunk[];
  /** True once messageStop has arrived. */
  stopped(): boolean;
}

const decoder = new TextDecoder();

function headerText(message: EventStreamMessage, name: string): string | undefined {
  const value = message.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * A converter for one stream. Events map as: messageStart → a role chunk; contentBlockStart with toolUse → the
 * tool call's first delta (id, name); contentBlockDelta text / toolUse.input / reasoningContent.text → content,
 * argument fragments, reasoning_content; messageStop → the finish chunk; metadata.usage → the usage-only chunk
 * (`choices: []`). Exception messages (throttlingException, validationException…) throw the matching ProviderError.
 *
 * @example
 * ```ts
 * const converter = createBedrockChunkConverter({ id, created, model, context });
 * for await (const message of decodeEventStream(body)) for (const chunk of converter.convert(message)) yield chunk;
 * ```
 */
export function createBedrockChunkConverter(options: {
  id: string;
  created: number;
  model: string;
  context: ErrorContext;
}): BedrockChunkConverter {
  const { id, created, model, context } = options;
  // Converse numbers content blocks; OpenAI numbers tool calls. Block index → tool call index.
  const toolIndexByBlock = new Map<number, number>();
  let roleSent = false;
  let stopped = false;

  const chunk = (delta: ChunkDelta, finishReason: string | null = null): ChatCompletionChunk => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  });

  function parse<T extends z.ZodType>(schema: T, message: EventStreamMessage, what: string): z.output<T> {
    const result = schema.safeParse(parseJson(decoder.decode(message.payload)));
    if (result.success) return result.data;
    throw providerErrorFromMalformed(`a ${what} event of an unexpected shape`, context, result.error);
  }

  function withRole(delta: ChunkDelta): ChunkDelta {
    if (roleSent) return delta;
    roleSent = true;
    return { role: 'assistant', ...delta };
  }

  function exception(message: EventStreamMessage, messageType: string): ProviderError {
    if (messageType === 'exception') {
      const type = headerText(message, ':exception-type') ?? 'internalServerException';
      return providerErrorFromBedrockException(type, decoder.decode(message.payload), context);
    }
    const code = headerText(message, ':error-code') ?? 'InternalServerException';
    const payload = JSON.stringify({ message: headerText(message, ':error-message') ?? '' });
    return providerErrorFromBedrockException(code, payload, context);
  }

  function convert(message: EventStreamMessage): ChatCompletionChunk[] {
    const messageType = headerText(message, ':message-type') ?? 'event';
    if (messageType !== 'event') throw exception(message, messageType);
    switch (headerText(message, ':event-type')) {
      case 'messageStart': {
        parse(messageStartSchema, message, 'messageStart');
        return [chunk(withRole({ content: '' }))];
      }
      case 'contentBlockStart': {
        const event = parse(contentBlockStartSchema, message, 'contentBlockStart');
        const toolUse = event.start?.toolUse;
        if (toolUse == null) return [];
        const index = toolIndexByBlock.size;
        toolIndexByBlock.set(event.contentBlockIndex ?? index, index);
        const call = {
          index,
          id: toolUse.toolUseId,
          type: 'function',
          function: { name: toolUse.name, arguments: '' },
        };
        return [chunk(withRole({ tool_calls: [call] }))];
      }
      case 'contentBlockDelta': {
        const { delta, contentBlockIndex } = parse(contentBlockDeltaSchema, message, 'contentBlockDelta');
        if (delta.text != null) return [chunk(withRole({ content: delta.text }))];
        if (delta.toolUse != null) {
          const index = toolIndexByBlock.get(contentBlockIndex ?? -1) ?? Math.max(0, toolIndexByBlock.size - 1);
          return [chunk(withRole({ tool_calls: [{ index, function: { arguments: delta.toolUse.input } }] }))];
        }
        // A signature-only reasoning delta carries nothing OpenAI clients can show.
        if (delta.reasoningContent?.text != null)
          return [chunk(withRole({ reasoning_content: delta.reasoningContent.text }))];
        return [];
      }
      case 'messageStop': {
        const { stopReason } = parse(messageStopSchema, message, 'messageStop');
        stopped = true;
        return [chunk({}, mapBedrockStopReason(stopReason))];
      }
      case 'metadata': {
        const { usage } = parse(metadataSchema, message, 'metadata');
        if (usage == null) return [];
        return [{ id, object: 'chat.completion.chunk', created, model, choices: [], usage: toOpenAIUsage(usage) }];
      }
      default:
        // contentBlockStop, and events added after this was written.
        return [];
    }
  }

  return {
    convert,
    stopped: () => stopped,
  };
}
