import { describeError, type ErrorAnswer } from '../error-handler.ts';

/** Anthropic's error envelope. */
export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
}

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  503: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

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
 * `{"type":"error","error":{"type","message"}}`. The status is the same, with one exception: an
 * overloaded upstream (`upstream_overloaded`, 503 in the OpenAI envelope) answers 529
 * `overloaded_error`, the status Anthropic itself uses and its clients recognise as "overloaded".
 * Types follow Anthropic's list; other 4xx are `invalid_request_error`, other 5xx `api_error`.
 *
 * @example
 * const { status, body } = toAnthropicError(describeError(error));
 */
export function toAnthropicError(answer: ErrorAnswer): { status: number; body: AnthropicErrorBody } {
  const status = answer.body.error.code === 'upstream_overloaded' ? 529 : answer.status;
  const type = TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  return { status, body: { type: 'error', error: { type, message: answer.body.error.message } } };
}

/**
 * The SSE event that ends an Anthropic stream which failed after its first byte:
 * `event: error` + `data: {"type":"error","error":{"type","message"}}`.
 *
 * @example
 * pipeSseToNode(relay, response, { onError: anthropicErrorEvent });
 */
export function anthropicErrorEvent(error: unknown): string {
  const { body } = toAnthropicError(describeError(error));
  return `event: error\ndata: ${JSON.stringify(body)}\n\n`;
}
