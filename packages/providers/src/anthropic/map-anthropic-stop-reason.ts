/** The canonical (OpenAI) finish reasons every adapter maps to. */
export type CanonicalFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/**
 * An Anthropic `stop_reason` as an OpenAI `finish_reason`: end_turn, stop_sequence and pause_turn → stop;
 * max_tokens and model_context_window_exceeded → length; tool_use → tool_calls; refusal → content_filter.
 * A value Anthropic adds later becomes `stop`: the answer did end, and every client understands `stop`.
 *
 * @example
 * ```ts
 * mapAnthropicStopReason('tool_use'); // 'tool_calls'
 * ```
 */
export function mapAnthropicStopReason(stopReason: string | null | undefined): CanonicalFinishReason {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      // end_turn, stop_sequence, pause_turn, and anything unknown.
      return 'stop';
  }
}
