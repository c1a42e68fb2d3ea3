import { anthropicErrorBody, anthropicErrorEvent, type AnthropicErrorBody } from '@gw/providers/formats';
import { describeError, type ErrorAnswer } from './error-handler.ts';

/**
 * True for the paths that answer in Anthropic's format.
 *
 * @example
 * isAnthropicPath('/v1/messages'); // true
 */
export function isAnthropicPath(path: string): boolean {
  return path === '/v1/messages' || path.startsWith('/v1/messages/');
}

/**
 * An error answer (decided by `describeError`, the one decision table) in Anthropic's envelope
 * `{"type":"error","error":{"type","message"}}`. The status is the same, with one exception: an overloaded upstream
 * (`upstream_overloaded`, 503 in the OpenAI envelope) answers 529 `overloaded_error`, the status Anthropic itself
 * uses and its clients recognise as "overloaded".
 *
 * @example
 * const { status, body } = toAnthropicError(describeError(error));
 */
export function toAnthropicError(answer: ErrorAnswer): { status: number; body: AnthropicErrorBody } {
  const status = answer.body.error.code === 'upstream_overloaded' ? 529 : answer.status;
  return { status, body: anthropicErrorBody(status, answer.body.error.message) };
}

/**
 * The SSE event that ends an Anthropic stream which failed after its first byte.
 *
 * @example
 * streamChat(c, { ..., errorEvent: anthropicErrorEventOf });
 */
export function anthropicErrorEventOf(error: unknown): string {
  return anthropicErrorEvent(toAnthropicError(describeError(error)).body);
}
