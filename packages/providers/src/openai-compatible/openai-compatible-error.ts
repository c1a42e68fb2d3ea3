import { isSseEventTooLargeError } from '@gw/stream';
import { z } from 'zod';
import { parseJson } from '../parse-json.ts';
import { isPoolTimeoutError } from '../pool-timeout-error.ts';
import { isProviderError, kindFromHttpStatus, ProviderError } from '../provider-error.ts';
import type { ProviderErrorKind } from '../provider-error.ts';
import { scrubVendorText } from '../redact-secrets.ts';
import { parseRetryAfter } from '../retry-after.ts';
import type { HeaderLookup } from '../transport.ts';

/** Who was called, for the fields of the error, for redaction, and for the limits of reading the answer. */
export interface ErrorContext {
  provider: string;
  model: string | undefined;
  apiKey: string | undefined;
  /**
   * The vendor's own codes (from `code` or `type`) that say more than the HTTP status, e.g. Zhipu's numeric codes;
   * consulted before the shared table (see vendor-quirks.ts). Kept per kind because numeric codes collide.
   */
  codeKinds?: ReadonlyMap<string, ProviderErrorKind> | undefined;
  /**
   * Other values to scrub from everything the vendor sends back (Bedrock's secret access key and session token, and
   * the provider's `secrets`: every secret a server holds).
   */
  secrets?: ReadonlyArray<string | undefined> | undefined;
  /** How much of an answer is read, and how long a JSON body may pause; default {@link DEFAULT_ANSWER_LIMITS}. */
  limits?: AnswerLimits | undefined;
}

/** How much of an upstream answer an adapter reads, and how long it waits for more of a JSON body. */
export interface AnswerLimits {
  /** Most bytes of a JSON answer (or an error answer's body) read into memory. */
  maxResponseBytes: number;
  /** Most characters of one streamed event (an SSE event; bytes of a Bedrock event-stream message). */
  maxEventSize: number;
  /** A JSON body that sends nothing for this long, once its head has arrived, fails as a timeout; none when unset. */
  bodyIdleTimeoutMs: number | undefined;
}

/** The limits of a provider that sets none: 64 MiB per JSON answer, 16 Mi characters per streamed event. */
export const DEFAULT_ANSWER_LIMITS: AnswerLimits = {
  maxResponseBytes: 64 * 1024 * 1024,
  maxEventSize: 16 * 1024 * 1024,
  bodyIdleTimeoutMs: undefined,
};

const MAX_MESSAGE_LENGTH = 1000;
// A vendor's code, type or param is a short identifier; anything longer is cut.
const MAX_CODE_LENGTH = 200;

const codeSchema = z.union([z.string(), z.number()]).nullish();

// Error bodies seen from OpenAI-compatible servers, most common first.
const envelopeSchema = z.looseObject({
  error: z.union([
    z.looseObject({
      message: z.string().nullish(),
      type: z.string().nullish(),
      code: codeSchema,
      param: z.string().nullish(),
      // Gemini's compatibility layer puts the gRPC status name here; Azure the HTTP status as a number.
      status: z.union([z.string(), z.number()]).nullish(),
    }),
    z.string(),
  ]),
});
const topLevelSchema = z.looseObject({ message: z.string(), code: codeSchema, type: z.string().nullish() });
const detailSchema = z.looseObject({ detail: z.string() });
const baiduLegacySchema = z.looseObject({ error_code: z.union([z.string(), z.number()]), error_msg: z.string() });

interface VendorError {
  message: string | undefined;
  type: string | undefined;
  code: string | undefined;
  param: string | undefined;
}

function readVendorError(payload: unknown): VendorError | undefined {
  const body: unknown = Array.isArray(payload) ? payload[0] : payload;
  const envelope = envelopeSchema.safeParse(body);
  if (envelope.success) {
    const { error } = envelope.data;
    if (typeof error === 'string') return { message: error, type: undefined, code: undefined, param: undefined };
    return {
      message: error.message ?? undefined,
      type: error.type ?? (typeof error.status === 'string' ? error.status : undefined),
      code: error.code == null ? undefined : String(error.code),
      param: error.param ?? undefined,
    };
  }
  const topLevel = topLevelSchema.safeParse(body);
  if (topLevel.success) {
    const { message, type, code } = topLevel.data;
    return { message, type: type ?? undefined, code: code == null ? undefined : String(code), param: undefined };
  }
  const detail = detailSchema.safeParse(body);
  if (detail.success) return { message: detail.data.detail, type: undefined, code: undefined, param: undefined };
  const baidu = baiduLegacySchema.safeParse(body);
  if (baidu.success) {
    return { message: baidu.data.error_msg, type: undefined, code: String(baidu.data.error_code), param: undefined };
  }
  return undefined;
}

// Vendor codes that say more than the HTTP status does. Checked against both `code` and `type`.
const KIND_BY_CODE: ReadonlyMap<string, ProviderErrorKind> = new Map<string, ProviderErrorKind>([
  ['context_length_exceeded', 'context_window'],
  ['content_filter', 'content_filter'],
  ['content_policy_violation', 'content_filter'],
  ['insufficient_quota', 'quota'],
  // Zhipu: 1113 is an exhausted balance (sent as 429), 1301 unsafe content. Kept in the shared table (unlike
  // Zhipu's other numeric codes, see vendor-quirks.ts) for Zhipu reached through kind `openai-compatible`.
  ['1113', 'quota'],
  ['1301', 'content_filter'],
  // Volcengine Ark (Doubao): string codes that no other vendor uses, so they are safe to share.
  ['QuotaExceeded', 'quota'],
  ['AccountOverdueError', 'quota'],
  ['ServerOverloaded', 'overloaded'],
  ['InputTextRiskDetection', 'content_filter'],
  ['OutputTextRiskDetection', 'content_filter'],
  ['SensitiveContentDetected', 'content_filter'],
  ['ModelAccountRpmRateLimitExceeded', 'rate_limit'],
  ['ModelAccountTpmRateLimitExceeded', 'rate_limit'],
  // DashScope.
  ['data_inspection_failed', 'content_filter'],
  ['DataInspectionFailed', 'content_filter'],
  ['Arrearage', 'quota'],
  // Moonshot puts these in `type`.
  ['exceeded_current_quota_error', 'quota'],
  ['rate_limit_reached_error', 'rate_limit'],
]);

// Code families matched by shape: Ark's `<Scope>RPMExceeded` / `<Scope>TPMExceeded` (AccountRateLimitExceeded,
// ModelAccountRpmRateLimitExceeded…) and DashScope's `Throttling`, `Throttling.RateQuota`, `Throttling.User`…
// An exhausted allocation (`Throttling.AllocationQuota`) is a rate limit too: it refills with the next window.
function kindFromCodeFamily(code: string): ProviderErrorKind | undefined {
  if (
    /(?:RPM|TPM|Rpm|Tpm)(?:RateLimit)?Exceeded$/.test(code) ||
    code === 'Throttling' ||
    code.startsWith('Throttling.')
  ) {
    return 'rate_limit';
  }
  return undefined;
}

// Last resort, for servers that report an over-long prompt with a bare 400 and no code (vLLM, Ollama, llama.cpp,
// older compatible servers): the message is all there is. Only consulted for 400/413 answers without a known code.
const CONTEXT_WINDOW_MESSAGE =
  /maximum context length|context length exceeded|context_length_exceeded|exceeds? the (?:model'?s? )?(?:maximum )?context|exceeded model token limit|prompt is too long|input (?:is )?too long|too large for model/i;

// Only consulted when there is no HTTP status to go by (an error inside a 200 stream).
const KIND_BY_TYPE: ReadonlyMap<string, ProviderErrorKind> = new Map<string, ProviderErrorKind>([
  ['invalid_request_error', 'invalid_request'],
  ['authentication_error', 'authentication'],
  ['permission_error', 'permission'],
  ['not_found_error', 'not_found'],
  ['rate_limit_error', 'rate_limit'],
  ['rate_limit_exceeded', 'rate_limit'],
  ['overloaded_error', 'overloaded'],
  ['server_error', 'server'],
  ['api_error', 'server'],
  ['timeout_error', 'timeout'],
  ['billing_error', 'quota'],
]);

function kindOfCode(code: string | undefined, context: ErrorContext): ProviderErrorKind | undefined {
  if (code === undefined) return undefined;
  return context.codeKinds?.get(code) ?? KIND_BY_CODE.get(code) ?? kindFromCodeFamily(code);
}

function kindFromCode(vendor: VendorError | undefined, context: ErrorContext): ProviderErrorKind | undefined {
  if (vendor === undefined) return undefined;
  return kindOfCode(vendor.code, context) ?? kindOfCode(vendor.type, context);
}

function kindFromMessage(
  status: number,
  vendor: VendorError | undefined,
  fallback: string,
): ProviderErrorKind | undefined {
  if (status !== 400 && status !== 413) return undefined;
  return CONTEXT_WINDOW_MESSAGE.test(vendor?.message ?? fallback) ? 'context_window' : undefined;
}

function secretsOf(context: ErrorContext): ReadonlyArray<string | undefined> {
  return context.secrets === undefined ? [context.apiKey] : [context.apiKey, ...context.secrets];
}

/**
 * A vendor message fit for an error: trimmed, the API key, every other secret of the context and bearer tokens
 * redacted, then cut to a sane length.
 *
 * @example
 * const message = cleanMessage(vendor.message, context);
 */
export function cleanMessage(message: string, context: ErrorContext): string {
  return scrubVendorText(message, secretsOf(context), MAX_MESSAGE_LENGTH);
}

/**
 * A vendor's error code, type or param (or a header it sent) fit for an error: redacted like a message, then cut to
 * 200 characters; `undefined` stays so.
 *
 * @example
 * const code = cleanCode(vendor.code, context);
 */
export function cleanCode(value: string | undefined, context: ErrorContext): string | undefined {
  return value === undefined ? undefined : scrubVendorText(value, secretsOf(context), MAX_CODE_LENGTH);
}

/**
 * An HTTP error answer (status + body text) as a ProviderError: kind from the vendor's code where it says more
 * than the status (context_length_exceeded, insufficient_quota…), else from the status.
 */
export function providerErrorFromResponse(
  response: { status: number; headers: HeaderLookup },
  bodyText: string,
  context: ErrorContext,
): ProviderError {
  const { status } = response;
  const vendor = readVendorError(parseJson(bodyText));
  const fallback = bodyText.trim() === '' ? `Upstream answered HTTP ${status}` : bodyText;
  return new ProviderError({
    kind: kindFromCode(vendor, context) ?? kindFromMessage(status, vendor, fallback) ?? kindFromHttpStatus(status),
    message: cleanMessage(vendor?.message ?? fallback, context),
    status,
    retryAfterMs: parseRetryAfter(response.headers),
    provider: context.provider,
    model: context.model,
    code: cleanCode(vendor?.code, context),
    param: cleanCode(vendor?.param, context),
    type: cleanCode(vendor?.type, context),
  });
}

/**
 * An `{"error":…}` payload that arrived with HTTP 200 (inside a stream, or as a JSON body) as a ProviderError;
 * undefined when the payload is not an error.
 */
export function providerErrorFromPayload(payload: unknown, context: ErrorContext): ProviderError | undefined {
  if (typeof payload !== 'object' || payload === null || Reflect.get(payload, 'error') == null) return undefined;
  const vendor = readVendorError(payload);
  // Some vendors put an HTTP-like status in `code` (Gemini: 429); it is the best hint there is.
  const numericCode = vendor?.code === undefined ? Number.NaN : Number(vendor.code);
  const statusLike = Number.isInteger(numericCode) && numericCode >= 400 && numericCode < 600 ? numericCode : undefined;
  const kind =
    kindFromCode(vendor, context) ??
    (statusLike === undefined ? undefined : kindFromHttpStatus(statusLike)) ??
    (vendor?.type === undefined ? undefined : KIND_BY_TYPE.get(vendor.type)) ??
    'server';
  return new ProviderError({
    kind,
    message: cleanMessage(vendor?.message ?? 'Upstream reported an error without a message', context),
    provider: context.provider,
    model: context.model,
    code: cleanCode(vendor?.code, context),
    param: cleanCode(vendor?.param, context),
    type: cleanCode(vendor?.type, context),
  });
}

/**
 * An SSE `event: error` (sent by some servers with HTTP 200) as a ProviderError. Its data is usually
 * `{"error":{…}}`, sometimes bare text.
 */
export function providerErrorFromErrorEvent(data: string, context: ErrorContext): ProviderError {
  return (
    providerErrorFromPayload(parseJson(data), context) ??
    new ProviderError({
      kind: 'server',
      message: cleanMessage(data.trim() === '' ? 'Upstream sent an error event' : data, context),
      provider: context.provider,
      model: context.model,
    })
  );
}

/** A malformed answer (not JSON, wrong shape) as a ProviderError. Not retryable: the same call gets the same answer. */
export function providerErrorFromMalformed(what: string, context: ErrorContext, cause?: unknown): ProviderError {
  return new ProviderError({
    kind: 'server',
    message: cleanMessage(`Upstream sent ${what}`, context),
    retryable: false,
    provider: context.provider,
    model: context.model,
    cause,
  });
}

/**
 * A stream that ended cleanly without its format's end marker (a finish reason or `[DONE]`, Anthropic's
 * message_stop, Gemini's finishReason, Bedrock's messageStop), or with no chunk at all: a cut answer must not pass
 * for a complete one. Kind `server`, code `stream_truncated`; retryable (only a call that has sent nothing yet is
 * ever tried again).
 */
export function providerErrorFromTruncation(message: string, context: ErrorContext): ProviderError {
  return new ProviderError({
    kind: 'server',
    code: 'stream_truncated',
    message,
    provider: context.provider,
    model: context.model,
  });
}

// undici's code for its time limit on an answer's head (the HTTP transport's headersTimeoutMs).
const HEADERS_TIMEOUT_CODE = 'UND_ERR_HEADERS_TIMEOUT';

/**
 * An answer larger than the provider's limits (`maxResponseBytes` for a JSON body, `maxEventSize` for one streamed
 * event): kind `server`, code `upstream_response_too_large`. Not retryable: the same call would likely bring the same
 * answer, and each try costs memory and money.
 *
 * @example
 * throw providerErrorFromOversize('a JSON answer larger than 67108864 bytes', context);
 */
export function providerErrorFromOversize(what: string, context: ErrorContext): ProviderError {
  return new ProviderError({
    kind: 'server',
    code: 'upstream_response_too_large',
    message: `Upstream sent ${what}; it was not read further`,
    retryable: false,
    provider: context.provider,
    model: context.model,
  });
}

function findSystemCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth += 1) {
    const code: unknown = Reflect.get(current, 'code');
    if (typeof code === 'string') return code;
    current = Reflect.get(current, 'cause');
  }
  return undefined;
}

/**
 * A thrown error (fetch failure, socket closed mid-body, abort) as a ProviderError: `cancelled` when the caller's
 * signal fired (`timeout` when that signal was an AbortSignal.timeout), `overloaded` with code `pool_timeout` when
 * the transport found no free connection in time, `timeout` when the transport's own time limit for the answer's
 * head ran out, {@link providerErrorFromOversize}'s error for a streamed event past `maxEventSize`, else
 * `connection`.
 *
 * @example
 * throw providerErrorFromException(error, callOptions?.signal, context);
 */
export function providerErrorFromException(
  error: unknown,
  callerSignal: AbortSignal | undefined,
  context: ErrorContext,
): ProviderError {
  if (isProviderError(error)) return error;
  const base = { provider: context.provider, model: context.model };
  if (callerSignal?.aborted === true) {
    const reason: unknown = callerSignal.reason;
    if (reason instanceof DOMException && reason.name === 'TimeoutError') {
      return new ProviderError({ ...base, kind: 'timeout', message: 'The call timed out', cause: reason });
    }
    return new ProviderError({ ...base, kind: 'cancelled', message: 'The call was cancelled', cause: reason });
  }
  if (isPoolTimeoutError(error)) {
    // Nothing was sent: every connection to the upstream was busy. Another deployment (or a later try) may have room.
    return new ProviderError({
      ...base,
      kind: 'overloaded',
      code: error.code,
      message: error.message,
      retryable: true,
      cause: error,
    });
  }
  if (isSseEventTooLargeError(error)) {
    return providerErrorFromOversize(`a stream event longer than ${error.maxEventSize} characters`, context);
  }
  const code = findSystemCode(error);
  if (code === HEADERS_TIMEOUT_CODE) {
    return new ProviderError({
      ...base,
      kind: 'timeout',
      code: 'first_byte_timeout',
      message: 'The upstream did not begin its answer in time',
      cause: error,
    });
  }
  return new ProviderError({
    ...base,
    kind: 'connection',
    message:
      code === undefined ? 'The connection to the upstream failed' : `The connection to the upstream failed (${code})`,
    cause: error,
  });
}
