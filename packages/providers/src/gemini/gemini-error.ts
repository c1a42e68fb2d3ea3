import type { ErrorContext } from '../openai-compatible/openai-compatible-error.ts';
import { cleanCode, cleanMessage } from '../openai-compatible/openai-compatible-error.ts';
import { parseJson } from '../parse-json.ts';
import { kindFromHttpStatus, ProviderError } from '../provider-error.ts';
import type { ProviderErrorKind } from '../provider-error.ts';
import { parseRetryAfter } from '../retry-after.ts';
import { geminiErrorBodySchema } from './gemini-api.ts';
import type { GeminiErrorBody } from './gemini-api.ts';
import type { HeaderLookup } from '../transport.ts';

const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';
const ERROR_INFO_TYPE = 'type.googleapis.com/google.rpc.ErrorInfo';
// Gemini has no error code for an over-long prompt: INVALID_ARGUMENT with this wording is the only signal.
const TOKEN_LIMIT_PATTERN = /exceeds the maximum number of tokens|input token count .* exceeds/i;

type GeminiError = GeminiErrorBody['error'];

/**
 * A protobuf Duration in its JSON form ("34.4s", "2s", "0.5s") in milliseconds; undefined when unreadable.
 *
 * @example
 * ```ts
 * parseGeminiRetryDelay('34.4s'); // 34400
 * ```
 */
export function parseGeminiRetryDelay(delay: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)s$/.exec(delay.trim());
  if (match?.[1] === undefined) return undefined;
  return Math.round(Number(match[1]) * 1000);
}

function retryDelayOf(error: GeminiError): number | undefined {
  for (const detail of error.details ?? []) {
    if (detail['@type'] === RETRY_INFO_TYPE && detail.retryDelay != null)
      return parseGeminiRetryDelay(detail.retryDelay);
  }
  return undefined;
}

function reasonOf(error: GeminiError): string | undefined {
  for (const detail of error.details ?? []) {
    if (detail['@type'] === ERROR_INFO_TYPE && detail.reason != null) return detail.reason;
  }
  return undefined;
}

// The gRPC status name and the ErrorInfo reason say more than the HTTP status; the status decides the rest.
function kindOf(error: GeminiError, status: number | undefined): ProviderErrorKind {
  const reason = reasonOf(error);
  if (reason === 'API_KEY_INVALID' || reason === 'API_KEY_EXPIRED') return 'authentication';
  switch (error.status) {
    case 'INVALID_ARGUMENT':
      return TOKEN_LIMIT_PATTERN.test(error.message ?? '') ? 'context_window' : 'invalid_request';
    case 'UNAUTHENTICATED':
      return 'authentication';
    case 'PERMISSION_DENIED':
      return 'permission';
    case 'NOT_FOUND':
      return 'not_found';
    case 'RESOURCE_EXHAUSTED':
      return 'rate_limit';
    // "Gemini API free tier is not available in your country. Please enable billing": nothing works until the
    // account is paid for, so it is the account's credit, not a retryable limit.
    case 'FAILED_PRECONDITION':
      return 'quota';
    case 'INTERNAL':
      return 'server';
    case 'UNAVAILABLE':
      return 'overloaded';
    case 'DEADLINE_EXCEEDED':
      return 'timeout';
    default: {
      const httpLike = status ?? error.code ?? undefined;
      return httpLike == null ? 'server' : kindFromHttpStatus(httpLike);
    }
  }
}

function fromGeminiError(
  error: GeminiError,
  status: number | undefined,
  retryAfterMs: number | undefined,
  context: ErrorContext,
): ProviderError {
  const reason = reasonOf(error);
  return new ProviderError({
    kind: kindOf(error, status),
    message: cleanMessage(error.message ?? `Gemini answered ${error.status ?? `HTTP ${status ?? 'error'}`}`, context),
    status,
    retryAfterMs: retryDelayOf(error) ?? retryAfterMs,
    provider: context.provider,
    model: context.model,
    code: cleanCode(reason ?? error.status ?? undefined, context),
    type: cleanCode(error.status ?? undefined, context),
  });
}

/**
 * A Gemini HTTP error answer as a ProviderError, mapped by the HTTP status and the `google.rpc.Status` body
 * together (see docs/providers/gemini.md for the table). `retryAfterMs` comes from a RetryInfo detail's
 * `retryDelay`, else from a Retry-After header.
 *
 * @example
 * ```ts
 * throw providerErrorFromGeminiResponse(response, await response.text(), context);
 * ```
 */
export function providerErrorFromGeminiResponse(
  response: { status: number; headers: HeaderLookup },
  bodyText: string,
  context: ErrorContext,
): ProviderError {
  const { status } = response;
  const body = geminiErrorBodySchema.safeParse(parseJson(bodyText));
  if (body.success) return fromGeminiError(body.data.error, status, parseRetryAfter(response.headers), context);
  return new ProviderError({
    kind: kindFromHttpStatus(status),
    message: cleanMessage(bodyText.trim() === '' ? `Upstream answered HTTP ${status}` : bodyText, context),
    status,
    retryAfterMs: parseRetryAfter(response.headers),
    provider: context.provider,
    model: context.model,
  });
}

/**
 * A `{"error":{…}}` payload that arrived with HTTP 200 (inside a stream) as a ProviderError, its `code` (an HTTP
 * status) standing in for the missing one; undefined when the payload is not a Gemini error.
 *
 * @example
 * ```ts
 * const error = providerErrorFromGeminiPayload(JSON.parse(message.data), context);
 * if (error !== undefined) throw error;
 * ```
 */
export function providerErrorFromGeminiPayload(payload: unknown, context: ErrorContext): ProviderError | undefined {
  if (typeof payload !== 'object' || payload === null || Reflect.get(payload, 'error') == null) return undefined;
  const body = geminiErrorBodySchema.safeParse(payload);
  if (!body.success) {
    return new ProviderError({
      kind: 'server',
      message: 'Upstream reported an error of an unexpected shape',
      provider: context.provider,
      model: context.model,
    });
  }
  return fromGeminiError(body.data.error, undefined, undefined, context);
}
