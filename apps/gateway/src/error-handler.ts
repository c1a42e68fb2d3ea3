import { isLimiterStoppedError, isQueueFullError, isQueueTimeoutError } from '@gw/ratelimit';
import { isBrokenCircuitError, isBulkheadRejectedError, isTimeoutError } from '@gw/retry';
import { isStreamIdleTimeoutError } from '@gw/stream';
import { isProviderError, type ProviderError, type ProviderErrorKind } from '@gw/providers';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HTTPException } from 'hono/http-exception';
import { isGatewayError } from './gateway-error.ts';
import type { Logger } from './observability/logger.ts';

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

// The decision table for upstream failures, by kind. Authentication, permission, not_found and
// invalid_request keep the upstream's own 4xx when there is one (see fromProviderError).
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
  // 503 rather than 502: the upstream is healthy but shedding load, and clients retry a 503 later.
  overloaded: 503,
  server: 502,
  // Nginx's "client closed request": the client is gone, the status only shows up in logs.
  cancelled: 499,
};

// Kinds whose code is ours, whatever the vendor called it, so a client can branch on one value per kind.
const CODE_BY_KIND: Partial<Record<ProviderErrorKind, string>> = {
  quota: 'insufficient_quota',
  context_window: 'context_length_exceeded',
  content_filter: 'content_filter',
};

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  499: 'cancelled_error',
  502: 'upstream_error',
  503: 'upstream_error',
  504: 'timeout_error',
};

function envelope(message: string, type: string, code: string | null, param: string | null): ErrorEnvelope {
  return { error: { message, type, code, param } };
}

// The upstream statuses whose meaning is the client's business: passed through as they came.
const PASS_THROUGH_KINDS: ReadonlySet<ProviderErrorKind> = new Set<ProviderErrorKind>([
  'authentication',
  'permission',
  'not_found',
  'invalid_request',
]);

// An answer past the upstream limits is refused by the adapter itself (no upstream status): said by its own code.
function badGatewayCode(error: ProviderError): string {
  if (error.kind === 'connection') return 'upstream_connection_error';
  if (error.status === undefined && error.code === 'upstream_response_too_large') return 'upstream_response_too_large';
  return 'upstream_error';
}

function fromProviderError(error: ProviderError): ErrorAnswer {
  const upstream = error.status;
  const retryAfter =
    error.retryAfterMs === undefined
      ? undefined
      : { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) };
  const passThrough = PASS_THROUGH_KINDS.has(error.kind) && upstream !== undefined && upstream >= 400 && upstream < 500;
  const status = passThrough ? upstream : STATUS_BY_KIND[error.kind];
  if (status < 500 || status === 499) {
    // quota → type insufficient_quota like OpenAI's own answer; other kinds keep the vendor's type when it gave one.
    const type =
      error.kind === 'quota' ? 'insufficient_quota' : (error.type ?? TYPE_BY_STATUS[status] ?? 'invalid_request_error');
    const code = CODE_BY_KIND[error.kind] ?? error.code ?? null;
    return {
      status,
      body: envelope(error.message, type, code, error.param ?? null),
      headers: retryAfter,
      expected: true,
    };
  }
  const from = error.provider === undefined ? 'upstream provider' : `upstream provider "${error.provider}"`;
  if (status === 504) {
    return {
      status,
      body: envelope(`${from} timed out: ${error.message}`, 'timeout_error', 'upstream_timeout', null),
      headers: undefined,
      expected: true,
    };
  }
  const detail = upstream === undefined ? error.message : `HTTP ${upstream}: ${error.message}`;
  if (status === 503) {
    return {
      status,
      body: envelope(`${from} is overloaded (${detail})`, 'upstream_error', 'upstream_overloaded', null),
      headers: retryAfter,
      expected: true,
    };
  }
  return {
    status: 502,
    body: envelope(`${from} failed (${detail})`, 'upstream_error', badGatewayCode(error), null),
    headers: retryAfter,
    expected: true,
  };
}

// What the gateway's own policies refuse with (queues, breakers, per-attempt timeouts): 503 or 504, said plainly.
function fromResilienceError(error: unknown): ErrorAnswer | undefined {
  const unavailable = (message: string, code: string, retryAfterMs?: number): ErrorAnswer => ({
    status: 503,
    body: envelope(message, 'service_unavailable_error', code, null),
    headers:
      retryAfterMs === undefined ? undefined : { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
    expected: true,
  });
  if (isQueueFullError(error)) return unavailable(error.message, 'queue_full');
  if (isQueueTimeoutError(error)) return unavailable(error.message, 'queue_timeout');
  if (isLimiterStoppedError(error)) return unavailable(error.message, 'shutting_down');
  if (isBrokenCircuitError(error))
    return unavailable(`upstream deployment unavailable: ${error.message}`, 'circuit_open', error.retryAfterMs);
  if (isBulkheadRejectedError(error)) return unavailable(error.message, 'bulkhead_full');
  if (isTimeoutError(error)) {
    return {
      status: 504,
      body: envelope(`upstream timed out: ${error.message}`, 'timeout_error', 'upstream_timeout', null),
      headers: undefined,
      expected: true,
    };
  }
  return undefined;
}

/**
 * Maps any error to its HTTP answer in the OpenAI envelope. This is the one place that decides
 * statuses (the Anthropic envelope of /v1/messages is derived from this answer): gateway errors keep
 * theirs; upstream rate limits and exhausted quota 429 (code `insufficient_quota` for quota),
 * overloaded 503 (`upstream_overloaded`), timeouts 504, context window and content filter 400
 * (`context_length_exceeded`, `content_filter`); authentication, permission, not-found and
 * invalid-request 4xx keep the upstream status and message; other upstream failures (5xx,
 * connection, unexpected statuses) become 502; anything else is a 500 with a generic message
 * (never a stack).
 *
 * @example
 * const { status, body } = describeError(error);
 */
export function describeError(error: unknown): ErrorAnswer {
  if (isGatewayError(error)) {
    return {
      status: error.status,
      body: envelope(error.message, error.type, error.code, error.param),
      headers: error.headers,
      expected: true,
    };
  }
  if (isProviderError(error)) return fromProviderError(error);
  const resilience = fromResilienceError(error);
  if (resilience !== undefined) return resilience;
  if (isStreamIdleTimeoutError(error)) {
    return {
      status: 504,
      body: envelope(
        `upstream stream sent nothing for ${error.idleMs} ms`,
        'timeout_error',
        'stream_idle_timeout',
        null,
      ),
      headers: undefined,
      expected: true,
    };
  }
  if (error instanceof HTTPException) {
    const type = TYPE_BY_STATUS[error.status] ?? (error.status >= 500 ? 'server_error' : 'invalid_request_error');
    return {
      status: error.status,
      body: envelope(`HTTP ${error.status}`, type, null, null),
      headers: undefined,
      expected: error.status < 500,
    };
  }
  return {
    status: 500,
    body: envelope('Internal server error', 'server_error', 'internal_error', null),
    headers: undefined,
    expected: false,
  };
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
 * planned ones (bad input, upstream refusals) only at `debug`. `clientGone`: the client has left, so an error
 * nobody planned for is the raw reason of the abort that tore its upstream call down; it is answered (to nobody)
 * and logged as a 499 `client_closed_request`, at `debug`.
 *
 * @example
 * reportError(logger, error, requestId, c.req.raw.signal.aborted);
 */
export function reportError(
  logger: Logger,
  error: unknown,
  requestId: string | undefined,
  clientGone = false,
): ErrorAnswer {
  const described = describeError(error);
  const answer: ErrorAnswer =
    clientGone && !described.expected
      ? {
          status: 499,
          body: envelope('The client closed the request.', 'cancelled_error', 'client_closed_request', null),
          headers: undefined,
          expected: true,
        }
      : described;
  if (!answer.expected) logger.error('request failed unexpectedly', { requestId, error });
  else if (logger.enabled('debug'))
    logger.debug('request failed', { requestId, status: answer.status, code: answer.body.error.code });
  return answer;
}

/** An error answer in another wire format's envelope (status may differ, headers are kept). */
export interface ReshapedAnswer {
  status: number;
  body: unknown;
}

/** Options for {@link createErrorHandler}. */
export interface ErrorHandlerOptions {
  /**
   * Re-shapes the answer for routes that speak another wire format (e.g. Anthropic's envelope on
   * `/v1/messages`); `undefined` keeps the OpenAI envelope. The status decision stays here.
   */
  reshape?: (path: string, answer: ErrorAnswer) => ReshapedAnswer | undefined;
}

/**
 * Hono `onError` handler: the one place an error becomes an HTTP answer, in the OpenAI envelope
 * unless `reshape` gives another for the route.
 *
 * @example
 * app.onError(createErrorHandler(logger, { reshape: (path, answer) => (isAnthropicPath(path) ? toAnthropicError(answer) : undefined) }));
 */
export function createErrorHandler(
  logger: Logger,
  options: ErrorHandlerOptions = {},
): (error: Error, c: Context) => Response {
  return (error, c) => {
    const requestId: unknown = c.get('requestId');
    const answer = reportError(
      logger,
      error,
      typeof requestId === 'string' ? requestId : undefined,
      c.req.raw.signal.aborted,
    );
    const reshaped = options.reshape?.(c.req.path, answer);
    // Hono types statuses as a literal union; ours come from the tables above or an upstream 4xx.
    if (reshaped !== undefined) return c.json(reshaped.body, reshaped.status as ContentfulStatusCode, answer.headers);
    return c.json(answer.body, answer.status as ContentfulStatusCode, answer.headers);
  };
}
