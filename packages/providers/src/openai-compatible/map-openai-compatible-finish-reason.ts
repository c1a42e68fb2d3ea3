import { ProviderError } from '../provider-error.ts';
import type { ErrorContext } from './openai-compatible-error.ts';

// finish_reason values of OpenAI-compatible vendors that are not OpenAI's. OpenAI's own (stop, length, tool_calls,
// content_filter, function_call) and any value we do not know pass through unchanged: OpenAI-compatible clients
// accept any string there, and a value we rewrote to `stop` would hide what the vendor meant.
// - `sensitive` (Zhipu; Hunyuan with stream moderation): the answer was cut by the safety system → content_filter.
// - Zhipu `network_error`: the model failed mid-answer; the text so far is not an answer → a ProviderError.
const MAPPED: ReadonlyMap<string, string> = new Map([['sensitive', 'content_filter']]);
const FAILED: ReadonlySet<string> = new Set(['network_error']);

/**
 * Internal: the canonical finish_reason for a vendor's value; throws a `server` ProviderError for a value that
 * reports a failure (Zhipu's `network_error`).
 *
 * @example
 * ```ts
 * mapFinishReason('sensitive', context); // 'content_filter'
 * mapFinishReason('normal', context); // 'normal' (unknown values pass through)
 * ```
 */
export function mapFinishReason<T extends string | null | undefined>(value: T, context: ErrorContext): T | string {
  if (value == null) return value;
  if (FAILED.has(value)) {
    throw new ProviderError({
      kind: 'server',
      message: `Upstream ended the answer with finish_reason "${value}"`,
      provider: context.provider,
      model: context.model,
      code: value,
    });
  }
  return MAPPED.get(value) ?? value;
}

/**
 * Internal: maps the finish reasons of a response's or a chunk's choices in place (they are ours); returns whether
 * any changed, so that the caller knows the wire JSON no longer describes them.
 *
 * @example
 * ```ts
 * if (!mapFinishReasons(response.choices, context)) rememberWireJson(response, text);
 * ```
 */
export function mapFinishReasons(
  choices: Array<{ finish_reason?: string | null | undefined }>,
  context: ErrorContext,
): boolean {
  let changed = false;
  for (const choice of choices) {
    const mapped = mapFinishReason(choice.finish_reason, context);
    if (mapped !== choice.finish_reason) {
      choice.finish_reason = mapped;
      changed = true;
    }
  }
  return changed;
}
