import { decodeSse } from '@gw/stream';
import { chatCompletionChunkSchema, usageSchema } from '../chat-api.ts';
import type { ChatCompletionChunk } from '../chat-api.ts';
import type { ErrorContext } from './openai-compatible-error.ts';
import {
  providerErrorFromErrorEvent,
  providerErrorFromException,
  providerErrorFromMalformed,
  providerErrorFromPayload,
} from './openai-compatible-error.ts';

/** What the stream parser needs besides the body. */
export interface StreamParseOptions {
  context: ErrorContext;
  /** The caller's signal: tells a cancel (`cancelled`) apart from a broken connection (`connection`). */
  callerSignal: AbortSignal | undefined;
}

// Moonshot has been seen reporting usage inside choices[0] of the last chunk instead of at the top level.
function liftChoiceUsage(chunk: ChatCompletionChunk): void {
  if (chunk.usage != null) return;
  const nested: unknown = chunk.choices[0]?.['usage'];
  if (nested == null) return;
  const usage = usageSchema.safeParse(nested);
  if (usage.success) chunk.usage = usage.data;
}

/**
 * An OpenAI-style SSE body (`data: {chunk}` … `data: [DONE]`) as chunks. Throws ProviderError for an error event,
 * an `{"error":…}` payload, an unparsable chunk, or a broken connection. A body that ends without `[DONE]` ends
 * the iteration normally: some compatible servers never send it.
 */
export async function* parseOpenAICompatibleStream(
  body: ReadableStream<Uint8Array>,
  options: StreamParseOptions,
): AsyncGenerator<ChatCompletionChunk, void, undefined> {
  const { context, callerSignal } = options;
  try {
    for await (const message of decodeSse(body)) {
      const { data } = message;
      if (data === '[DONE]') return;
      if (message.event === 'error') throw providerErrorFromErrorEvent(data, context);
      if (data === '') continue;
      let payload: unknown;
      try {
        payload = JSON.parse(data);
      } catch (cause) {
        throw providerErrorFromMalformed('a stream chunk that is not JSON', context, cause);
      }
      const error = providerErrorFromPayload(payload, context);
      if (error !== undefined) throw error;
      const chunk = chatCompletionChunkSchema.safeParse(payload);
      if (!chunk.success) {
        const path = chunk.error.issues[0]?.path.join('.') ?? '';
        throw providerErrorFromMalformed(`a stream chunk of an unexpected shape (at "${path}")`, context, chunk.error);
      }
      liftChoiceUsage(chunk.data);
      yield chunk.data;
    }
  } catch (error) {
    throw providerErrorFromException(error, callerSignal, context);
  }
}
