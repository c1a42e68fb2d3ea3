import { needsAssistantNormalising } from './chat-api.ts';
import type { ChatCompletionChunk, ChatCompletionResponse } from './chat-api.ts';
import { isRecord } from './is-record.ts';

// The fast path of parsing answers, streamed chunks and JSON responses alike. zod checks a chunk by building a copy
// of it, with a result object per field: on a 20-chunk stream that was a quarter of everything the gateway allocated per request. Most chunks already
// are exactly what chatCompletionChunkSchema would return (every default present, every known field of the right
// type), so this check, which allocates nothing, lets the parser use the payload itself; anything it does not
// vouch for goes through zod, which fills defaults and names the bad field. The same holds for responses and
// chatCompletionResponseSchema. chunk-shape.test.ts checks that every payload accepted here parses with zod to an
// equal value.

function isStringOrNullish(value: unknown): boolean {
  return value == null || typeof value === 'string';
}

function isNumberOrNullish(value: unknown): boolean {
  return value == null || typeof value === 'number';
}

function hasNullishNumbers(value: unknown, keys: readonly string[]): boolean {
  if (value == null) return true;
  if (!isRecord(value)) return false;
  for (const key of keys) if (!isNumberOrNullish(value[key])) return false;
  return true;
}

const PROMPT_DETAILS = ['cached_tokens', 'audio_tokens'] as const;
const COMPLETION_DETAILS = [
  'reasoning_tokens',
  'audio_tokens',
  'accepted_prediction_tokens',
  'rejected_prediction_tokens',
] as const;

function isPlainUsage(value: unknown): boolean {
  if (value == null) return true;
  if (!isRecord(value)) return false;
  // total_tokens is required: when it is missing the schema computes it, so the payload is not the result.
  return (
    typeof value['prompt_tokens'] === 'number' &&
    typeof value['completion_tokens'] === 'number' &&
    typeof value['total_tokens'] === 'number' &&
    hasNullishNumbers(value['prompt_tokens_details'], PROMPT_DETAILS) &&
    hasNullishNumbers(value['completion_tokens_details'], COMPLETION_DETAILS)
  );
}

function isPlainToolCallDelta(value: unknown): boolean {
  if (!isRecord(value)) return false;
  if (!isNumberOrNullish(value['index']) || !isStringOrNullish(value['id']) || !isStringOrNullish(value['type']))
    return false;
  const fn = value['function'];
  return fn == null || (isRecord(fn) && isStringOrNullish(fn['name']) && isStringOrNullish(fn['arguments']));
}

/**
 * A choice whose turn (a chunk's `delta`, a response's `message`) is already what the schema returns: every known
 * field of its type, nothing to rename or join, each tool call passing `isPlainCall`.
 */
function isPlainChoice(value: unknown, turnKey: 'delta' | 'message', isPlainCall: (call: unknown) => boolean): boolean {
  if (!isRecord(value) || typeof value['index'] !== 'number' || !isStringOrNullish(value['finish_reason']))
    return false;
  const turn = value[turnKey];
  // A turn the schema rewrites (`reasoning` renamed, Mistral's content chunks joined) is not its own result.
  if (!isRecord(turn) || needsAssistantNormalising(turn)) return false;
  if (
    !isStringOrNullish(turn['role']) ||
    !isStringOrNullish(turn['content']) ||
    !isStringOrNullish(turn['refusal']) ||
    !isStringOrNullish(turn['reasoning_content'])
  ) {
    return false;
  }
  const toolCalls = turn['tool_calls'];
  if (toolCalls == null) return true;
  if (!Array.isArray(toolCalls)) return false;
  for (const call of toolCalls) if (!isPlainCall(call)) return false;
  return true;
}

// A response's tool call: id, name and arguments are required there, unlike in a streamed delta.
function isPlainResponseToolCall(value: unknown): boolean {
  if (!isRecord(value) || typeof value['id'] !== 'string' || !isStringOrNullish(value['type'])) return false;
  const fn = value['function'];
  return fn == null || (isRecord(fn) && typeof fn['name'] === 'string' && typeof fn['arguments'] === 'string');
}

/** The members a chunk and a response share: ids, names and usage, each of the schema's type. */
function hasPlainEnvelope(payload: Record<string, unknown>): boolean {
  return (
    isStringOrNullish(payload['id']) &&
    isStringOrNullish(payload['object']) &&
    isNumberOrNullish(payload['created']) &&
    isStringOrNullish(payload['model']) &&
    isStringOrNullish(payload['system_fingerprint']) &&
    isStringOrNullish(payload['service_tier']) &&
    isPlainUsage(payload['usage'])
  );
}

function hasPlainChoices(
  payload: unknown,
  turnKey: 'delta' | 'message',
  isPlainCall: (call: unknown) => boolean,
): boolean {
  if (!isRecord(payload) || !hasPlainEnvelope(payload)) return false;
  const choices = payload['choices'];
  if (!Array.isArray(choices)) return false;
  for (const choice of choices) if (!isPlainChoice(choice, turnKey, isPlainCall)) return false;
  return true;
}

/**
 * Internal (for stream parsers): true when `payload` already is what `chatCompletionChunkSchema.parse(payload)`
 * would return, so the payload can be used as the chunk without zod's copy. False says nothing about validity:
 * the caller then parses with zod, which fills defaults or reports the bad field.
 */
export function isCanonicalChunk(payload: unknown): payload is ChatCompletionChunk {
  return hasPlainChoices(payload, 'delta', isPlainToolCallDelta);
}

/**
 * Internal (for adapters): the same as {@link isCanonicalChunk} for a non-streamed answer and
 * `chatCompletionResponseSchema`.
 */
export function isCanonicalResponse(payload: unknown): payload is ChatCompletionResponse {
  return hasPlainChoices(payload, 'message', isPlainResponseToolCall);
}
