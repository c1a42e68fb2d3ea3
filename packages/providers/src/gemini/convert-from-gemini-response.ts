import type { ChatCompletionChoice, ChatCompletionResponse, Usage } from '../chat-api.ts';
import { THOUGHT_SIGNATURE_SEPARATOR } from './convert-to-gemini-request.ts';
import type { GeminiCandidate, GeminiGenerateContentResponse, GeminiPart, GeminiUsageMetadata } from './gemini-api.ts';
import { mapGeminiFinishReason } from './map-gemini-finish-reason.ts';

/** An OpenAI tool call converted from one functionCall part. */
export interface ConvertedToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/**
 * Gemini's usageMetadata as canonical usage: the prompt counts tool-use prompt tokens too, the completion counts
 * thoughts too. Gemini's promptTokenCount already includes cached tokens. Missing counts are 0.
 *
 * @example
 * ```ts
 * convertGeminiUsage({ promptTokenCount: 9, candidatesTokenCount: 3, thoughtsTokenCount: 20 });
 * // { prompt_tokens: 9, completion_tokens: 23, total_tokens: 32, … reasoning_tokens: 20 }
 * ```
 */
export function convertGeminiUsage(metadata: GeminiUsageMetadata | null | undefined): Usage {
  const prompt = (metadata?.promptTokenCount ?? 0) + (metadata?.toolUsePromptTokenCount ?? 0);
  const reasoning = metadata?.thoughtsTokenCount ?? 0;
  const completion = (metadata?.candidatesTokenCount ?? 0) + reasoning;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: metadata?.cachedContentTokenCount ?? 0 },
    completion_tokens_details: { reasoning_tokens: reasoning },
  };
}

/**
 * The tool call of a functionCall part. The id is the part's own id, else `call_<index>`; a thought signature on
 * the part is appended to the id (see THOUGHT_SIGNATURE_SEPARATOR) so it survives the round trip.
 *
 * @example
 * ```ts
 * convertFunctionCallPart({ functionCall: { name: 'f', args: { a: 1 } }, thoughtSignature: 'c2ln' }, 0);
 * // { id: 'call_0__thought__c2ln', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }
 * ```
 */
export function convertFunctionCallPart(part: GeminiPart, index: number): ConvertedToolCall | undefined {
  const call = part.functionCall;
  if (call == null) return undefined;
  const baseId = call.id ?? `call_${index}`;
  const id = part.thoughtSignature == null ? baseId : `${baseId}${THOUGHT_SIGNATURE_SEPARATOR}${part.thoughtSignature}`;
  return { id, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.args ?? {}) } };
}

/**
 * Text, reasoning and tool calls of some parts; `firstCallIndex` numbers calls across a stream.
 *
 * @example
 * ```ts
 * splitParts([{ text: 'hm', thought: true }, { text: 'Hi' }], 0); // { content: 'Hi', reasoning: 'hm', toolCalls: [] }
 * ```
 */
export function splitParts(parts: readonly GeminiPart[], firstCallIndex: number) {
  let content = '';
  let reasoning = '';
  const toolCalls: ConvertedToolCall[] = [];
  for (const part of parts) {
    const call = convertFunctionCallPart(part, firstCallIndex + toolCalls.length);
    if (call !== undefined) toolCalls.push(call);
    else if (part.text != null && part.thought === true) reasoning += part.text;
    else if (part.text != null) content += part.text;
  }
  return { content, reasoning, toolCalls };
}

function convertCandidate(candidate: GeminiCandidate, position: number): ChatCompletionChoice {
  const { content, reasoning, toolCalls } = splitParts(candidate.content?.parts ?? [], 0);
  const message: ChatCompletionChoice['message'] = {
    role: 'assistant',
    content: toolCalls.length > 0 && content === '' ? null : content,
  };
  if (reasoning !== '') message.reasoning_content = reasoning;
  if (toolCalls.length > 0) message.tool_calls = toolCalls.map((call) => ({ ...call }));
  return {
    index: candidate.index ?? position,
    message,
    // A candidate without a finishReason only happens mid-stream; a whole response always has one.
    finish_reason: mapGeminiFinishReason(candidate.finishReason ?? 'STOP', toolCalls.length > 0),
  };
}

/**
 * A whole GenerateContentResponse as a `chat.completion`. A prompt blocked before generation
 * (`promptFeedback.blockReason`, no candidates) is one empty choice with finish_reason `content_filter`.
 *
 * @example
 * ```ts
 * const completion = convertGeminiResponse(parsed, { id: 'gemini-1', model: 'gemini-2.5-flash', created: 1731400000 });
 * ```
 */
export function convertGeminiResponse(
  response: GeminiGenerateContentResponse,
  fallback: { id: string; model: string; created: number },
): ChatCompletionResponse {
  const candidates = response.candidates ?? [];
  const choices =
    candidates.length > 0
      ? candidates.map(convertCandidate)
      : [
          {
            index: 0,
            message: { role: 'assistant', content: '' },
            finish_reason: response.promptFeedback?.blockReason == null ? 'stop' : 'content_filter',
          },
        ];
  return {
    id: response.responseId ?? fallback.id,
    object: 'chat.completion',
    created: fallback.created,
    model: response.modelVersion ?? fallback.model,
    choices,
    usage: convertGeminiUsage(response.usageMetadata),
  };
}
