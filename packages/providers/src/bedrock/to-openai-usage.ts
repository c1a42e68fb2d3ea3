import type { Usage } from '../chat-api.ts';
import type { BedrockUsage } from './bedrock-api.ts';

/**
 * Bedrock usage in the canonical shape: `prompt_tokens` counts every input token (inputTokens, which excludes the
 * cache, plus cacheReadInputTokens and cacheWriteInputTokens), cache reads and writes go to
 * `prompt_tokens_details.cached_tokens` / `cache_creation_tokens`. Converse reports no separate reasoning count:
 * thinking tokens are inside outputTokens.
 *
 * @example
 * ```ts
 * toOpenAIUsage({ inputTokens: 10, outputTokens: 5, cacheReadInputTokens: 90 }).prompt_tokens; // 100
 * ```
 */
export function toOpenAIUsage(usage: BedrockUsage): Usage {
  const cacheRead = usage.cacheReadInputTokens ?? 0;
  const cacheWrite = usage.cacheWriteInputTokens ?? 0;
  const prompt = usage.inputTokens + cacheRead + cacheWrite;
  const result: Usage = {
    prompt_tokens: prompt,
    completion_tokens: usage.outputTokens,
    total_tokens: prompt + usage.outputTokens,
  };
  if (usage.cacheReadInputTokens != null || usage.cacheWriteInputTokens != null) {
    result.prompt_tokens_details = { cached_tokens: cacheRead, cache_creation_tokens: cacheWrite };
  }
  return result;
}
