import { parseJson } from '../parse-json.ts';
import { kindFromHttpStatus, ProviderError } from '../provider-error.ts';
import type { ProviderErrorKind } from '../provider-error.ts';
import { parseRetryAfter } from '../retry-after.ts';
import type { ErrorContext } from '../openai-compatible/openai-compatible-error.ts';
import { cleanCode, cleanMessage } from '../openai-compatible/openai-compatible-error.ts';
import { anthropicErrorBodySchema } from './anthropic-api.ts';
import type { HeaderLookup } from '../transport.ts';

// Anthropic's error types (https://docs.anthropic.com/en/api/errors). The type says more than the status: a
// billing_error comes as 400 or 402, and a 413 request_too_large is a bad request, not a rate limit.
const KIND_BY_TYPE: ReadonlyMap<string, ProviderErrorKind> = new Map<string, ProviderErrorKind>([
  ['invalid_request_error', 'invalid_request'],
  ['authentication_error', 'authentication'],
  ['permission_error', 'permission'],
  ['not_found_error', 'not_found'],
  ['request_too_large', 'invalid_request'],
  ['billing_error', 'quota'],
  ['rate_limit_error', 'rate_limit'],
  ['api_error', 'server'],
  ['timeout_error', 'timeout'],
  ['overloaded_error', 'overloaded'],
]);

// Anthropic has no error code for an over-long prompt: it is an invalid_request_error whose message says
// "prompt is too long: 215000 tokens > 200000 maximum" (or, for max_tokens, "…exceed context limit…"). Matching
// the message is the only way to tell it apart, and the one place this adapter reads message text.
const CONTEXT_WINDOW_MESSAGE = /prompt is too long|context limit|context window|input is too long/i;

function kindOf(type: string | undefined, status: number | undefined, message: string | undefined): ProviderErrorKind {
  const byType = type === undefined ? undefined : KIND_BY_TYPE.get(type);
  const kind = byType ?? (status === undefined ? 'server' : kindFromHttpStatus(status));
  if (kind === 'invalid_request' && type !== 'request_too_large' && message !== undefined) {
    if (CONTEXT_WINDOW_MESSAGE.test(message)) return 'context_window';
  }
  return kind;
}

interface AnthropicErrorFields {
  type: string | undefined;
  message: string | undefined;
  requestId: string | undefined;
}

function readError(payload: unknown): AnthropicErrorFields | undefined {
  const parsed = anthropicErrorBodySchema.safeParse(payload);
  if (!parsed.success) return undefined;
  return {
    type: parsed.data.error.type,
    message: parsed.data.error.message ?? undefined,
    requestId: parsed.data.request_id ?? undefined,
  };
}

/**
 * An HTTP error answer of the Messages API as a ProviderError: the kind from the error type and the status
 * together, `retryAfterMs` from `retry-after-ms` / `retry-after`, the vendor's type kept as both `type` and
 * `code` (Anthropic has no separate code).
 *
 * @example
 * ```ts
 * const error = anthropicErrorFromResponse(response, await response.text(), context);
 * error.kind; // 'overloaded' for a 529 overloaded_error
 * ```
 */
export function anthropicErrorFromResponse(
  response: { status: number; headers: HeaderLookup },
  bodyText: string,
  context: ErrorContext,
): ProviderError {
  const { status } = response;
  const vendor = readError(parseJson(bodyText));
  const fallback = bodyText.trim() === '' ? `Upstream answered HTTP ${status}` : bodyText;
  return new ProviderError({
    kind: kindOf(vendor?.type, status, vendor?.message),
    message: cleanMessage(vendor?.message ?? fallback, context),
    status,
    retryAfterMs: parseRetryAfter(response.headers),
    provider: context.provider,
    model: context.model,
    code: cleanCode(vendor?.type, context),
    type: cleanCode(vendor?.type, context),
  });
}

/**
 * An `event: error` inside a 200 stream (e.g. `overloaded_error` mid-answer) as a ProviderError; there is no
 * status, so the kind comes from the error type alone (an unknown type is `server`).
 *
 * @example
 * ```ts
 * throw anthropicErrorFromEvent('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', context);
 * ```
 */
export function anthropicErrorFromEvent(data: string, context: ErrorContext): ProviderError {
  const vendor = readError(parseJson(data));
  return new ProviderError({
    kind: kindOf(vendor?.type, undefined, vendor?.message),
    message: cleanMessage(vendor?.message ?? (data.trim() === '' ? 'Upstream sent an error event' : data), context),
    provider: context.provider,
    model: context.model,
    code: cleanCode(vendor?.type, context),
    type: cleanCode(vendor?.type, context),
  });
}
