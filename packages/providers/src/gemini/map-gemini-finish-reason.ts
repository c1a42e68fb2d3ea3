/** The canonical finish reasons every adapter answers with. */
export type CanonicalFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

const CONTENT_FILTER_REASONS: ReadonlySet<string> = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
]);

/**
 * Gemini's `finishReason` as an OpenAI finish_reason. Gemini has no reason of its own for tool calls: a candidate
 * that stops (STOP) with functionCall parts is `tool_calls`. MALFORMED_FUNCTION_CALL (the model wrote a call that
 * did not parse) and UNEXPECTED_TOOL_CALL become `stop`: the text the candidate holds is still worth returning,
 * and an error would hide it. Unknown values (FINISH_REASON_UNSPECIFIED, OTHER, LANGUAGE, reasons added later)
 * become `stop` as well.
 *
 * @example
 * ```ts
 * mapGeminiFinishReason('MAX_TOKENS', false); // 'length'
 * mapGeminiFinishReason('STOP', true); // 'tool_calls'
 * ```
 */
export function mapGeminiFinishReason(reason: string, hasFunctionCalls: boolean): CanonicalFinishReason {
  if (reason === 'MAX_TOKENS') return 'length';
  if (CONTENT_FILTER_REASONS.has(reason)) return 'content_filter';
  return hasFunctionCalls ? 'tool_calls' : 'stop';
}
