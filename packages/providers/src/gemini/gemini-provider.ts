import { randomUUID } from 'node:crypto';
import { decodeSse } from '@gw/stream';
import type { z } from 'zod';
import type { ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse } from '../chat-api.ts';
import type { EmbeddingRequest, EmbeddingResponse } from '../embedding-api.ts';
import type { ErrorContext } from '../openai-compatible/openai-compatible-error.ts';
import {
  DEFAULT_ANSWER_LIMITS,
  providerErrorFromException,
  providerErrorFromMalformed,
} from '../openai-compatible/openai-compatible-error.ts';
import { parseJson } from '../parse-json.ts';
import { isProviderError, ProviderError } from '../provider-error.ts';
import type { CallOptions, HealthCheckResult, ModelInfo, Provider } from '../provider.ts';
import { convertGeminiResponse } from './convert-from-gemini-response.ts';
import { bareGeminiModel, convertToGeminiRequest } from './convert-to-gemini-request.ts';
import {
  geminiBatchEmbedResponseSchema,
  geminiGenerateContentResponseSchema,
  geminiModelListSchema,
} from './gemini-api.ts';
import { providerErrorFromGeminiPayload, providerErrorFromGeminiResponse } from './gemini-error.ts';
import { convertGeminiStream } from './gemini-stream.ts';
import {
  fetchOk,
  jsonRequestInit,
  lowerCaseHeaders,
  parseResponseJson,
  readResponseText,
  timedHealthCheck,
  transportOf,
  withoutTrailingSlashes,
} from '../vendor-http.ts';
import type { AdapterOptions } from '../vendor-http.ts';
import type { Transport, TransportResponse } from '../transport.ts';

/** Options of {@link createGeminiProvider}; the transport carries every call (chat, streams, embeddings, model list). */
export type GeminiProviderOptions = AdapterOptions;

// GET /models pages: Gemini lists ~50 models, so 10 pages of 1000 is far more than any account has.
const MODEL_PAGE_SIZE = 1000;
const MAX_MODEL_PAGES = 10;

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function generatedId(): string {
  return `gemini-${randomUUID()}`;
}

/**
 * The native adapter for Google's Gemini API (`generativelanguage.googleapis.com/v1beta`): converts the canonical
 * OpenAI-shaped calls to `:generateContent`, `:streamGenerateContent?alt=sse`, `:batchEmbedContents` and
 * `GET /models`, authenticating with `x-goog-api-key`. What is mapped and what is dropped is listed on
 * {@link convertToGeminiRequest} and in docs/providers/gemini.md.
 *
 * - Thought signatures: a functionCall part's `thoughtSignature` is appended to the tool call id
 *   (`<id>__thought__<signature>`) and put back on the functionCall part when the id returns in the history.
 * - `reasoning_effort` → `thinkingConfig` (a budget for Gemini 2.5, a level for Gemini 3), with thoughts included.
 * - Embeddings: Gemini reports no token usage for them, so `usage` is zeros; token-array inputs are refused.
 *
 * @example
 * ```ts
 * const provider = createGeminiProvider({ id: 'gemini', baseUrl: 'https://generativelanguage.googleapis.com/v1beta',
 *   apiKey: process.env.GEMINI_API_KEY, headers: undefined, fetch: undefined });
 * const response = await provider.chat({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Hi' }] });
 * ```
 */
export function createGeminiProvider(options: GeminiProviderOptions): Provider {
  const { id, apiKey } = options;
  const base = withoutTrailingSlashes(options.baseUrl);
  const transport: Transport = transportOf(options);
  const baseHeaders = lowerCaseHeaders({}, options.headers ?? {});
  baseHeaders['content-type'] ??= 'application/json';
  if (apiKey) baseHeaders['x-goog-api-key'] = apiKey;

  function contextFor(model: string | undefined): ErrorContext {
    return { provider: id, model, apiKey, secrets: options.secrets, limits: options.limits };
  }

  function modelUrl(model: string, method: string): string {
    return `${base}/models/${encodeURIComponent(bareGeminiModel(model))}:${method}`;
  }

  /** Sends one request (GET without a body); resolves with a 2xx response, throws ProviderError for anything else. */
  function send(
    url: string,
    body: unknown,
    signal: AbortSignal | undefined,
    callOptions: CallOptions | undefined,
    context: ErrorContext,
  ): Promise<TransportResponse> {
    const init = jsonRequestInit(
      baseHeaders,
      body === undefined ? undefined : JSON.stringify(body),
      signal,
      callOptions?.headers,
    );
    return fetchOk(transport, url, init, callOptions, context, providerErrorFromGeminiResponse);
  }

  function convert(request: ChatCompletionRequest) {
    try {
      return convertToGeminiRequest(request);
    } catch (error) {
      if (isProviderError(error)) {
        throw new ProviderError({
          kind: error.kind,
          message: error.message,
          param: error.param,
          provider: id,
          model: request.model,
        });
      }
      throw error;
    }
  }

  async function readJson<T extends z.ZodType>(
    response: TransportResponse,
    schema: T,
    what: string,
    callOptions: CallOptions | undefined,
    context: ErrorContext,
  ): Promise<z.output<T>> {
    return parseResponseJson(await readText(response, callOptions, context), schema, what, context, {
      find: (payload) => providerErrorFromGeminiPayload(payload, context),
      first: true,
    });
  }

  const readText = readResponseText;

  async function chat(request: ChatCompletionRequest, callOptions?: CallOptions): Promise<ChatCompletionResponse> {
    const context = contextFor(request.model);
    const body = convert(request);
    const response = await send(
      modelUrl(request.model, 'generateContent'),
      body,
      callOptions?.signal,
      callOptions,
      context,
    );
    const parsed = await readJson(response, geminiGenerateContentResponseSchema, 'chat response', callOptions, context);
    return convertGeminiResponse(parsed, {
      id: generatedId(),
      model: bareGeminiModel(request.model),
      created: nowSeconds(),
    });
  }

  async function* streamChunks(
    request: ChatCompletionRequest,
    controller: AbortController,
    callOptions: CallOptions | undefined,
    state: { closedByCaller: boolean },
  ): AsyncGenerator<ChatCompletionChunk, void, undefined> {
    const context = contextFor(request.model);
    const callerSignal = callOptions?.signal;
    const forwardAbort = (): void => controller.abort(callerSignal?.reason);
    if (callerSignal?.aborted === true) forwardAbort();
    else callerSignal?.addEventListener('abort', forwardAbort, { once: true });
    let completed = false;
    try {
      const body = convert(request);
      const url = `${modelUrl(request.model, 'streamGenerateContent')}?alt=sse`;
      const response = await send(url, body, controller.signal, callOptions, context);
      if (response.body === null) throw providerErrorFromMalformed('an empty stream', context);
      if (response.headers.get('content-type')?.includes('json') === true) {
        // Without alt=sse Gemini answers a JSON array; decoding that as SSE would silently yield nothing.
        const payload = parseJson(await readText(response, callOptions, context));
        throw (
          providerErrorFromGeminiPayload(payload, context) ??
          providerErrorFromMalformed('a JSON body where an event stream was expected', context)
        );
      }
      const { maxEventSize } = context.limits ?? DEFAULT_ANSWER_LIMITS;
      yield* convertGeminiStream(decodeSse(response.body, { maxEventSize }), {
        context,
        id: generatedId(),
        model: bareGeminiModel(request.model),
        created: nowSeconds(),
      });
      completed = true;
    } catch (error) {
      // return() during a pending read aborts the request; that read then ends quietly instead of failing.
      if (state.closedByCaller) return;
      throw providerErrorFromException(error, callerSignal, context);
    } finally {
      callerSignal?.removeEventListener('abort', forwardAbort);
      if (!completed) controller.abort();
    }
  }

  function chatStream(
    request: ChatCompletionRequest,
    callOptions?: CallOptions,
  ): AsyncIterableIterator<ChatCompletionChunk> {
    const controller = new AbortController();
    const state = { closedByCaller: false };
    // A generator queues return() behind a pending next(); the wrapper aborts the upstream at once instead.
    const chunks = streamChunks(request, controller, callOptions, state);
    const iterator: AsyncIterableIterator<ChatCompletionChunk> = {
      next: () => chunks.next(),
      async return(): Promise<IteratorResult<ChatCompletionChunk>> {
        state.closedByCaller = true;
        controller.abort();
        await chunks.return(undefined);
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  async function embed(request: EmbeddingRequest, callOptions?: CallOptions): Promise<EmbeddingResponse> {
    const context = contextFor(request.model);
    const { input } = request;
    const texts = typeof input === 'string' ? [input] : input.filter((item) => typeof item === 'string');
    if (texts.length === 0 || (Array.isArray(input) && texts.length !== input.length)) {
      throw new ProviderError({
        kind: 'invalid_request',
        message: 'Gemini embeds text only: input must be a string or an array of strings',
        param: 'input',
        provider: id,
        model: request.model,
      });
    }
    const model = `models/${bareGeminiModel(request.model)}`;
    const body = {
      requests: texts.map((text) => ({
        model,
        content: { parts: [{ text }] },
        ...(request.dimensions == null ? {} : { outputDimensionality: request.dimensions }),
      })),
    };
    const url = modelUrl(request.model, 'batchEmbedContents');
    const response = await send(url, body, callOptions?.signal, callOptions, context);
    const parsed = await readJson(
      response,
      geminiBatchEmbedResponseSchema,
      'embeddings response',
      callOptions,
      context,
    );
    const base64 = request.encoding_format === 'base64';
    return {
      object: 'list',
      data: parsed.embeddings.map((embedding, index) => ({
        object: 'embedding',
        index,
        // OpenAI's base64 form: the little-endian float32 bytes of the vector.
        embedding: base64
          ? Buffer.from(new Float32Array(embedding.values).buffer).toString('base64')
          : embedding.values,
      })),
      model: bareGeminiModel(request.model),
      // Gemini's batchEmbedContents reports no token counts.
      usage: { prompt_tokens: 0, total_tokens: 0 },
    };
  }

  async function listModels(callOptions?: CallOptions): Promise<ModelInfo[]> {
    const context = contextFor(undefined);
    const models: ModelInfo[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_MODEL_PAGES; page += 1) {
      const query = new URLSearchParams({ pageSize: String(MODEL_PAGE_SIZE) });
      if (pageToken !== undefined) query.set('pageToken', pageToken);
      const response = await send(
        `${base}/models?${query.toString()}`,
        undefined,
        callOptions?.signal,
        callOptions,
        context,
      );
      const list = await readJson(response, geminiModelListSchema, 'model list', callOptions, context);
      for (const model of list.models ?? []) {
        models.push({ id: bareGeminiModel(model.name), object: 'model', owned_by: 'google' });
      }
      pageToken = list.nextPageToken ?? undefined;
      if (pageToken === undefined || pageToken === '') break;
    }
    return models;
  }

  function healthCheck(callOptions?: CallOptions): Promise<HealthCheckResult> {
    return timedHealthCheck(id, () => listModels(callOptions));
  }

  return { id, kind: 'gemini', chat, chatStream, embed, listModels, healthCheck };
}
