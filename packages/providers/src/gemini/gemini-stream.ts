import type { SseMessage } from '@gw/stream';
import type { ChatCompletionChunk, ChatCompletionChunkChoice } from '../chat-api.ts';
import type { ErrorContext } from '../openai-compatible/openai-compatible-error.ts';
import {
  providerErrorFromMalformed,
  providerErrorFromTruncation,
} from '../openai-compatible/openai-compatible-error.ts';
import { convertGeminiUsage, splitParts } from './convert-from-gemini-response.ts';
import { geminiGenerateContentResponseSchema } from './gemini-api.ts';
import type { GeminiGenerateContentResponse, GeminiUsageMetadata } from './gemini-api.ts';
import { providerErrorFromGeminiPayload } from './gemini-error.ts';
import { mapGeminiFinishReason } from './map-gemini-finish-reason.ts';

/** What the stream converter needs besides the messages. */
export interface GeminiStreamOptions {
  context: ErrorContext;
  /** Used until Gemini's first event names its responseId / modelVersion. */
  id: string;
  model: string;
  created: number;
}

type Delta = ChatCompletionChunkChoice['delta'];

interface CandidateState {
  roleSent: boolean;
  toolCalls: number;
  finished: boolean;
}

function parseEvent(data: string, context: ErrorContext): GeminiGenerateContentResponse {
  let payload: unknown;
  try {
    payload = JSON.parse(data);
  } catch (cause) {
    throw providerErrorFromMalformed('a stream chunk that is not JSON', context, cause);
  }
  const error = providerErrorFromGeminiPayload(payload, context);
  if (error !== undefined) throw error;
  const parsed = geminiGenerateContentResponseSchema.safeParse(payload);
  if (!parsed.success) {
    const path = parsed.error.issues[0]?.path.join('.') ?? '';
    throw providerErrorFromMalformed(`a stream chunk of an unexpected shape (at "${path}")`, context, parsed.error);
  }
  return parsed.data;
}

/**
 * Gemini's `streamGenerateContent?alt=sse` events (each a whole GenerateContentResponse, no `[DONE]`) as OpenAI
 * chunks: per event and candidate, a reasoning delta, a content delta and a tool_calls delta (a functionCall part
 * arrives whole: id, name and complete arguments in one delta), the first carrying `role: 'assistant'`; the
 * finish_reason on the event that has Gemini's finishReason. When the events end, one usage-only chunk
 * (`choices: []`) with the last usageMetadata seen. Throws ProviderError for an `{"error":…}` event, an event
 * that does not parse, and a stream that ends before every candidate had its finishReason (`stream_truncated`).
 *
 * @example
 * ```ts
 * for await (const chunk of convertGeminiStream(decodeSse(response.body), options)) console.log(chunk);
 * ```
 */
export async function* convertGeminiStream(
  messages: AsyncIterable<SseMessage>,
  options: GeminiStreamOptions,
): AsyncGenerator<ChatCompletionChunk, void, undefined> {
  const { context, created } = options;
  let { id, model } = options;
  let usage: GeminiUsageMetadata | null | undefined;
  const states = new Map<number, CandidateState>();
  const stateOf = (index: number): CandidateState => {
    let state = states.get(index);
    if (state === undefined) {
      state = { roleSent: false, toolCalls: 0, finished: false };
      states.set(index, state);
    }
    return state;
  };
  const chunk = (choices: ChatCompletionChunkChoice[]): ChatCompletionChunk => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices,
  });
  const withRole = (state: CandidateState, delta: Delta): Delta => {
    if (state.roleSent) return delta;
    state.roleSent = true;
    return { role: 'assistant', ...delta };
  };

  for await (const message of messages) {
    if (message.data === '') continue;
    const event = parseEvent(message.data, context);
    if (event.responseId != null) id = event.responseId;
    if (event.modelVersion != null) model = event.modelVersion;
    if (event.usageMetadata != null) usage = event.usageMetadata;
    const candidates = event.candidates ?? [];
    if (candidates.length === 0 && event.promptFeedback?.blockReason != null) {
      const state = stateOf(0);
      if (!state.finished) {
        state.finished = true;
        yield chunk([{ index: 0, delta: withRole(state, { content: '' }), finish_reason: 'content_filter' }]);
      }
      continue;
    }
    for (const [position, candidate] of candidates.entries()) {
      const index = candidate.index ?? position;
      const state = stateOf(index);
      const { content, reasoning, toolCalls } = splitParts(candidate.content?.parts ?? [], state.toolCalls);
      const deltas: Delta[] = [];
      if (reasoning !== '') deltas.push({ reasoning_content: reasoning });
      if (content !== '') deltas.push({ content });
      if (toolCalls.length > 0) {
        deltas.push({
          tool_calls: toolCalls.map((call, offset) => ({ index: state.toolCalls + offset, ...call })),
        });
        state.toolCalls += toolCalls.length;
      }
      const finishReason =
        candidate.finishReason == null ? null : mapGeminiFinishReason(candidate.finishReason, state.toolCalls > 0);
      if (finishReason !== null) state.finished = true;
      for (const [at, delta] of deltas.entries()) {
        const last = at === deltas.length - 1;
        yield chunk([{ index, delta: withRole(state, delta), finish_reason: last ? finishReason : null }]);
      }
      if (deltas.length === 0 && finishReason !== null) {
        yield chunk([{ index, delta: withRole(state, {}), finish_reason: finishReason }]);
      }
    }
  }
  // Gemini always ends each candidate with a finishReason: a stream without one was cut, not finished.
  if (states.size === 0) throw providerErrorFromTruncation('The Gemini stream sent no candidate', context);
  if ([...states.values()].some((state) => !state.finished)) {
    throw providerErrorFromTruncation('The Gemini stream ended without a finishReason', context);
  }
  yield { ...chunk([]), usage: convertGeminiUsage(usage) };
}
