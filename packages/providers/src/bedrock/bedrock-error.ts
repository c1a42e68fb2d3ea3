import { parseJson } from '../parse-json.ts';
import type { ErrorContext } from '../openai-compatible/openai-compatible-error.ts';
import { cleanCode, cleanMessage, providerErrorFromResponse } from '../openai-compatible/openai-compatible-error.ts';
import { ProviderError } from '../provider-error.ts';
import type { ProviderErrorKind } from '../provider-error.ts';
import { parseRetryAfter } from '../retry-after.ts';
import { bedrockErrorBodySchema } from './bedrock-api.ts';
import type { HeaderLookup } from '../transport.ts';

// Error types of the Bedrock runtime (API_runtime_Converse.html#API_runtime_Converse_Errors, and the AWS-wide
// authentication errors). ServiceQuotaExceededException is a per-account rate quota (tokens or requests per
// minute) that refills, not exhausted credit, so it is `rate_limit` and retried; AWS has no prepaid balance.
const KIND_BY_TYPE: ReadonlyMap<string, ProviderErrorKind> = new Map<string, ProviderErrorKind>([
  ['ThrottlingException', 'rate_limit'],
  ['ServiceQuotaExceededException', 'rate_limit'],
  ['ServiceUnavailableException', 'overloaded'],
  ['ModelNotReadyException', 'overloaded'],
  ['ModelTimeoutException', 'timeout'],
  ['ValidationException', 'invalid_request'],
  ['AccessDeniedException', 'permission'],
  ['UnrecognizedClientException', 'authentication'],
  ['ExpiredTokenException', 'authentication'],
  ['InvalidSignatureException', 'authentication'],
  ['IncompleteSignatureException', 'authentication'],
  ['MissingAuthenticationTokenException', 'authentication'],
  ['ResourceNotFoundException', 'not_found'],
  ['InternalServerException', 'server'],
  ['ModelErrorException', 'server'],
  ['ModelStreamErrorException', 'server'],
]);

// Bedrock has no code for "input too long": a ValidationException says it in words, so here (and only here) the
// message decides, between invalid_request and context_window.
const INPUT_TOO_LONG =
  /input is too long|too many (?:input )?tokens|prompt is too long|exceeds? the (?:maximum )?context|context (?:length|window)/i;

/** `ThrottlingException:http://internal.amazon.com/coral/…` → `ThrottlingException`; in-stream `throttlingException` too. */
function normaliseType(type: string): string {
  const bare = type.split(':')[0]?.trim() ?? '';
  return bare.charAt(0).toUpperCase() + bare.slice(1);
}

function kindOf(type: string, message: string): ProviderErrorKind | undefined {
  const kind = KIND_BY_TYPE.get(type);
  if (kind === 'invalid_request' && INPUT_TOO_LONG.test(message)) return 'context_window';
  return kind;
}

function messageOf(payload: unknown): string | undefined {
  const body = bedrockErrorBodySchema.safeParse(payload);
  if (!body.success) return undefined;
  return body.data.message ?? body.data.Message ?? undefined;
}

/**
 * A Bedrock HTTP error answer as a ProviderError: the type comes from the `x-amzn-errortype` header (its `:http…`
 * suffix stripped), the message from the body's `message`. An unknown type falls back to the status mapping the
 * OpenAI-compatible adapter uses.
 *
 * @example
 * ```ts
 * providerErrorFromBedrockResponse(response, await response.text(), context).kind; // 'rate_limit' for ThrottlingException
 * ```
 */
export function providerErrorFromBedrockResponse(
  response: { status: number; headers: HeaderLookup },
  bodyText: string,
  context: ErrorContext,
): ProviderError {
  const header = response.headers.get('x-amzn-errortype');
  const type = header === null ? undefined : normaliseType(header);
  const message = messageOf(parseJson(bodyText));
  const kind = type === undefined ? undefined : kindOf(type, message ?? '');
  if (kind === undefined) return providerErrorFromResponse(response, bodyText, context);
  return new ProviderError({
    kind,
    message: cleanMessage(message ?? `Upstream answered HTTP ${response.status} (${type ?? 'no type'})`, context),
    status: response.status,
    retryAfterMs: parseRetryAfter(response.headers),
    provider: context.provider,
    model: context.model,
    code: cleanCode(type, context),
    type: cleanCode(type, context),
  });
}

/**
 * An in-stream event-stream message of type `exception` (`:exception-type: throttlingException` …, payload
 * `{message}`) or `error` (`:error-code`, `:error-message` headers) as a ProviderError.
 *
 * @example
 * ```ts
 * providerErrorFromBedrockException('throttlingException', '{"message":"Too many requests"}', context).kind; // 'rate_limit'
 * ```
 */
export function providerErrorFromBedrockException(
  exceptionType: string,
  payloadText: string,
  context: ErrorContext,
): ProviderError {
  const type = normaliseType(exceptionType);
  const message = messageOf(parseJson(payloadText)) ?? (payloadText.trim() === '' ? undefined : payloadText);
  return new ProviderError({
    kind: kindOf(type, message ?? '') ?? 'server',
    message: cleanMessage(message ?? `Upstream sent ${type} inside the stream`, context),
    provider: context.provider,
    model: context.model,
    code: cleanCode(type, context),
    type: cleanCode(type, context),
  });
}
