import { randomBytes } from 'node:crypto';
import type { ChatCompletionResponse, Usage } from '../../chat-api.ts';

/** Anthropic's `usage` object. `input_tokens` counts only the uncached input. */
export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  /** What the request cost, in the gateway's reporting currency, when the canonical usage carries one. */
  cost?: number;
}

/** Anthropic's `stop_reason`. */
export type AnthropicStopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal';

/** One content block of an Anthropic answer. */
export type AnthropicResponseBlock =
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown };

/** An Anthropic `Message` (the non-streamed answer of `POST /v1/messages`). */
export interface AnthropicMessageResponse {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: AnthropicResponseBlock[];
  stop_reason: AnthropicStopReason;
  stop_sequence: null;
  usage: AnthropicUsage;
}

/**
 * A fresh Anthropic-style message id, `msg_` and 24 random characters.
 *
 * @example
 * anthropicMessageId(); // 'msg_3kqT0vY…'
 */
export function anthropicMessageId(): string {
  return `msg_${randomBytes(18).toString('base64url')}`;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/**
 * Canonical usage → Anthropic usage: canonical `prompt_tokens` counts every input token, Anthropic's
 * `input_tokens` only those neither read from nor written to the cache, so
 * `input_tokens = prompt_tokens − cached_tokens − cache_creation_tokens`. A numeric `cost` (a gateway's price of
 * the request) passes through.
 *
 * @example
 * toAnthropicUsage({ prompt_tokens: 100, completion_tokens: 5, total_tokens: 105, prompt_tokens_details: { cached_tokens: 60 } });
 * // { input_tokens: 40, output_tokens: 5, cache_read_input_tokens: 60, cache_creation_input_tokens: 0 }
 */
export function toAnthropicUsage(usage: Usage | null | undefined): AnthropicUsage {
  if (usage == null)
    return { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
  const cacheRead = count(usage.prompt_tokens_details?.cached_tokens);
  const cacheCreation = count(usage.prompt_tokens_details?.['cache_creation_tokens']);
  const cost: unknown = usage['cost'];
  return {
    input_tokens: Math.max(0, usage.prompt_tokens - cacheRead - cacheCreation),
    output_tokens: usage.completion_tokens,
    cache_read_input_tokens: cacheRead,
    cache_creation_input_tokens: cacheCreation,
    ...(typeof cost === 'number' ? { cost } : {}),
  };
}

/**
 * Canonical finish reason → Anthropic stop reason: stop → end_turn, length → max_tokens,
 * tool_calls → tool_use, content_filter → refusal. Anything else (or none) is end_turn. OpenAI's
 * `stop` does not say whether a stop sequence matched, so `stop_sequence` is always null.
 *
 * @example
 * toAnthropicStopReason('length'); // 'max_tokens'
 */
export function toAnthropicStopReason(finishReason: string | null | undefined): AnthropicStopReason {
  switch (finishReason) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/**
 * A tool call's JSON arguments as the `input` object Anthropic clients expect. Arguments that are
 * not a JSON object (a model can emit broken JSON) become `{}`: clients index `input` as an object.
 */
function toolInput(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text === '' ? '{}' : text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}

/**
 * Converts a canonical chat completion into an Anthropic `Message`: content blocks thinking
 * (from `reasoning_content`, with an empty signature: only Anthropic can sign), text, then one
 * `tool_use` per tool call. `model` is the model the client asked for.
 *
 * @example
 * return c.json(toAnthropicResponse(await provider.chat(request), { id: anthropicMessageId(), model: 'claude' }));
 */
export function toAnthropicResponse(
  response: ChatCompletionResponse,
  options: { id: string; model: string },
): AnthropicMessageResponse {
  const choice = response.choices[0];
  const message = choice?.message;
  const content: AnthropicResponseBlock[] = [];
  if (message?.reasoning_content != null && message.reasoning_content !== '') {
    content.push({ type: 'thinking', thinking: message.reasoning_content, signature: '' });
  }
  const text = message?.content ?? message?.refusal ?? '';
  if (text !== '') content.push({ type: 'text', text });
  for (const call of message?.tool_calls ?? []) {
    if (call.function == null) continue;
    content.push({
      type: 'tool_use',
      id: call.id,
      name: call.function.name,
      input: toolInput(call.function.arguments),
    });
  }
  return {
    id: options.id,
    type: 'message',
    role: 'assistant',
    model: options.model,
    content,
    stop_reason: toAnthropicStopReason(choice?.finish_reason),
    stop_sequence: null,
    usage: toAnthropicUsage(response.usage),
  };
}
