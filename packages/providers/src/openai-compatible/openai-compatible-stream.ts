import { decodeSse } from '@gw/stream';
import type { BufferedAsyncIterator, SseMessage } from '@gw/stream';
import { chatCompletionChunkSchema, usageSchema } from '../chat-api.ts';
import type { ChatCompletionChunk } from '../chat-api.ts';
import { isCanonicalChunk } from '../chunk-shape.ts';
import { rememberRawChunkJson } from '../raw-chunk-json.ts';
import type { ErrorContext } from './openai-compatible-error.ts';
import {
  providerErrorFromErrorEvent,
  providerErrorFromException,
  providerErrorFromMalformed,
  providerErrorFromPayload,
} from './openai-compatible-error.ts';
import { createSerialSteps } from '../serial-steps.ts';

/** What the stream parser needs besides the body. */
export interface StreamParseOptions {
  context: ErrorContext;
  /** The caller's signal: tells a cancel (`cancelled`) apart from a broken connection (`connection`). */
  callerSignal: AbortSignal | undefined;
  /**
   * Called once when the chunks end by themselves: `true` after the last one, `false` after a failure (the body
   * is cancelled by then). Not called for `return()`.
   */
  onEnd?: (completed: boolean) => void;
}

// Moonshot has been seen reporting usage inside choices[0] of the last chunk instead of at the top level.
// Returns whether the chunk changed.
function liftChoiceUsage(chunk: ChatCompletionChunk): boolean {
  if (chunk.usage != null) return false;
  const nested: unknown = chunk.choices[0]?.['usage'];
  if (nested == null) return false;
  const usage = usageSchema.safeParse(nested);
  if (!usage.success) return false;
  chunk.usage = usage.data;
  return true;
}

/**
 * An OpenAI-style SSE body (`data: {chunk}` … `data: [DONE]`) as chunks. Throws ProviderError for an error event,
 * an `{"error":…}` payload, an unparsable chunk, or a broken connection. A body that ends without `[DONE]` ends
 * the iteration normally: some compatible servers never send it. Each chunk's wire text is kept for
 * `rawChunkJson` when it says the same as the parsed chunk.
 *
 * A hand-written iterator rather than an async generator: this runs once per chunk of every stream, and a
 * generator's own promise and queue machinery cost more than the parsing does.
 */
export function parseOpenAICompatibleStream(
  body: ReadableStream<Uint8Array>,
  options: StreamParseOptions,
): BufferedAsyncIterator<ChatCompletionChunk> {
  const { context, callerSignal, onEnd } = options;
  const messages = decodeSse(body);
  let finished = false;
  // A message takeBuffered() met but could not hand out (the end, a failure): the next step starts with it.
  let held: SseMessage | undefined;

  /** The chunk of one message, `undefined` for one that carries none; throws for a payload that is not a chunk. */
  function chunkOf(message: SseMessage): ChatCompletionChunk | undefined {
    const { data } = message;
    if (message.event === 'error') throw providerErrorFromErrorEvent(data, context);
    if (data === '') return undefined;
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch (cause) {
      throw providerErrorFromMalformed('a stream chunk that is not JSON', context, cause);
    }
    const error = providerErrorFromPayload(payload, context);
    if (error !== undefined) throw error;
    // The common case needs no zod copy (see chunk-shape.ts); the rest is parsed, defaults filled in.
    if (isCanonicalChunk(payload)) {
      if (!liftChoiceUsage(payload)) rememberRawChunkJson(payload, payload, data);
      return payload;
    }
    const chunk = chatCompletionChunkSchema.safeParse(payload);
    if (!chunk.success) {
      const path = chunk.error.issues[0]?.path.join('.') ?? '';
      throw providerErrorFromMalformed(`a stream chunk of an unexpected shape (at "${path}")`, context, chunk.error);
    }
    if (!liftChoiceUsage(chunk.data)) rememberRawChunkJson(chunk.data, payload, data);
    return chunk.data;
  }

  // One step at a time, in order; each step reports itself over (see serial-steps.ts).
  const steps = createSerialSteps(step);

  // The message loop lives here rather than in a helper: one async frame per chunk instead of two.
  async function step(): Promise<IteratorResult<ChatCompletionChunk>> {
    try {
      if (finished) return { done: true, value: undefined };
      try {
        for (;;) {
          // A message decoded from bytes already at hand needs no await (most chunks arrive several to a read).
          let message = held ?? messages.takeBuffered();
          held = undefined;
          if (message === undefined) {
            const next = await messages.next();
            if (next.done === true) break;
            message = next.value;
          }
          if (message.data === '[DONE]') break;
          const chunk = chunkOf(message);
          if (chunk !== undefined) return { done: false, value: chunk };
        }
      } catch (error) {
        finished = true;
        // Like leaving a for-await loop: the body is cancelled before the error is reported.
        await messages.return?.().catch(() => undefined);
        onEnd?.(false);
        throw providerErrorFromException(error, callerSignal, context);
      }
      finished = true;
      try {
        await messages.return?.();
      } catch (error) {
        onEnd?.(false);
        throw error;
      }
      onEnd?.(true);
      return { done: true, value: undefined };
    } finally {
      steps.settled();
    }
  }

  const iterator: BufferedAsyncIterator<ChatCompletionChunk> = {
    next(): Promise<IteratorResult<ChatCompletionChunk>> {
      // A caller that does not await is queued like an async generator would queue it: one read at a time, in order.
      return steps.run();
    },
    takeBuffered(): ChatCompletionChunk | undefined {
      if (finished || steps.pending > 0) return undefined;
      for (;;) {
        const message = held ?? messages.takeBuffered();
        held = undefined;
        if (message === undefined) return undefined;
        // The end and failures take the asynchronous path (the body is closed, onEnd called): the message waits
        // for the next step, which meets it first.
        if (message.data === '[DONE]') {
          held = message;
          return undefined;
        }
        let chunk: ChatCompletionChunk | undefined;
        try {
          chunk = chunkOf(message);
        } catch {
          held = message;
          return undefined;
        }
        if (chunk !== undefined) return chunk;
      }
    },
    async return(): Promise<IteratorResult<ChatCompletionChunk>> {
      if (!finished) {
        finished = true;
        await messages.return?.();
      }
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
