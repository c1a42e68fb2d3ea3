import type { Transport, TransportRequest, TransportResponse } from '../transport.ts';
import type { ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse } from '../chat-api.ts';
import type { AnswerLimits, ErrorContext } from '../openai-compatible/openai-compatible-error.ts';
import {
  cleanCode,
  DEFAULT_ANSWER_LIMITS,
  providerErrorFromException,
  providerErrorFromMalformed,
  providerErrorFromOversize,
  providerErrorFromTruncation,
} from '../openai-compatible/openai-compatible-error.ts';
import { isProviderError, ProviderError } from '../provider-error.ts';
import type { CallOptions, HealthCheckResult, ModelInfo, Provider } from '../provider.ts';
import { bedrockConverseResponseSchema } from './bedrock-api.ts';
import type { BedrockConverseResponse } from './bedrock-api.ts';
import { providerErrorFromBedrockResponse } from './bedrock-error.ts';
import { createBedrockChunkConverter } from './bedrock-stream.ts';
import { convertToBedrockRequest } from './convert-to-bedrock-request.ts';
import { decodeEventStream, EventStreamFormatError, EventStreamMessageTooLargeError } from './event-stream-codec.ts';
import { mapBedrockStopReason } from './map-bedrock-stop-reason.ts';
import { signBedrockRequest } from './sign-bedrock-request.ts';
import type { BedrockCredentials } from './sign-bedrock-request.ts';
import { toOpenAIUsage } from './to-openai-usage.ts';
import {
  fetchOk,
  lowerCaseHeaders,
  modelPathSegment,
  parseResponseJson,
  readResponseText,
  timedHealthCheck,
  transportOf,
  withoutTrailingSlashes,
} from '../vendor-http.ts';

// The model id of the health probe: no Bedrock model has it, so the call is refused before anything runs.
const HEALTH_PROBE_MODEL = 'gw-health-probe';

/** Options of {@link createBedrockProvider}; `createProvider` fills them from the config. */
export interface BedrockProviderOptions {
  id: string;
  /** e.g. `us-east-1`: the default host and the SigV4 scope. */
  region: string;
  /** Default `https://bedrock-runtime.{region}.amazonaws.com`. */
  baseUrl?: string | undefined;
  /** A Bedrock API key, sent as `Authorization: Bearer`; used only when no SigV4 credentials are given. */
  apiKey?: string | undefined;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  sessionToken?: string | undefined;
  headers?: Record<string, string> | undefined;
  /** A `fetch` of the caller's own, used as the transport when no `transport` is given. */
  fetch?: typeof globalThis.fetch | undefined;
  /** Sends the signed calls; default the HTTP client shared by every provider. */
  transport?: Transport | undefined;
  /** The clock for signatures and `created`; default `Date.now`. */
  now?: (() => number) | undefined;
  /** More values to scrub from what the vendor sends back (see `ProviderConfig.secrets`). */
  secrets?: readonly string[] | undefined;
  /** How much of an answer is read; default 64 MiB per JSON answer, 16 MB per event-stream message. */
  limits?: AnswerLimits | undefined;
}

/**
 * The AWS Bedrock Converse adapter. Chat goes to `POST {base}/model/{modelId}/converse`, streams to
 * `/converse-stream` (a binary `application/vnd.amazon.eventstream`, decoded incrementally); the model id (or ARN)
 * is URL-encoded into the path. Auth is SigV4 (service `bedrock`) with `accessKeyId` / `secretAccessKey` /
 * `sessionToken`, else `Authorization: Bearer <apiKey>` (a Bedrock API key). Request conversion and dropped
 * parameters: see `convertToBedrockRequest`. `embed` is refused (`invalid_request`): Converse has no embeddings,
 * they go through InvokeModel with a per-model body. `listModels` answers an empty list without a call: Bedrock
 * lists models on another host (`bedrock.{region}`) with another permission; `healthCheck` therefore sends a Converse
 * call for a model id that does not exist, which Bedrock refuses before running anything: that refusal is ok, a
 * network error, a timeout, an authentication error, a throttle or a 5xx is not. The secret access key and session token,
 * like the API key, never appear in an error message.
 *
 * @example
 * ```ts
 * const bedrock = createBedrockProvider({
 *   id: 'bedrock', region: 'us-east-1',
 *   accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
 * });
 * await bedrock.chat({ model: 'anthropic.claude-3-5-haiku-20241022-v1:0', messages: [{ role: 'user', content: 'Hi' }] });
 * ```
 */
export function createBedrockProvider(options: BedrockProviderOptions): Provider {
  const { id, region, apiKey } = options;
  const now = options.now ?? Date.now;
  const base = withoutTrailingSlashes(options.baseUrl ?? `https://bedrock-runtime.${region}.amazonaws.com`);
  const credentials: BedrockCredentials | undefined =
    options.accessKeyId && options.secretAccessKey
      ? {
          accessKeyId: options.accessKeyId,
          secretAccessKey: options.secretAccessKey,
          sessionToken: options.sessionToken || undefined,
        }
      : undefined;
  const secrets = [options.secretAccessKey, options.sessionToken, ...(options.secrets ?? [])];
  const { limits } = options;
  const configuredHeaders = lowerCaseHeaders({}, options.headers);
  // Signed first, then sent through the transport as signed: method, headers and body exactly as the signature covers them.
  const transport: Transport = transportOf(options);
  let sequence = 0;

  function contextFor(model: string | undefined): ErrorContext {
    return { provider: id, model, apiKey, secrets, limits };
  }

  async function headersFor(
    url: string,
    body: string,
    callOptions: CallOptions | undefined,
  ): Promise<Record<string, string>> {
    const headers = lowerCaseHeaders({ ...configuredHeaders }, callOptions?.headers);
    headers['content-type'] = 'application/json';
    if (credentials !== undefined) {
      return signBedrockRequest({ method: 'POST', url, headers, body, region, credentials, now: now() });
    }
    if (apiKey) headers['authorization'] = `Bearer ${apiKey}`;
    return headers;
  }

  async function post(
    operation: 'converse' | 'converse-stream',
    request: ChatCompletionRequest,
    signal: AbortSignal | undefined,
    callOptions: CallOptions | undefined,
    context: ErrorContext,
  ): Promise<TransportResponse> {
    const url = `${base}/model/${modelPathSegment(request.model, context)}/${operation}`;
    const body = JSON.stringify(convertToBedrockRequest(request, id));
    let init: TransportRequest;
    try {
      init = { method: 'POST', headers: await headersFor(url, body, callOptions), body };
    } catch (error) {
      throw providerErrorFromException(error, callOptions?.signal, context);
    }
    if (signal !== undefined) init.signal = signal;
    return fetchOk(transport, url, init, callOptions, context, providerErrorFromBedrockResponse);
  }

  function responseId(response: TransportResponse, context: ErrorContext): string {
    sequence += 1;
    // The vendor's request id becomes the answer's: scrubbed like anything else the vendor sends.
    const requestId = cleanCode(response.headers.get('x-amzn-requestid') ?? undefined, context);
    return `chatcmpl-bedrock-${requestId ?? `${now()}-${sequence}`}`;
  }

  function toChatResponse(converse: BedrockConverseResponse, idValue: string, model: string): ChatCompletionResponse {
    let content: string | null = null;
    let reasoning: string | undefined;
    const toolCalls: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }> = [];
    for (const block of converse.output.message?.content ?? []) {
      if (block.text != null) content = (content ?? '') + block.text;
      const reasoningText = block.reasoningContent?.reasoningText?.text;
      if (reasoningText != null) reasoning = (reasoning ?? '') + reasoningText;
      if (block.toolUse != null) {
        const { toolUseId, name, input } = block.toolUse;
        toolCalls.push({ id: toolUseId, type: 'function', function: { name, arguments: JSON.stringify(input ?? {}) } });
      }
    }
    const message: ChatCompletionResponse['choices'][number]['message'] = { role: 'assistant', content };
    if (reasoning !== undefined) message.reasoning_content = reasoning;
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    const result: ChatCompletionResponse = {
      id: idValue,
      object: 'chat.completion',
      created: Math.floor(now() / 1000),
      model,
      choices: [{ index: 0, message, finish_reason: mapBedrockStopReason(converse.stopReason) }],
    };
    if (converse.usage != null) result.usage = toOpenAIUsage(converse.usage);
    return result;
  }

  async function chat(request: ChatCompletionRequest, callOptions?: CallOptions): Promise<ChatCompletionResponse> {
    const context = contextFor(request.model);
    const response = await post('converse', request, callOptions?.signal, callOptions, context);
    const text = await readResponseText(response, callOptions, context);
    const converse = parseResponseJson(text, bedrockConverseResponseSchema, 'Converse answer', context);
    return toChatResponse(converse, responseId(response, context), request.model);
  }

  function chatStream(
    request: ChatCompletionRequest,
    callOptions?: CallOptions,
  ): AsyncIterableIterator<ChatCompletionChunk> {
    const context = contextFor(request.model);
    const callerSignal = callOptions?.signal;
    // Our own controller, so that leaving the iteration early tears the upstream request down too.
    const controller = new AbortController();
    const forwardAbort = (): void => controller.abort(callerSignal?.reason);
    let pending = 0;

    async function* run(): AsyncGenerator<ChatCompletionChunk> {
      if (callerSignal?.aborted === true) forwardAbort();
      else callerSignal?.addEventListener('abort', forwardAbort, { once: true });
      try {
        const response = await post('converse-stream', request, controller.signal, callOptions, context);
        if (response.body === null) throw providerErrorFromMalformed('an empty stream', context);
        if (response.headers.get('content-type')?.includes('json') === true) {
          throw providerErrorFromMalformed('a JSON body where an event stream was expected', context);
        }
        const converter = createBedrockChunkConverter({
          id: responseId(response, context),
          created: Math.floor(now() / 1000),
          model: request.model,
          context,
        });
        try {
          const { maxEventSize } = context.limits ?? DEFAULT_ANSWER_LIMITS;
          for await (const message of decodeEventStream(response.body, maxEventSize)) yield* converter.convert(message);
        } catch (error) {
          if (error instanceof EventStreamMessageTooLargeError) {
            throw providerErrorFromOversize(`a stream event longer than ${error.maxMessageBytes} bytes`, context);
          }
          if (error instanceof EventStreamFormatError) {
            throw providerErrorFromMalformed(`a broken event stream (${error.message})`, context, error);
          }
          throw providerErrorFromException(error, callerSignal, context);
        }
        if (!converter.stopped())
          throw providerErrorFromTruncation('The Bedrock event stream ended before messageStop', context);
      } catch (error) {
        controller.abort();
        throw error;
      } finally {
        callerSignal?.removeEventListener('abort', forwardAbort);
      }
    }

    let generator: AsyncGenerator<ChatCompletionChunk> | undefined;
    const iterator: AsyncIterableIterator<ChatCompletionChunk> = {
      async next() {
        generator ??= run();
        pending += 1;
        try {
          return await generator.next();
        } finally {
          pending -= 1;
        }
      },
      async return() {
        // A pending next() would hold the generator's return() back until the upstream speaks: abort first then.
        if (pending > 0) controller.abort();
        try {
          await generator?.return(undefined);
        } catch {
          // The aborted read's error belongs to the pending next(), which reports it.
        }
        controller.abort();
        callerSignal?.removeEventListener('abort', forwardAbort);
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  async function embed(): Promise<never> {
    throw new ProviderError({
      kind: 'invalid_request',
      message: 'Bedrock Converse has no embeddings; use an embeddings provider (or InvokeModel) for this model',
      provider: id,
    });
  }

  async function listModels(): Promise<ModelInfo[]> {
    return [];
  }

  async function healthCheck(callOptions?: CallOptions): Promise<HealthCheckResult> {
    const started = performance.now();
    if (credentials === undefined && !apiKey) {
      const error = new ProviderError({
        kind: 'authentication',
        message: 'Bedrock needs accessKeyId and secretAccessKey, or an apiKey',
        provider: id,
      });
      return { ok: false, latencyMs: performance.now() - started, error };
    }
    // A Converse call Bedrock refuses before any model runs (no such model, no messages): it costs nothing, and
    // its answer says the endpoint is reachable and the credentials are accepted. Only that refusal (or a 2xx) is
    // healthy; a network error, a timeout, a 401/403, a throttle or a 5xx is not.
    return timedHealthCheck(id, async () => {
      const context = contextFor(HEALTH_PROBE_MODEL);
      const url = `${base}/model/${HEALTH_PROBE_MODEL}/converse`;
      const body = '{"messages":[]}';
      const init: TransportRequest = { method: 'POST', headers: await headersFor(url, body, callOptions), body };
      if (callOptions?.signal !== undefined) init.signal = callOptions.signal;
      try {
        const response = await fetchOk(transport, url, init, callOptions, context, providerErrorFromBedrockResponse);
        await readResponseText(response, callOptions, context);
      } catch (error) {
        if (isProviderError(error) && (error.kind === 'invalid_request' || error.kind === 'not_found')) return;
        throw error;
      }
    });
  }

  return { id, kind: 'bedrock', chat, chatStream, embed, listModels, healthCheck };
}
