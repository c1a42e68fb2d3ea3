import type { z } from 'zod';
import type { ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse } from '../chat-api.ts';
import type { EmbeddingResponse } from '../embedding-api.ts';
import { ProviderError } from '../provider-error.ts';
import type { CallOptions, HealthCheckResult, ModelInfo, Provider } from '../provider.ts';
import type { ErrorContext } from '../openai-compatible/openai-compatible-error.ts';
import { providerErrorFromMalformed } from '../openai-compatible/openai-compatible-error.ts';
import { anthropicMessageSchema, anthropicModelListSchema, anthropicTokenCountSchema } from './anthropic-api.ts';
import type { AnthropicMessage } from './anthropic-api.ts';
import { anthropicErrorFromResponse } from './anthropic-error.ts';
import {
  anthropicStreamBody,
  convertToAnthropicRequest,
  DEFAULT_ANTHROPIC_MAX_TOKENS,
} from './convert-to-anthropic-request.ts';
import { mapAnthropicStopReason } from './map-anthropic-stop-reason.ts';
import { toCanonicalUsage } from './map-anthropic-usage.ts';
import { parseAnthropicStream } from './anthropic-stream.ts';
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

/** The API version this adapter speaks; a configured `anthropic-version` header overrides it. */
export const ANTHROPIC_VERSION = '2023-06-01';

/** Options of {@link createAnthropicProvider}; the transport carries every call (Messages and the model list). */
export interface AnthropicProviderOptions extends AdapterOptions {
  /** max_tokens when a request names none; default {@link DEFAULT_ANTHROPIC_MAX_TOKENS}. */
  defaultMaxTokens?: number | undefined;
}

/** A Messages response in the canonical `chat.completion` shape. */
function toChatCompletion(message: AnthropicMessage, created: number): ChatCompletionResponse {
  const texts: string[] = [];
  const thoughts: string[] = [];
  const toolCalls: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }> = [];
  for (const block of message.content) {
    if (block.type === 'text' && block.text != null) texts.push(block.text);
    else if (block.type === 'thinking' && block.thinking != null) thoughts.push(block.thinking);
    else if (block.type === 'tool_use') {
      toolCalls.push({
        id: block.id ?? '',
        type: 'function',
        function: { name: block.name ?? '', arguments: JSON.stringify(block.input ?? {}) },
      });
    }
  }
  return {
    id: message.id,
    object: 'chat.completion',
    created,
    model: message.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: texts.length === 0 ? null : texts.join(''),
          ...(thoughts.length === 0 ? {} : { reasoning_content: thoughts.join('') }),
          ...(toolCalls.length === 0 ? {} : { tool_calls: toolCalls }),
        },
        finish_reason: mapAnthropicStopReason(message.stop_reason),
      },
    ],
    usage: toCanonicalUsage(message.usage),
  };
}

/**
 * The native Anthropic Messages adapter: `POST {base}/messages` with `x-api-key` and
 * `anthropic-version: 2023-06-01`, converting the canonical OpenAI-shaped request and answer both ways (see
 * {@link convertToAnthropicRequest} for the request mapping and what is dropped). `embed` always fails with
 * `invalid_request`: Anthropic has no embeddings API. `listModels` reads `GET {base}/models`; `countTokens` asks
 * `POST {base}/messages/count_tokens` (the prompt fields only).
 *
 * @example
 * ```ts
 * const provider = createAnthropicProvider({
 *   id: 'claude', baseUrl: 'https://api.anthropic.com/v1', apiKey: process.env.ANTHROPIC_API_KEY,
 *   headers: undefined, fetch: undefined,
 * });
 * const response = await provider.chat({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hi' }] });
 * ```
 */
export function createAnthropicProvider(options: AnthropicProviderOptions): Provider {
  const { id, apiKey } = options;
  const defaultMaxTokens = options.defaultMaxTokens ?? DEFAULT_ANTHROPIC_MAX_TOKENS;
  const baseHeaders = lowerCaseHeaders(
    { 'anthropic-version': ANTHROPIC_VERSION, 'content-type': 'application/json' },
    options.headers ?? {},
  );
  // The configured key wins over an x-api-key that may also be in `headers`.
  if (apiKey) baseHeaders['x-api-key'] = apiKey;
  const base = withoutTrailingSlashes(options.baseUrl);
  const transport: Transport = transportOf(options);

  function contextFor(model: string | undefined): ErrorContext {
    return { provider: id, model, apiKey, secrets: options.secrets, limits: options.limits };
  }

  function post(
    body: unknown,
    signal: AbortSignal | undefined,
    callOptions: CallOptions | undefined,
    context: ErrorContext,
    path = '/messages',
  ): Promise<TransportResponse> {
    const init = jsonRequestInit(baseHeaders, JSON.stringify(body), signal, callOptions?.headers);
    return fetchOk(transport, `${base}${path}`, init, callOptions, context, anthropicErrorFromResponse);
  }

  async function readJson<T extends z.ZodType>(
    response: TransportResponse,
    schema: T,
    what: string,
    callOptions: CallOptions | undefined,
    context: ErrorContext,
  ): Promise<z.output<T>> {
    return parseResponseJson(await readText(response, callOptions, context), schema, what, context);
  }

  const readText = readResponseText;

  async function chat(request: ChatCompletionRequest, callOptions?: CallOptions): Promise<ChatCompletionResponse> {
    const context = contextFor(request.model);
    const body = convertToAnthropicRequest(request, { provider: id, defaultMaxTokens });
    const response = await post(body, callOptions?.signal, callOptions, context);
    const message = await readJson(response, anthropicMessageSchema, 'Messages response', callOptions, context);
    return toChatCompletion(message, Math.floor(Date.now() / 1000));
  }

  // An async generator: nothing runs before the first next(), a conversion or HTTP error rejects that next(), and
  // return() runs the finally blocks, which cancel the body and abort the request.
  async function* chatStream(
    request: ChatCompletionRequest,
    callOptions?: CallOptions,
  ): AsyncGenerator<ChatCompletionChunk, void, undefined> {
    const context = contextFor(request.model);
    const callerSignal = callOptions?.signal;
    const controller = new AbortController();
    const forwardAbort = (): void => controller.abort(callerSignal?.reason);
    if (callerSignal?.aborted === true) forwardAbort();
    else callerSignal?.addEventListener('abort', forwardAbort, { once: true });
    try {
      const body = anthropicStreamBody(convertToAnthropicRequest(request, { provider: id, defaultMaxTokens }));
      const response = await post(body, controller.signal, callOptions, context);
      if (response.body === null) throw providerErrorFromMalformed('an empty stream', context);
      if (response.headers.get('content-type')?.includes('json') === true) {
        throw providerErrorFromMalformed('a JSON body where an event stream was expected', context);
      }
      yield* parseAnthropicStream(response.body, { context, callerSignal });
    } finally {
      callerSignal?.removeEventListener('abort', forwardAbort);
      controller.abort();
    }
  }

  // Anthropic's count_tokens takes the prompt fields only: the sampling ones (max_tokens, temperature…) are refused.
  async function countTokens(request: ChatCompletionRequest, callOptions?: CallOptions): Promise<number> {
    const context = contextFor(request.model);
    const converted = convertToAnthropicRequest(request, { provider: id, defaultMaxTokens });
    const body = {
      model: converted.model,
      messages: converted.messages,
      ...(converted.system === undefined ? {} : { system: converted.system }),
      ...(converted.tools === undefined ? {} : { tools: converted.tools }),
      ...(converted.tool_choice === undefined ? {} : { tool_choice: converted.tool_choice }),
      ...(converted.thinking === undefined ? {} : { thinking: converted.thinking }),
    };
    const response = await post(body, callOptions?.signal, callOptions, context, '/messages/count_tokens');
    const counted = await readJson(response, anthropicTokenCountSchema, 'token count', callOptions, context);
    return counted.input_tokens;
  }

  async function embed(): Promise<EmbeddingResponse> {
    throw new ProviderError({
      kind: 'invalid_request',
      message: 'Anthropic has no embeddings API',
      provider: id,
      retryable: false,
    });
  }

  async function listModels(callOptions?: CallOptions): Promise<ModelInfo[]> {
    const context = contextFor(undefined);
    const init = jsonRequestInit(baseHeaders, undefined, callOptions?.signal, callOptions?.headers);
    const response = await fetchOk(transport, `${base}/models`, init, callOptions, context, anthropicErrorFromResponse);
    const list = await readJson(response, anthropicModelListSchema, 'model list', callOptions, context);
    return list.data.map((model) => {
      const created = model.created_at == null ? Number.NaN : Date.parse(model.created_at);
      return {
        id: model.id,
        object: 'model',
        ...(Number.isNaN(created) ? {} : { created: Math.floor(created / 1000) }),
        owned_by: 'anthropic',
      };
    });
  }

  function healthCheck(callOptions?: CallOptions): Promise<HealthCheckResult> {
    return timedHealthCheck(id, () => listModels(callOptions));
  }

  return { id, kind: 'anthropic', chat, chatStream, embed, listModels, healthCheck, countTokens };
}
