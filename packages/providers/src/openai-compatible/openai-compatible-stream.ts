import { decodeSse } from '@gw/stream';
import type { BufferedAsyncIterator, SseMessage } from '@gw/stream';
import { chatCompletionChunkSchema, usageSchema } from '../chat-api.ts';
import type { ChatCompletionChunk, Usage } from '../chat-api.ts';
import { isCanonicalChunk } from '../chunk-shape.ts';
import { chunkFromTemplate, contentTemplateOf, type ContentTemplate } from './content-template.ts';
import { mapFinishReasons } from './map-openai-compatible-finish-reason.ts';
import { rememberChunkWireJson, rememberWireJson } from '../wire-json.ts';
import type { ErrorContext } from './openai-compatible-error.ts';
import {
  DEFAULT_ANSWER_LIMITS,
  providerErrorFromErrorEvent,
  providerErrorFromException,
  providerErrorFromMalformed,
  providerErrorFromPayload,
  providerErrorFromTruncation,
} from './openai-compatible-error.ts';
import { createSerialSteps } from '../serial-steps.ts';
import { isRecord } from '../is-record.ts';
import type { TransportBody } from '../transport.ts';

// Misses in a row after which a stream stops learning content templates.
const MAX_TEMPLATE_MISSES = 3;

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

// Usage reported somewhere else than `chunk.usage`: inside choices[0] (Moonshot has been seen doing it) or in Groq's
// `x_groq.usage`. Moves it to `chunk.usage`; returns whether the chunk changed.
function liftNestedUsage(chunk: ChatCompletionChunk): boolean {
  const choice = chunk.choices[0];
  const xGroq: unknown = chunk['x_groq'];
  const holder = choice?.['usage'] != null ? choice : isRecord(xGroq) && xGroq['usage'] != null ? xGroq : undefined;
  if (holder === undefined) return false;
  const usage = usageSchema.safeParse(holder['usage']);
  if (!usage.success) return false;
  delete holder['usage'];
  chunk.usage ??= usage.data;
  return true;
}

/**
 * An OpenAI-style SSE body (`data: {chunk}` … `data: [DONE]`) as chunks. Throws ProviderError for an error event,
 * an `{"error":…}` payload, an unparsable chunk, or a broken connection. A body that ends without `[DONE]` ends
 * the iteration normally: some compatible servers never send it. Each chunk's wire JSON is kept for
 * `wireJson` when it says the same as the parsed chunk.
 *
 * Usage is normalised so that a stream carries it exactly once, in one usage-only chunk (`choices: []`) after the
 * finish chunk, wherever the vendor put it: its own usage-only chunk (OpenAI, DashScope, Qianfan) passes through;
 * usage on a chunk with choices (DeepSeek and Zhipu put it on the finish chunk; some servers on every chunk,
 * cumulative) is taken off that chunk and the last one seen is sent in a usage-only chunk at the end; usage inside
 * choices[0] or Groq's `x_groq.usage` is lifted first. A second usage-only chunk is dropped. A stream whose vendor
 * reported no usage at all ends without one: inventing zeros would bill the call as free.
 *
 * A hand-written iterator rather than an async generator: this runs once per chunk of every stream, and a
 * generator's own promise and queue machinery cost more than the parsing does.
 */
export function parseOpenAICompatibleStream(
  body: TransportBody,
  options: StreamParseOptions,
): BufferedAsyncIterator<ChatCompletionChunk> {
  const { context, callerSignal, onEnd } = options;
  const messages = decodeSse(body, { maxEventSize: (context.limits ?? DEFAULT_ANSWER_LIMITS).maxEventSize });
  let finished = false;
  // A message takeBuffered() met but could not hand out (the end, a failure): the next step starts with it.
  let held: SseMessage | undefined;
  // Set once the upstream has no more chunks; the pending usage chunk, if any, is still to be handed out.
  let upstreamDone = false;
  // What tells a complete stream from a cut one: `[DONE]`, or a finish_reason (some servers never send [DONE]).
  let sawDone = false;
  let sawFinish = false;
  let sawChunk = false;
  let pendingUsage: Usage | undefined;
  let usageSent = false;
  let lastChunk: ChatCompletionChunk | undefined;
  // Text deltas read without JSON.parse (see content-template.ts). A stream whose chunks never repeat their
  // envelope (OpenAI's random `obfuscation` member) stops trying after a few misses in a row.
  let template: ContentTemplate | undefined;
  let templateMisses = 0;

  /** The usage-only chunk that ends the stream, in the envelope of the chunks before it. */
  function usageChunk(usage: Usage): ChatCompletionChunk {
    return {
      id: lastChunk?.id,
      object: 'chat.completion.chunk',
      created: lastChunk?.created,
      model: lastChunk?.model,
      choices: [],
      usage,
    };
  }

  function noteChunk(chunk: ChatCompletionChunk): void {
    sawChunk = true;
    if (sawFinish) return;
    for (const choice of chunk.choices) if (choice.finish_reason != null) sawFinish = true;
  }

  /** The chunk of one message, `undefined` for one that carries none; throws for a payload that is not a chunk. */
  function chunkOf(message: SseMessage): ChatCompletionChunk | undefined {
    const { data } = message;
    if (message.event === 'error') throw providerErrorFromErrorEvent(data, context);
    if (data === '') return undefined;
    if (template !== undefined) {
      const known = chunkFromTemplate(template, data);
      if (known !== undefined) {
        templateMisses = 0;
        lastChunk = known;
        noteChunk(known);
        // Outside its content the text is the template's, which was kept as wire JSON; the content holds no line break.
        rememberWireJson(known, data);
        return known;
      }
      templateMisses += 1;
      if (templateMisses >= MAX_TEMPLATE_MISSES) template = undefined;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch (cause) {
      throw providerErrorFromMalformed('a stream chunk that is not JSON', context, cause);
    }
    const error = providerErrorFromPayload(payload, context);
    if (error !== undefined) throw error;
    // The common case needs no zod copy (see chunk-shape.ts); the rest is parsed, defaults filled in.
    let parsed: ChatCompletionChunk;
    if (isCanonicalChunk(payload)) {
      parsed = payload;
    } else {
      const chunk = chatCompletionChunkSchema.safeParse(payload);
      if (!chunk.success) {
        const path = chunk.error.issues[0]?.path.join('.') ?? '';
        throw providerErrorFromMalformed(`a stream chunk of an unexpected shape (at "${path}")`, context, chunk.error);
      }
      parsed = chunk.data;
    }
    let changed = liftNestedUsage(parsed);
    if (mapFinishReasons(parsed.choices, context)) changed = true;
    if (parsed.usage != null) {
      if (parsed.choices.length > 0) {
        // Usage on a chunk with choices: held back for the usage-only chunk at the end.
        pendingUsage = parsed.usage;
        delete parsed.usage;
        changed = true;
      } else if (usageSent) {
        return undefined;
      } else {
        usageSent = true;
        pendingUsage = undefined;
      }
    }
    lastChunk = parsed;
    noteChunk(parsed);
    // A template is learnt only from text kept as the chunk's wire JSON, so what is read through it needs no check.
    if (
      !changed &&
      rememberChunkWireJson(parsed, payload, data) &&
      parsed === payload &&
      templateMisses < MAX_TEMPLATE_MISSES
    ) {
      template = contentTemplateOf(parsed, data) ?? template;
    }
    return parsed;
  }

  // One step at a time, in order; each step reports itself over (see serial-steps.ts).
  const steps = createSerialSteps(step);

  // The message loop lives here rather than in a helper: one async frame per chunk instead of two.
  async function step(): Promise<IteratorResult<ChatCompletionChunk>> {
    try {
      if (finished) return { done: true, value: undefined };
      try {
        while (!upstreamDone) {
          // A message decoded from bytes already at hand needs no await (most chunks arrive several to a read).
          let message = held ?? messages.takeBuffered();
          held = undefined;
          if (message === undefined) {
            const next = await messages.next();
            if (next.done === true) {
              upstreamDone = true;
              break;
            }
            message = next.value;
          }
          if (message.data === '[DONE]') {
            upstreamDone = true;
            sawDone = true;
            break;
          }
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
      if (pendingUsage !== undefined && !usageSent) {
        usageSent = true;
        return { done: false, value: usageChunk(pendingUsage) };
      }
      finished = true;
      const cut = !sawChunk ? 'sent no chunk' : !sawDone && !sawFinish ? 'ended without a finish reason' : undefined;
      if (cut !== undefined) {
        await messages.return?.().catch(() => undefined);
        onEnd?.(false);
        throw providerErrorFromTruncation(`The upstream stream ${cut}`, context);
      }
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
      // After the upstream's end only the usage chunk may be left, and the step hands it out.
      if (finished || upstreamDone || steps.pending > 0) return undefined;
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
