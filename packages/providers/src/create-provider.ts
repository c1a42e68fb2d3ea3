import { createAnthropicProvider } from './anthropic/anthropic-provider.ts';
import { createGeminiProvider } from './gemini/gemini-provider.ts';
import { createAzureOpenAIProvider } from './azure/azure-openai-provider.ts';
import { createBedrockProvider } from './bedrock/bedrock-provider.ts';
import { createDemoTransport } from './demo/demo-transport.ts';
import { createOpenAICompatibleProvider } from './openai-compatible/openai-compatible-provider.ts';
import { DEFAULT_ANSWER_LIMITS, type AnswerLimits } from './openai-compatible/openai-compatible-error.ts';
import { ProviderError } from './provider-error.ts';
import { getProviderKindInfo } from './provider-kinds.ts';
import type { Provider, ProviderConfig } from './provider.ts';

function invalidConfig(message: string, provider: string): ProviderError {
  return new ProviderError({ kind: 'invalid_request', message, provider });
}

function checkBaseUrl(baseUrl: string, provider: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch (cause) {
    throw new ProviderError({
      kind: 'invalid_request',
      message: `Provider ${provider}: baseUrl ${JSON.stringify(baseUrl)} is not a valid URL`,
      provider,
      cause,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidConfig(`Provider ${provider}: baseUrl must be an http(s) URL, got ${url.protocol}`, provider);
  }
  return baseUrl;
}

/**
 * A provider for one vendor account. Throws a `ProviderError` of kind `invalid_request` for a kind that has no
 * invalid base URL, or a bedrock provider without a region.
 * Kind `demo` calls no vendor: it answers in-process with canned answers that begin with `[demo]` (usage counted in
 * words), for a first run without any key; it takes no `baseUrl`, and `transport` and `fetch` are not used.
 * A missing API key is not refused here: the vendor's 401 says it more precisely, and local servers need none.
 *
 * @example
 * ```ts
 * const provider = createProvider({ kind: 'deepseek', apiKey: process.env.DEEPSEEK_API_KEY });
 * const response = await provider.chat({ model: 'deepseek-chat', messages: [{ role: 'user', content: 'Hi' }] });
 * console.log(response.choices[0]?.message.content);
 * ```
 */
export function createProvider(config: ProviderConfig): Provider {
  const info = getProviderKindInfo(config.kind);
  const id = config.id ?? config.kind;
  if (!info.supported) {
    throw invalidConfig(
      `Provider kind "${info.kind}" is not supported yet: its native adapter has not landed. ` +
        'Use an OpenAI-compatible endpoint of that vendor with kind "openai-compatible" meanwhile.',
      id,
    );
  }
  const apiKey = config.apiKey === '' ? undefined : config.apiKey;
  const limits: AnswerLimits = {
    maxResponseBytes: config.maxResponseBytes ?? DEFAULT_ANSWER_LIMITS.maxResponseBytes,
    maxEventSize: config.maxEventSize ?? DEFAULT_ANSWER_LIMITS.maxEventSize,
    bodyIdleTimeoutMs: config.bodyIdleTimeoutMs,
  };
  const { secrets } = config;
  if (info.kind === 'demo') {
    // A base URL would suggest the calls go somewhere: they never leave the process.
    if (config.baseUrl !== undefined && config.baseUrl !== '') {
      throw invalidConfig(`Provider ${id}: kind "demo" answers in-process and takes no baseUrl`, id);
    }
    return createOpenAICompatibleProvider({
      id,
      kind: info.kind,
      baseUrl: info.defaultBaseUrl ?? '',
      apiKey: undefined,
      headers: config.headers,
      fetch: undefined,
      transport: createDemoTransport(),
      streamIncludeUsage: info.streamIncludeUsage,
      secrets,
      limits,
    });
  }
  if (info.kind === 'bedrock') {
    const region = config.region === '' ? undefined : config.region;
    if (config.baseUrl !== undefined && config.baseUrl !== '') checkBaseUrl(config.baseUrl, id);
    if (region === undefined) {
      throw invalidConfig(`Provider ${id}: kind "bedrock" needs a region (e.g. us-east-1)`, id);
    }
    return createBedrockProvider({
      id,
      region,
      baseUrl: config.baseUrl === '' ? undefined : config.baseUrl,
      apiKey,
      accessKeyId: config.accessKeyId === '' ? undefined : config.accessKeyId,
      secretAccessKey: config.secretAccessKey === '' ? undefined : config.secretAccessKey,
      sessionToken: config.sessionToken === '' ? undefined : config.sessionToken,
      headers: config.headers,
      fetch: config.fetch,
      transport: config.transport,
      secrets,
      limits,
    });
  }
  const baseUrl = config.baseUrl ?? info.defaultBaseUrl;
  if (baseUrl === undefined || baseUrl === '') {
    throw invalidConfig(`Provider ${id}: kind "${info.kind}" has no default base URL, so baseUrl is required`, id);
  }
  if (info.kind === 'anthropic') {
    return createAnthropicProvider({
      id,
      baseUrl: checkBaseUrl(baseUrl, id),
      apiKey,
      headers: config.headers,
      fetch: config.fetch,
      transport: config.transport,
      secrets,
      limits,
      defaultMaxTokens: config.defaultMaxTokens,
    });
  }
  if (info.kind === 'gemini') {
    return createGeminiProvider({
      id,
      baseUrl: checkBaseUrl(baseUrl, id),
      apiKey,
      headers: config.headers,
      fetch: config.fetch,
      transport: config.transport,
      secrets,
      limits,
    });
  }
  if (info.kind === 'azure-openai') {
    return createAzureOpenAIProvider({
      id,
      baseUrl: checkBaseUrl(baseUrl, id),
      apiKey,
      apiVersion: config.apiVersion === '' ? undefined : config.apiVersion,
      headers: config.headers,
      fetch: config.fetch,
      transport: config.transport,
      secrets,
      limits,
    });
  }
  return createOpenAICompatibleProvider({
    id,
    kind: info.kind,
    baseUrl: checkBaseUrl(baseUrl, id),
    apiKey,
    headers: config.headers,
    fetch: config.fetch,
    transport: config.transport,
    secrets,
    limits,
    streamIncludeUsage: info.streamIncludeUsage,
  });
}
