import type { Usage } from '../chat-api.ts';
import type { AnthropicUsage } from './anthropic-api.ts';

/**
 * Anthropic usage in the canonical shape. Anthropic's `input_tokens` excludes cached tokens, so
 * `prompt_tokens` = input + cache_read + cache_creation; cache reads go to `prompt_tokens_details.cached_tokens`,
 * cache writes to `prompt_tokens_details.cache_creation_tokens` (a gw extension), and of them the 1-hour writes to
 * `cache_creation_1h_tokens` (priced apart from the 5-minute ones). `output_tokens` already includes
 * thinking tokens; Anthropic does not report them apart, so `reasoning_tokens` is left out rather than guessed.
 *
 * @example
 * ```ts
 * toCanonicalUsage({ input_tokens: 10, cache_read_input_tokens: 90, output_tokens: 5 });
 * // { prompt_tokens: 100, completion_tokens: 5, total_tokens: 105, prompt_tokens_details: { cached_tokens: 90, cache_creation_tokens: 0 } }
 * ```
 */
export function toCanonicalUsage(usage: AnthropicUsage): Usage {
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const cacheCreation = usage.cache_creation_input_tokens ?? 0;
  const promptTokens = (usage.input_tokens ?? 0) + cacheRead + cacheCreation;
  const completionTokens = usage.output_tokens ?? 0;
  const oneHour = usage.cache_creation?.ephemeral_1h_input_tokens ?? 0;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: {
      cached_tokens: cacheRead,
      cache_creation_tokens: cacheCreation,
      ...(oneHour > 0 ? { cache_creation_1h_tokens: oneHour } : {}),
    },
  };
}
