import type { ChatCompletionChunk } from '../chat-api.ts';
import { createOpenAICompatibleProvider } from '../openai-compatible/openai-compatible-provider.ts';
import type { OpenAICompatibleUrls } from '../openai-compatible/openai-compatible-provider.ts';
import type { Provider } from '../provider.ts';
import type { AdapterOptions } from '../vendor-http.ts';
import { modelPathSegment, withoutTrailingSlashes } from '../vendor-http.ts';

/**
 * The newest generally-available dated data-plane inference version in Microsoft's Azure OpenAI REST reference
 * (learn.microsoft.com/azure/ai-foundry/openai/reference, "Latest GA release"), checked 2026-11-22. Newer
 * features live in the v1 API, selected with `apiVersion: 'v1'`.
 */
export const AZURE_OPENAI_DEFAULT_API_VERSION = '2024-10-21';

/** Options of {@link createAzureOpenAIProvider}; `createProvider` fills them from the config. */
export interface AzureOpenAIProviderOptions extends AdapterOptions {
  /** `https://{resource}.openai.azure.com`, with or without `/openai` or `/openai/v1`. */
  baseUrl: string;
  /** A dated version (default {@link AZURE_OPENAI_DEFAULT_API_VERSION}) or `v1` for the v1 API. */
  apiVersion: string | undefined;
}

/** The resource root (no `/openai`) and whether the v1 API was asked for, from a configured base URL. */
function parseBaseUrl(baseUrl: string): { root: string; v1: boolean } {
  const trimmed = withoutTrailingSlashes(baseUrl);
  if (/\/openai\/v1$/i.test(trimmed)) return { root: trimmed.slice(0, -'/openai/v1'.length), v1: true };
  if (/\/openai$/i.test(trimmed)) return { root: trimmed.slice(0, -'/openai'.length), v1: false };
  return { root: trimmed, v1: false };
}

/**
 * The URLs of one Azure OpenAI resource. Deployment style puts the request's `model` (the deployment name,
 * URL-encoded; `.` and `..` are refused, see `modelPathSegment`) into the path and the api-version into the query;
 * the v1 API is OpenAI's own layout under `/openai/v1` with `model` in the body and no api-version. `provider`
 * names the provider in the errors.
 *
 * @example
 * ```ts
 * azureOpenAIUrls('https://res.openai.azure.com', undefined).chat('gpt-4o');
 * // 'https://res.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21'
 * ```
 */
export function azureOpenAIUrls(
  baseUrl: string,
  apiVersion: string | undefined,
  provider = 'azure-openai',
): OpenAICompatibleUrls {
  const { root, v1 } = parseBaseUrl(baseUrl);
  if (v1 || apiVersion === 'v1') {
    const base = `${root}/openai/v1`;
    return {
      chat: () => `${base}/chat/completions`,
      embeddings: () => `${base}/embeddings`,
      models: () => `${base}/models`,
    };
  }
  const query = `api-version=${encodeURIComponent(apiVersion ?? AZURE_OPENAI_DEFAULT_API_VERSION)}`;
  const deployment = (model: string): string =>
    `${root}/openai/deployments/${modelPathSegment(model, { provider, model, apiKey: undefined })}`;
  return {
    chat: (model) => `${deployment(model)}/chat/completions?${query}`,
    embeddings: (model) => `${deployment(model)}/embeddings?${query}`,
    // The models the resource can deploy (not its deployments): the one key-authenticated list on the data plane.
    models: () => `${root}/openai/models?${query}`,
  };
}

// Azure sends the prompt's content-filter verdict first, as a chunk with `choices: []`, no usage and
// `prompt_filter_results`. Left in, it would look like the usage-only chunk that ends every stream, so it is
// dropped: the stream keeps exactly one `choices: []` chunk, the usage one at the end.
function isPromptFilterChunk(chunk: ChatCompletionChunk): boolean {
  return chunk.choices.length === 0 && chunk.usage == null;
}

function withoutPromptFilterChunks(
  chunks: AsyncIterableIterator<ChatCompletionChunk>,
): AsyncIterableIterator<ChatCompletionChunk> {
  async function pull(): Promise<IteratorResult<ChatCompletionChunk>> {
    for (;;) {
      const result = await chunks.next();
      if (result.done === true || !isPromptFilterChunk(result.value)) return result;
    }
  }
  // Chained, so that a caller who does not await each next() still gets the chunks in order.
  let last: Promise<unknown> = Promise.resolve();
  const iterator: AsyncIterableIterator<ChatCompletionChunk> = {
    next() {
      const result = last.then(pull);
      last = result.catch(() => undefined);
      return result;
    },
    async return() {
      return (await chunks.return?.()) ?? { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * The Azure OpenAI adapter: the OpenAI-compatible adapter with Azure's URLs (see {@link azureOpenAIUrls}), the key
 * in an `api-key` header instead of `Authorization: Bearer`, and the prompt-filter chunk dropped from streams.
 * Errors map like OpenAI's: `content_filter` (ResponsibleAIPolicyViolation) → `content_filter`,
 * `context_length_exceeded` → `context_window`, 429 → `rate_limit` with Retry-After, `DeploymentNotFound` (404) →
 * `not_found`. `listModels` lists the models the resource offers (GET /openai/models), not its deployments;
 * `healthCheck` times that call.
 *
 * @example
 * ```ts
 * const azure = createAzureOpenAIProvider({
 *   id: 'azure', baseUrl: 'https://res.openai.azure.com', apiKey: process.env.AZURE_OPENAI_API_KEY,
 *   apiVersion: undefined, headers: undefined, fetch: undefined,
 * });
 * await azure.chat({ model: 'my-gpt-4o-deployment', messages: [{ role: 'user', content: 'Hi' }] });
 * ```
 */
export function createAzureOpenAIProvider(options: AzureOpenAIProviderOptions): Provider {
  const { apiKey } = options;
  const provider = createOpenAICompatibleProvider({
    id: options.id,
    kind: 'azure-openai',
    baseUrl: options.baseUrl,
    apiKey,
    headers: options.headers,
    fetch: options.fetch,
    transport: options.transport,
    secrets: options.secrets,
    limits: options.limits,
    streamIncludeUsage: true,
    urls: azureOpenAIUrls(options.baseUrl, options.apiVersion, options.id),
    authHeader: apiKey ? { name: 'api-key', value: apiKey } : undefined,
  });
  return {
    ...provider,
    chatStream: (request, callOptions) => withoutPromptFilterChunks(provider.chatStream(request, callOptions)),
  };
}
