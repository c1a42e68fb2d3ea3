/**
 * A Converse `stopReason` as an OpenAI finish_reason. Values not listed (a new one the service may add) become
 * `stop`: the answer did end, and an unknown word would break clients that switch over OpenAI's four.
 *
 * @example
 * ```ts
 * mapBedrockStopReason('tool_use'); // 'tool_calls'
 * ```
 */
export function mapBedrockStopReason(stopReason: string): 'stop' | 'length' | 'tool_calls' | 'content_filter' {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'content_filtered':
    case 'guardrail_intervened':
      return 'content_filter';
    default:
      // end_turn, stop_sequence, and anything unknown.
      return 'stop';
  }
}
