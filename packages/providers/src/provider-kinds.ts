import { ProviderError } from './provider-error.ts';

/**
 * Every vendor kind, as a tuple so it can feed `z.enum(PROVIDER_KINDS)` in a config schema.
 */
export const PROVIDER_KINDS = [
  'openai',
  'openai-compatible',
  'azure-openai',
  'anthropic',
  'gemini',
  'bedrock',
  'zhipu',
  'dashscope',
  'qianfan',
  'hunyuan',
  'doubao',
  'deepseek',
  'moonshot',
  'mistral',
  'groq',
  'ollama',
  'vllm',
  'demo',
] as const;

/** A vendor kind; decides the adapter, the default base URL and the auth scheme. */
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** What a kind needs and whether this version can talk to it. */
export interface ProviderKindInfo {
  kind: ProviderKind;
  /** Where requests go when the config names no `baseUrl`; undefined when the URL is per account (Azure) or required. */
  defaultBaseUrl: string | undefined;
  requiresApiKey: boolean;
  /** False for kinds whose adapter has not landed yet: `createProvider` refuses them. */
  supported: boolean;
  /**
   * True when streaming calls send `stream_options.include_usage: true`. False where the vendor reports usage
   * without it and may reject the option (Zhipu, Mistral), for native adapters that report usage their own way
   * (Anthropic), and where there is no adapter yet.
   */
  streamIncludeUsage: boolean;
}

type KindRow = Omit<ProviderKindInfo, 'kind'>;

function openAICompatible(
  defaultBaseUrl: string | undefined,
  requiresApiKey = true,
  streamIncludeUsage = true,
): KindRow {
  return { defaultBaseUrl, requiresApiKey, supported: true, streamIncludeUsage };
}

// Base URLs checked against shared/notes/wire-formats.md; the adapter appends /chat/completions, /embeddings, /models.
const KIND_TABLE: Readonly<Record<ProviderKind, KindRow>> = {
  openai: openAICompatible('https://api.openai.com/v1'),
  'openai-compatible': openAICompatible(undefined, false),
  // The base URL is per resource; usage is asked for like OpenAI (Azure honours stream_options).
  'azure-openai': { defaultBaseUrl: undefined, requiresApiKey: true, supported: true, streamIncludeUsage: true },
  anthropic: {
    defaultBaseUrl: 'https://api.anthropic.com/v1',
    requiresApiKey: true,
    supported: true,
    streamIncludeUsage: false,
  },
  // Native adapter (gemini/): authenticates with x-goog-api-key, reports usage in every stream without asking.
  gemini: {
    defaultBaseUrl: 'https://generativelanguage.googleapis.com/v1beta',
    requiresApiKey: true,
    supported: true,
    streamIncludeUsage: false,
  },
  // The base URL follows from `region`; SigV4 credentials can replace the key, and the stream is not SSE.
  bedrock: { defaultBaseUrl: undefined, requiresApiKey: false, supported: true, streamIncludeUsage: false },
  zhipu: openAICompatible('https://open.bigmodel.cn/api/paas/v4', true, false),
  dashscope: openAICompatible('https://dashscope.aliyuncs.com/compatible-mode/v1'),
  qianfan: openAICompatible('https://qianfan.baidubce.com/v2'),
  hunyuan: openAICompatible('https://api.hunyuan.cloud.tencent.com/v1'),
  doubao: openAICompatible('https://ark.cn-beijing.volces.com/api/v3'),
  deepseek: openAICompatible('https://api.deepseek.com'),
  moonshot: openAICompatible('https://api.moonshot.ai/v1'),
  mistral: openAICompatible('https://api.mistral.ai/v1', true, false),
  groq: openAICompatible('https://api.groq.com/openai/v1'),
  ollama: openAICompatible('http://127.0.0.1:11434/v1', false),
  vllm: openAICompatible('http://127.0.0.1:8000/v1', false),
  // Answered in-process (demo/demo-transport.ts): canned, labelled answers for a first run without any vendor key. The
  // URL is only the adapter's: `.invalid` never resolves, so no call can reach the network.
  demo: openAICompatible('http://demo.invalid/v1', false),
};

const INFO_BY_KIND: ReadonlyMap<string, ProviderKindInfo> = new Map(
  PROVIDER_KINDS.map((kind) => [kind, Object.freeze({ kind, ...KIND_TABLE[kind] })]),
);

/**
 * Facts about one provider kind. Throws a `ProviderError` of kind `invalid_request` for an unknown kind (a config
 * written by hand can name anything).
 *
 * @example
 * ```ts
 * getProviderKindInfo('deepseek').defaultBaseUrl; // 'https://api.deepseek.com'
 * ```
 */
export function getProviderKindInfo(kind: ProviderKind): ProviderKindInfo {
  const info = INFO_BY_KIND.get(kind);
  if (info === undefined) {
    throw new ProviderError({
      kind: 'invalid_request',
      message: `Unknown provider kind ${JSON.stringify(kind)}; expected one of ${PROVIDER_KINDS.join(', ')}`,
    });
  }
  return info;
}
