import { isStreamIdleTimeoutError } from '@gw/stream';
import { isProviderError, type ProviderError, type ProviderErrorKind } from '@gw/providers';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HTTPException } from 'hono/http-exception';
import { isGatewayError } from './gateway-error.ts';
import type { Logger } from './logger.ts';

/** The OpenAI error envelope every error answer uses. */
export interface ErrorEnvelope {
  error: { message: string; type: string; code: string | null; param: string | null };
}

/** What an error becomes on the wire. */
export interface ErrorAnswer {
  status: number;
  body: ErrorEnvelope;
  headers: Record<string, string> | undefined;
  /** False for errors nobody planned for: logged server-side, answered with a generic message. */
  expected: boolean;
}

const STATUS_BY_KIND: Record<ProviderErrorKind, number> = {
  authentication: 401,
  permission: 403,
  not_found: 404,
  invalid_request: 400,
  context_window: 400,
  content_filter: 400,
  rate_limit: 429,
  quota: 429,
  timeout: 504,
  connection: 502,
  overloaded: 502,
  server: 502,
  // Nginx's "client closed request": the client is gone, the status only shows up in logs.
  cancelled: 499,
};

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  499: 'cancelled_error',
  502: 'upstream_error',
  504: 'timeout_error',
};

function envelope(message: string, type: string, code: string | null, param: string | null): ErrorEnvelope {
  return { error: { message, type, code, param } };
}

function fromProviderError(error: ProviderError): ErrorAnswer {
  const upstream = error.status;
  const retryAfter = error.retryAfterMs === undefined ? undefined : { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) };
  // An upstream 4xx is the client's business (bad request, quota...): same status, vendor's words.
  if (upstream !== undefined && upstream >= 400 && upstream < 500) {
    const type = error.type ?? TYPE_BY_STATUS[upstream] ?? 'invalid_request_error';
    return { status: upstream, body: envelope(error.message, type, error.code ?? null, error.param ?? null), headers: retryAfter, expected: true };
  }
  const status = STATUS_BY_KIND[error.kind];
  if (status < 500 || status === 499) {
    const type = error.type ?? TYPE_BY_STATUS[status] ?? 'invalid_request_error';
    return { status, body: envelope(error.message, type, error.code ?? null, error.param ?? null), headers: retryAfter, expected: true };
  }
  const from = error.provider === undefined ? 'upstream provider' : `upstream provider "${error.provider}"`;
  if (status === 504) {
    return { status, body: envelope(`${from} timed out: ${error.message}`, 'timeout_error', 'upstream_timeout', null), headers: undefined, expected: true };
  }
  const code = error.kind === 'connection' ? 'upstream_connection_error' : error.kind === 'overloaded' ? 'upstream_overloaded' : 'upstream_error';
  const detail = upstream === undefined ? error.message : `HTTP ${upstream}: ${error.message}`;
  return { status: 502, body: envelope(`${from} failed (${detail})`, 'upstream_error', code, null), headers: retryAfter, expected: true };
}

/**
 * Maps any error to its HTTP answer in the OpenAI envelope. This is the one place that decides
 * statuses: gateway errors keep theirs; upstream 4xx keep the upstream status and message;
 * upstream 5xx and connection failures become 502, timeouts 504; anything else is a 500 with a
 * generic message (never a stack).
 *
 * @example
 * const { status, body } = describeError(error);
 */
export function describeError(error: unknown): ErrorAnswer {
  if (isGatewayError(error)) {
    return { status: error.status, body: envelope(error.message, error.type, error.code, error.param), headers: error.headers, expected: true };
  }
  if (isProviderError(error)) return fromProviderError(error);
  if (isStreamIdleTimeoutError(error)) {
    return { status: 504, body: envelope(`upstream stream sent nothing for ${error.idleMs} ms`, 'timeout_error', 'stream_idle_timeout', null), headers: undefined, expected: true };
  }
  if (error instanceof HTTPException) {
    const type = TYPE_BY_STATUS[error.status] ?? (error.status >= 500 ? 'server_error' : 'invalid_request_error');
    return { status: error.status, body: envelope(`HTTP ${error.status}`, type, null, null), headers: undefined, expected: error.status < 500 };
  }
  return { status: 500, body: envelope('Internal server error', 'server_error', 'internal_error', null), headers: undefined, expected: false };
}

/**
 * The SSE event that ends a stream which failed after its first byte:
 * `data: {"error":{"message","type","code"}}`. No `[DONE]` follows it.
 *
 * @example
 * toSseStream(source, { onError: (error) => errorEvent(error) });
 */
export function errorEvent(error: unknown): string {
  const { body } = describeError(error);
  return `data: ${JSON.stringify({ error: { message: body.error.message, type: body.error.type, code: body.error.code } })}\n\n`;
}

/**
 * Logs an error the way the gateway wants it seen: unexpected ones at `error` with the stack,
 * planned ones (bad input, upstream refusals) only at `debug`.
 *
 * @example
 * reportError(logger, error, requestId);
 */
export function reportError(logger: Logger, error: unknown, requestId: string | undefined): ErrorAnswer {
  const answer = describeError(error);
  if (!answer.expected) logger.error('request failed unexpectedly', { requestId, error });
  else if (logger.enabled('debug')) logger.debug('request failed', { requestId, status: answer.status, code: answer.body.error.code });
  return answer;
}

/**
 * Hono `onError` handler: the one place an error becomes an HTTP answer.
 *
 * @example
 * app.onError(createErrorHandler(logger));
 */
export function createErrorHandler(logger: Logger): (error: Error, c: Context) => Response {
  return (error, c) => {
    const requestId: unknown = c.get('requestId');
    const answer = reportError(logger, error, typeof requestId === 'string' ? requestId : undefined);
    // Hono types statuses as a literal union; ours come from the tables above or an upstream 4xx.
    return c.json(answer.body, answer.status as ContentfulStatusCode, answer.headers);
  };
}
