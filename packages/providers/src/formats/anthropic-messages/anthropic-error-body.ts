/** Anthropic's error envelope: `{"type":"error","error":{"type","message"}}`. */
export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
}

// Anthropic's error types by HTTP status (https://docs.anthropic.com/en/api/errors).
const TYPE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
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
 * An error in Anthropic's envelope for an HTTP status; other 4xx are `invalid_request_error`, other 5xx
 * `api_error`.
 *
 * @example
 * anthropicErrorBody(429, 'Slow down'); // { type: 'error', error: { type: 'rate_limit_error', message: 'Slow down' } }
 */
export function anthropicErrorBody(status: number, message: string): AnthropicErrorBody {
  const type = TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  return { type: 'error', error: { type, message } };
}

/**
 * The SSE event that ends an Anthropic stream which failed after its first byte: `event: error` and the envelope.
 *
 * @example
 * anthropicErrorEvent(anthropicErrorBody(529, 'Overloaded'));
 */
export function anthropicErrorEvent(body: AnthropicErrorBody): string {
  return `event: error\ndata: ${JSON.stringify(body)}\n\n`;
}
