import type { z } from 'zod';
import type { BufferedAsyncIterator } from '@gw/stream';
import { chatCompletionResponseSchema } from '../chat-api.ts';
import type { ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse } from '../chat-api.ts';
import { embeddingResponseSchema } from '../embedding-api.ts';
import type { EmbeddingRequest, EmbeddingResponse } from '../embedding-api.ts';
import { parseJson } from '../parse-json.ts';
import type { ProviderKind } from '../provider-kinds.ts';
import type { CallOptions, HealthCheckResult, ModelInfo, Provider } from '../provider.ts';
import { openAICompatibleModelListSchema } from './openai-compatible-api.ts';
import type { ErrorContext } from './openai-compatible-error.ts';
import {
  providerErrorFromMalformed,
  providerErrorFromPayload,
  providerErrorFromResponse,
} from './openai-compatible-error.ts';
import { parseOpenAICompatibleStream } from './openai-compatible-stream.ts';
import { mapFinishReasons } from './map-openai-compatible-finish-reason.ts';
import { vendorQuirks } from './vendor-quirks.ts';
import { createSerialSteps } from '../serial-steps.ts';
import {
  checkResponsePayload,
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
import { isCanonicalResponse } from '../chunk-shape.ts';
import type { Transport, TransportResponse } from '../transport.ts';
import { rememberWireJson } from '../wire-json.ts';

/** Options of {@link createOpenAICompatibleProvider}; the transport carries every call (chat, streams, embeddings, model list). */
export interface OpenAICompatibleProviderOptions extends AdapterOptions {
  kind: ProviderKind;
  /** Send `stream_options.include_usage: true` on every streaming call. */
  streamIncludeUsage: boolean;
  /**
   * Where each call goes, for vendors whose URLs are not `baseUrl` + `/chat/completions` (Azure deployments).
   * Default: `{baseUrl}/chat/completions`, `{baseUrl}/embeddings`, `{baseUrl}/models`.
   */
  urls?: OpenAICompatibleUrls | undefined;
  /** How the key is sent, for vendors that do not take `Authorization: Bearer` (Azure: `api-key`). */
  authHeader?: { name: string; value: string } | undefined;
}

/** Absolute URLs of the three calls; `model` is the request's model (an Azure deployment name). */
export interface OpenAICompatibleUrls {
  chat(model: string): string;
  embeddings(model: string): string;
  models(): string;
}

type RequestBody = Record<string, unknown>;

/**
 * The adapter for every vendor that speaks OpenAI Chat Completions (OpenAI itself, DeepSeek, Zhipu, DashScope,
 * Qianfan, Hunyuan, Doubao, Moonshot, Mistral, Groq, Ollama, vLLM and any compatible server). What each kind
 * sends differently (parameters dropped or mapped) and which vendor error codes it knows is in
 * `vendorQuirks` (vendor-quirks.ts); every stream ends with one usage-only chunk (openai-compatible-stream.ts).
 */
export function createOpenAICompatibleProvider(options: OpenAICompatibleProviderOptions): Provider {
  const { id, kind, apiKey, streamIncludeUsage } = options;
  // Per-kind request conversion and error codes (vendor-quirks.ts).
  const quirks = vendorQuirks(kind);
  const { urls, authHeader } = options;
  // Every call goes through the transport with a URL string and plain headers built once here (the shared HTTP client
  // by default); the configured key wins over an Authorization header that may also be in `headers`.
  const transport: Transport = transportOf(options);
  const getHeaders = lowerCaseHeaders({}, options.headers ?? {});
  if (authHeader !== undefined) getHeaders[authHeader.name.toLowerCase()] = authHeader.value;
  else if (apiKey) getHeaders['authorization'] = `Bearer ${apiKey}`;
  const postHeaders = { ...getHeaders };
  postHeaders['content-type'] ??= 'application/json';
  const base = withoutTrailingSlashes(options.baseUrl);
  const defaultChatUrl = `${base}/chat/completions`;
  const chatUrlFor = (model: string): string => (urls === undefined ? defaultChatUrl : urls.chat(model));

  function contextFor(model: string | undefined): ErrorContext {
    return {
      provider: id,
      model,
      apiKey,
      codeKinds: quirks.codeKinds,
      secrets: options.secrets,
      limits: options.limits,
    };
  }

  /** POSTs a JSON body through the transport; resolves with a 2xx response, throws ProviderError for anything else. */
  function post(
    url: string,
    body: RequestBody,
    signal: AbortSignal | undefined,
    callOptions: CallOptions | undefined,
    context: ErrorContext,
  ): Promise<TransportResponse> {
    const init = jsonRequestInit(postHeaders, JSON.stringify(body), signal, callOptions?.headers);
    return fetchOk(transport, url, init, callOptions, context, providerErrorFromResponse);
  }

  const readText = readResponseText;

  /** Reads a 2xx JSON body once and validates it; a 200 carrying `{"error":…}` becomes that error. */
  async function readJson<T extends z.ZodType>(
    response: TransportResponse,
    schema: T,
    what: string,
    callOptions: CallOptions | undefined,
    context: ErrorContext,
  ): Promise<z.output<T>> {
    const text = await readText(response, callOptions, context);
    return parseResponseJson(text, schema, what, context, {
      find: (payload) => providerErrorFromPayload(payload, context),
    });
  }

  async function chat(request: ChatCompletionRequest, callOptions?: CallOptions): Promise<ChatCompletionResponse> {
    const context = contextFor(request.model);
    const response = await post(
      chatUrlFor(request.model),
      quirks.jsonBody(request),
      callOptions?.signal,
      callOptions,
      context,
    );
    const text = await readText(response, callOptions, context);
    const payload = parseJson(text);
    // The common case needs no zod copy (see chunk-shape.ts), and an answer left as it came keeps its text for
    // wireJson, so a server relaying it need not serialise it again.
    const find = (candidate: unknown): ReturnType<typeof providerErrorFromPayload> =>
      providerErrorFromPayload(candidate, context);
    const answer = isCanonicalResponse(payload)
      ? payload
      : checkResponsePayload(payload, chatCompletionResponseSchema, 'chat completion', context, { find });
    if (!mapFinishReasons(answer.choices, context) && answer === payload) rememberWireJson(answer, text);
    return answer;
  }

  /** Sends the streaming call and checks it is an event stream; the chunks follow from the returned parser. */
  async function openStream(
    request: ChatCompletionRequest,
    signal: AbortSignal,
    callOptions: CallOptions | undefined,
    context: ErrorContext,
    onEnd: (completed: boolean) => void,
  ): Promise<BufferedAsyncIterator<ChatCompletionChunk>> {
    const body = quirks.streamBody(request, streamIncludeUsage);
    const response = await post(chatUrlFor(request.model), body, signal, callOptions, context);
    if (response.body === null) throw providerErrorFromMalformed('an empty stream', context);
    if (response.headers.get('content-type')?.includes('json') === true) {
      // A server that ignored `stream: true`, or answered an error with HTTP 200: decoding this as SSE would
      // silently yield nothing, and an unbilled, empty answer.
      const payload = parseJson(await readText(response, callOptions, context));
      throw (
        providerErrorFromPayload(payload, context) ??
        providerErrorFromMalformed('a JSON body where an event stream was expected', context)
      );
    }
    return parseOpenAICompatibleStream(response.body, { context, callerSignal: callOptions?.signal, onEnd });
  }

  // A hand-written iterator rather than an async generator around the parser: it hands the parser's chunks
  // straight through instead of re-yielding each one, and return() tears the call down at once instead of
  // queueing behind a pending next().
  function chatStream(
    request: ChatCompletionRequest,
    callOptions?: CallOptions,
  ): BufferedAsyncIterator<ChatCompletionChunk> {
    const context = contextFor(request.model);
    const callerSignal = callOptions?.signal;
    // Our own controller, so that leaving the iteration early tears the upstream request down too. The caller's
    // signal is forwarded by a listener that is removed at the end (AbortSignal.any costs more per call, and
    // keeps the composite alive as long as the caller's signal lives).
    const controller = new AbortController();
    const forwardAbort = (): void => controller.abort(callerSignal?.reason);
    let chunks: BufferedAsyncIterator<ChatCompletionChunk> | undefined;
    let finished = false;

    const finish = (completed: boolean): void => {
      if (finished) return;
      finished = true;
      callerSignal?.removeEventListener('abort', forwardAbort);
      if (!completed) controller.abort();
    };

    async function open(): Promise<BufferedAsyncIterator<ChatCompletionChunk>> {
      if (callerSignal?.aborted === true) forwardAbort();
      else callerSignal?.addEventListener('abort', forwardAbort, { once: true });
      return openStream(request, controller.signal, callOptions, context, finish);
    }

    // One step at a time, in order; each step reports itself over (see serial-steps.ts).
    const steps = createSerialSteps(step);

    async function step(): Promise<IteratorResult<ChatCompletionChunk>> {
      try {
        if (finished) return { done: true, value: undefined };
        chunks ??= await open();
        // finished meanwhile: return() came while the call was being opened.
        if (finished) {
          await chunks.return?.();
          return { done: true, value: undefined };
        }
        // The parser calls finish() when the chunks end or fail.
        return await chunks.next();
      } catch (error) {
        finish(false);
        throw error;
      } finally {
        steps.settled();
      }
    }

    const iterator: BufferedAsyncIterator<ChatCompletionChunk> = {
      takeBuffered(): ChatCompletionChunk | undefined {
        return chunks !== undefined && steps.pending === 0 && !finished ? chunks.takeBuffered() : undefined;
      },
      next(): Promise<IteratorResult<ChatCompletionChunk>> {
        // Once the call is open and no step is pending, the parser's own next(): no frame of ours per chunk. The
        // parser queues a caller that does not await; until then, so do we (one upstream call, in order).
        if (chunks !== undefined && steps.pending === 0) return chunks.next();
        return steps.run();
      },
      async return(): Promise<IteratorResult<ChatCompletionChunk>> {
        if (!finished) {
          try {
            // Body first, then the request: aborting first would make the body's cancel() reject.
            await chunks?.return?.();
          } finally {
            finish(false);
          }
        }
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
    const url = urls === undefined ? `${base}/embeddings` : urls.embeddings(request.model);
    const response = await post(url, request, callOptions?.signal, callOptions, context);
    return readJson(response, embeddingResponseSchema, 'embeddings response', callOptions, context);
  }

  async function listModels(callOptions?: CallOptions): Promise<ModelInfo[]> {
    const context = contextFor(undefined);
    const url = urls === undefined ? `${base}/models` : urls.models();
    const init = jsonRequestInit(getHeaders, undefined, callOptions?.signal, callOptions?.headers);
    const response = await fetchOk(transport, url, init, callOptions, context, providerErrorFromResponse);
    const list = await readJson(response, openAICompatibleModelListSchema, 'model list', callOptions, context);
    return list.data.map((model) => ({
      id: model.id,
      object: 'model',
      ...(model.created == null ? {} : { created: model.created }),
      ...(model.owned_by == null ? {} : { owned_by: model.owned_by }),
    }));
  }

  function healthCheck(callOptions?: CallOptions): Promise<HealthCheckResult> {
    return timedHealthCheck(id, () => listModels(callOptions));
  }

  return { id, kind, chat, chatStream, embed, listModels, healthCheck };
}
