import type { z } from 'zod';
import type { AnswerLimits, ErrorContext } from './openai-compatible/openai-compatible-error.ts';
import {
  DEFAULT_ANSWER_LIMITS,
  providerErrorFromException,
  providerErrorFromMalformed,
  providerErrorFromOversize,
} from './openai-compatible/openai-compatible-error.ts';
import { parseJson } from './parse-json.ts';
import { BodyReadStopped, readBodyText } from './read-body-text.ts';
import { isProviderError, ProviderError } from './provider-error.ts';
import type { CallOptions, HealthCheckResult } from './provider.ts';
import { sharedHttpTransport } from './shared-http-transport.ts';
import { readerOf } from './body-reader.ts';
import type { Transport, TransportRequest, TransportResponse } from './transport.ts';

// What every adapter does the same way around its HTTP calls: header merging, reading a body, checking a JSON
// answer against its schema, timing a health check. Internal to the package.

/** What every HTTP adapter is built from; `createProvider` fills it from the config. */
export interface AdapterOptions {
  id: string;
  baseUrl: string;
  apiKey: string | undefined;
  /** Extra headers on every request (e.g. Anthropic's `anthropic-beta`). */
  headers: Record<string, string> | undefined;
  /** A `fetch` of the caller's own, used as the transport when no `transport` is given. */
  fetch: typeof globalThis.fetch | undefined;
  /** Sends every HTTP call of the adapter (see transport.ts); default the shared HTTP client. */
  transport?: Transport | undefined;
  /** More values to scrub from what the vendor sends back (see `ProviderConfig.secrets`). */
  secrets?: readonly string[] | undefined;
  /** How much of an answer is read; default {@link DEFAULT_ANSWER_LIMITS}. */
  limits?: AnswerLimits | undefined;
}

/**
 * What sends an adapter's calls: its `transport`, else its `fetch` (a `Response` is a `TransportResponse`), else the
 * HTTP client shared by every provider of the process.
 *
 * @example
 * const transport = transportOf(options);
 */
export function transportOf(options: {
  transport?: Transport | undefined;
  fetch?: typeof globalThis.fetch | undefined;
}): Transport {
  return options.transport ?? options.fetch ?? sharedHttpTransport;
}

/**
 * `url` without the slashes it ends with (a loop: a regular expression for this is quadratic on a long run of slashes).
 *
 * @example
 * withoutTrailingSlashes('https://api.openai.com/v1/'); // 'https://api.openai.com/v1'
 */
export function withoutTrailingSlashes(url: string): string {
  let end = url.length;
  while (end > 0 && url.charCodeAt(end - 1) === 0x2f) end -= 1;
  return url.slice(0, end);
}

/**
 * Copies `source` into `target` with lower-cased names, so that a per-call header replaces a configured one whatever
 * case either was written in. Returns `target`.
 *
 * @example
 * const headers = lowerCaseHeaders({ ...baseHeaders }, callOptions.headers);
 */
export function lowerCaseHeaders(
  target: Record<string, string>,
  source: Record<string, string> | undefined,
): Record<string, string> {
  if (source === undefined) return target;
  for (const name of Object.keys(source)) {
    const value = source[name];
    if (value !== undefined) target[name.toLowerCase()] = value;
  }
  return target;
}

/**
 * A JSON POST (or a GET without body) with the adapter's headers, a call's own headers over them, and its signal.
 *
 * @example
 * const init = jsonRequestInit(baseHeaders, JSON.stringify(body), signal, callOptions?.headers);
 */
export function jsonRequestInit(
  baseHeaders: Record<string, string>,
  body: string | undefined,
  signal: AbortSignal | undefined,
  callHeaders: Record<string, string> | undefined,
): TransportRequest {
  const init: TransportRequest = {
    method: body === undefined ? 'GET' : 'POST',
    headers: callHeaders === undefined ? baseHeaders : lowerCaseHeaders({ ...baseHeaders }, callHeaders),
  };
  if (body !== undefined) init.body = body;
  if (signal !== undefined) init.signal = signal;
  return init;
}

/**
 * Sends through `send` (the adapter's transport) and resolves with a 2xx response. A failure to connect (or
 * the caller's abort) and any other status become a `ProviderError`, the latter through the vendor's own
 * `errorFromResponse` with the body's text.
 *
 * @example
 * const response = await fetchOk(transport, url, init, callOptions, context, anthropicErrorFromResponse);
 */
export async function fetchOk<R extends TransportResponse>(
  send: (url: string, request: TransportRequest) => Promise<R>,
  url: string,
  init: TransportRequest,
  callOptions: CallOptions | undefined,
  context: ErrorContext,
  errorFromResponse: (response: R, text: string, context: ErrorContext) => ProviderError,
): Promise<R> {
  let response: R;
  try {
    response = await send(url, init);
  } catch (error) {
    throw providerErrorFromException(error, callOptions?.signal, context);
  }
  if (response.ok) return response;
  throw errorFromResponse(response, await readResponseText(response, callOptions, context), context);
}

/**
 * The body of a response as text, within the context's limits: a body (by its `Content-Length`, else as it is
 * read) larger than `maxResponseBytes` is not read further, its connection is closed and the call fails with
 * code `upstream_response_too_large`; a body that pauses longer than `bodyIdleTimeoutMs` fails as a `timeout`. A
 * connection that breaks while it is read (or the caller's abort) is a `ProviderError` like any other failure of
 * the call.
 *
 * @example
 * const text = await readResponseText(response, callOptions, context);
 */
export async function readResponseText(
  response: TransportResponse,
  callOptions: CallOptions | undefined,
  context: ErrorContext,
): Promise<string> {
  const limits = context.limits ?? DEFAULT_ANSWER_LIMITS;
  const tooLarge = (): ProviderError =>
    providerErrorFromOversize(`an answer larger than ${limits.maxResponseBytes} bytes`, context);
  const { body } = response;
  if (body === null) return '';
  const declared = response.headers.get('content-length');
  if (declared !== null && Number(declared) > limits.maxResponseBytes) {
    // Refused from its head: not a byte of it is held.
    await readerOf(body)
      .cancel()
      .catch(() => undefined);
    throw tooLarge();
  }
  try {
    return await readBodyText(body, { maxBytes: limits.maxResponseBytes, idleMs: limits.bodyIdleTimeoutMs });
  } catch (error) {
    if (error instanceof BodyReadStopped) {
      if (error.reason === 'too_large') throw tooLarge();
      throw new ProviderError({
        kind: 'timeout',
        code: 'body_idle_timeout',
        message: `The upstream answer paused for more than ${limits.bodyIdleTimeoutMs} ms`,
        provider: context.provider,
        model: context.model,
      });
    }
    throw providerErrorFromException(error, callOptions?.signal, context);
  }
}

/**
 * A model name as one segment of an upstream URL's path (Azure deployments, Bedrock model ids): percent-encoded, and
 * refused when it is `.` or `..`, which a URL would resolve against the path before it (`deployments/..` is the
 * parent of `deployments`), whatever their encoding. A `ProviderError` of kind `invalid_request`, code
 * `invalid_model_name`, param `model`.
 *
 * @example
 * const url = `${root}/openai/deployments/${modelPathSegment(model, context)}/chat/completions`;
 */
export function modelPathSegment(model: string, context: ErrorContext): string {
  if (model === '.' || model === '..') {
    throw new ProviderError({
      kind: 'invalid_request',
      code: 'invalid_model_name',
      message: `The model name ${JSON.stringify(model)} cannot be sent as a path segment`,
      param: 'model',
      provider: context.provider,
      model,
    });
  }
  return encodeURIComponent(model);
}

/** How {@link parseResponseJson} looks for an error answered with HTTP 200. */
export interface ErrorInPayload {
  /** The vendor's error in the payload, if it is one. */
  find: (payload: unknown) => ProviderError | undefined;
  /** Look before the schema (a loose schema would take the error body for an answer); default only when it fails. */
  first?: boolean;
}

/**
 * Parses a 2xx body and checks it against `schema`. `errorIn` finds an error answered with HTTP 200 (thrown when
 * found); a body that is not JSON, or not of the schema's shape, is a `server` ProviderError naming `what` and the
 * first bad field.
 *
 * @example
 * const message = parseResponseJson(text, anthropicMessageSchema, 'Messages response', context);
 */
export function parseResponseJson<T extends z.ZodType>(
  text: string,
  schema: T,
  what: string,
  context: ErrorContext,
  errorIn?: ErrorInPayload,
): z.output<T> {
  return checkResponsePayload(parseJson(text), schema, what, context, errorIn);
}

/**
 * {@link parseResponseJson} for a body already parsed (`undefined`: it was not JSON).
 *
 * @example
 * const payload = parseJson(text);
 * if (isCanonicalResponse(payload)) return payload;
 * return checkResponsePayload(payload, chatCompletionResponseSchema, 'chat completion', context, errorIn);
 */
export function checkResponsePayload<T extends z.ZodType>(
  payload: unknown,
  schema: T,
  what: string,
  context: ErrorContext,
  errorIn?: ErrorInPayload,
): z.output<T> {
  if (payload === undefined) throw providerErrorFromMalformed(`a ${what} that is not JSON`, context);
  if (errorIn?.first === true) {
    const error = errorIn.find(payload);
    if (error !== undefined) throw error;
  }
  const result = schema.safeParse(payload);
  if (result.success) return result.data;
  throw (
    (errorIn?.first === true ? undefined : errorIn?.find(payload)) ??
    providerErrorFromMalformed(
      `a ${what} of an unexpected shape (at "${result.error.issues[0]?.path.join('.') ?? ''}")`,
      context,
      result.error,
    )
  );
}

/**
 * Runs `probe` (usually the model list) and times it; never throws: a failure is `{ ok: false, error }`.
 *
 * @example
 * const healthCheck = (callOptions) => timedHealthCheck(id, () => listModels(callOptions));
 */
export async function timedHealthCheck(provider: string, probe: () => Promise<unknown>): Promise<HealthCheckResult> {
  const started = performance.now();
  try {
    await probe();
    return { ok: true, latencyMs: performance.now() - started };
  } catch (error) {
    const providerError = isProviderError(error)
      ? error
      : new ProviderError({ kind: 'server', message: 'Health check failed', provider, cause: error });
    return { ok: false, latencyMs: performance.now() - started, error: providerError };
  }
}
