import type { ChatCompletionRequest } from '../chat-api.ts';
import type { ProviderErrorKind } from '../provider-error.ts';
import type { ProviderKind } from '../provider-kinds.ts';
import { isRecord } from '../is-record.ts';

// Per-kind differences of the vendors served by the OpenAI-compatible adapter. The adapter itself speaks plain
// OpenAI; this file holds what each vendor's public API reference says differently, request side (parameters it
// rejects are dropped or mapped) and error side (its own codes). Response-side differences that are a matter of
// shape (`reasoning`, Mistral's content chunks, where usage arrives) are normalised for every kind, in chat-api.ts
// and openai-compatible-stream.ts, since a response can only be read one way.
//
// Each rule names its source. "Unverified" marks a rule we could not check against the vendor's own reference.

/** Whether the request is for a streamed call: some vendors accept a parameter only in one of the two. */
export interface PrepareOptions {
  stream: boolean;
}

/** A request body as sent to the vendor: the canonical request with the vendor's changes. */
export type VendorRequestBody = Record<string, unknown>;

/** What the OpenAI-compatible adapter does differently for one kind. */
export interface VendorQuirks {
  /**
   * The body this vendor accepts for `request`: unsupported parameters dropped, renamed ones mapped. Returns the
   * request itself when nothing changes (the common case: no copy on the hot path). `stream`/`stream_options`
   * are left to {@link jsonBody} / {@link streamBody}.
   */
  prepareRequest(request: ChatCompletionRequest, options: PrepareOptions): VendorRequestBody;
  /** The body of a non-streamed call: never a stream, whatever the request says. */
  jsonBody(request: ChatCompletionRequest): VendorRequestBody;
  /** The body of a streamed call; `includeUsage` adds `stream_options.include_usage: true` (see provider-kinds.ts). */
  streamBody(request: ChatCompletionRequest, includeUsage: boolean): VendorRequestBody;
  /** Vendor error codes (from `code` or `type`) → kind, consulted before the shared table. */
  codeKinds: ReadonlyMap<string, ProviderErrorKind>;
}

type Body = VendorRequestBody;
type Rule = (body: ChatCompletionRequest, options: PrepareOptions) => Body;

function numberField(body: Body, key: string): number | undefined {
  const value = body[key];
  return typeof value === 'number' ? value : undefined;
}

/** A shallow copy without `keys`; the request itself when it has none of them. */
function without(body: Body, keys: readonly string[]): Body {
  if (!keys.some((key) => body[key] !== undefined)) return body;
  const copy: Body = { ...body };
  for (const key of keys) delete copy[key];
  return copy;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** `thinking: {type}` from `reasoning_effort` ('none' → disabled, any other level → enabled); an explicit `thinking` wins. */
function thinkingFromEffort(body: Body): Body {
  const effort = body['reasoning_effort'];
  if (effort == null) return body;
  const { reasoning_effort: _effort, ...rest } = body;
  if (rest['thinking'] != null) return rest;
  return { ...rest, thinking: { type: effort === 'none' ? 'disabled' : 'enabled' } };
}

// OpenAI: reasoning models (o1, o3, o4-mini…, gpt-5*) refuse `max_tokens` ("Unsupported parameter: 'max_tokens'
// … Use 'max_completion_tokens' instead"); max_completion_tokens works for every current model, but older
// compatible servers only know max_tokens, so only these models are rewritten.
const OPENAI_REASONING_MODEL = /^(?:o\d|gpt-5)/;
const openai: Rule = (body) => {
  if (body.max_tokens == null || !OPENAI_REASONING_MODEL.test(body.model)) return body;
  const { max_tokens: maxTokens, ...rest } = body;
  return { ...rest, max_completion_tokens: body.max_completion_tokens ?? maxTokens };
};

// Zhipu GLM (/api/paas/v4, docs.z.ai chat completion reference): temperature in [0, 1], top_p in [0.01, 1]
// (the older GLM-4 reference said the open intervals (0, 1); current models accept the closed bounds). Values
// outside are clamped into range rather than refused. Reasoning is switched with `thinking: {type}` (GLM-4.5 and
// later). Usage rides on the finish chunk without `stream_options`, which Zhipu does not document: dropped.
const zhipu: Rule = (body) => {
  let next = thinkingFromEffort(without(body, ['stream_options']));
  const temperature = numberField(next, 'temperature');
  if (temperature !== undefined && (temperature < 0 || temperature > 1)) {
    next = { ...next, temperature: clamp(temperature, 0, 1) };
  }
  const topP = numberField(next, 'top_p');
  if (topP !== undefined && (topP < 0.01 || topP > 1)) next = { ...next, top_p: clamp(topP, 0.01, 1) };
  return next;
};

// DashScope compatible mode: `enable_thinking` switches hybrid Qwen3 models (from reasoning_effort: 'none' → false,
// others → true; an explicit enable_thinking wins). Its reference: thinking is only available in streamed calls;
// a non-streamed call to a model that thinks by default is refused ("parameter.enable_thinking must be set to
// false for non-streaming calls"), so chat() sends enable_thinking: false unless the caller set it.
const dashscope: Rule = (body, { stream }) => {
  const effort = body.reasoning_effort;
  let next: Body = body;
  if (effort != null) {
    const { reasoning_effort: _effort, ...rest } = body;
    next = rest['enable_thinking'] == null ? { ...rest, enable_thinking: effort !== 'none' } : rest;
  }
  if (!stream && next['enable_thinking'] !== false && body['enable_thinking'] == null) {
    next = { ...next, enable_thinking: false };
  }
  return next;
};

// Volcengine Ark (Doubao): models are endpoint ids (`ep-…`) or model names, sent as is. Deep thinking is switched
// with `thinking: {type: 'enabled' | 'disabled' | 'auto'}`; reasoning_effort maps onto it.
const doubao: Rule = (body) => thinkingFromEffort(body);

// DeepSeek: reasoning_effort 'none' (not a DeepSeek level) turns thinking off with `thinking: {type: 'disabled'}`;
// other levels pass through. `reasoning_content` on assistant messages passes through untouched: in thinking mode
// with tool calls the reference requires it to be sent back (400 otherwise), and older deepseek-reasoner ignores
// or refuses it; the caller owns the history, so we neither add nor strip it.
const deepseek: Rule = (body) => (body.reasoning_effort === 'none' ? thinkingFromEffort(body) : body);

// Moonshot (Kimi): temperature documented as [0, 1] for moonshot-v1 (clamped); `tool_choice: 'required'` is not
// supported by its reference (unverified against the current Kimi docs), so it becomes 'auto'.
const moonshot: Rule = (body) => {
  let next: Body = body;
  if (body.temperature != null && body.temperature > 1) next = { ...next, temperature: 1 };
  if (body.tool_choice === 'required') next = { ...next, tool_choice: 'auto' };
  return next;
};

// Mistral: `random_seed` instead of `seed`, `max_tokens` only, `tool_choice: 'any'` instead of 'required', no
// `stream_options` (usage comes on the last chunk anyway). Its API validates strictly (unknown fields are a 422,
// unverified for every field), so OpenAI-only fields are dropped.
const MISTRAL_DROPPED = [
  'stream_options',
  'user',
  'store',
  'metadata',
  'service_tier',
  'logit_bias',
  'logprobs',
  'top_logprobs',
  'modalities',
];
const mistral: Rule = (body) => {
  const { seed, max_completion_tokens: maxCompletionTokens, ...rest } = without(body, MISTRAL_DROPPED);
  let next: Body = rest;
  if (seed != null) next = { ...next, random_seed: seed };
  if (maxCompletionTokens != null) next = { ...next, max_tokens: next['max_tokens'] ?? maxCompletionTokens };
  if (next['tool_choice'] === 'required') next = { ...next, tool_choice: 'any' };
  return next;
};

// Groq (console.groq.com/docs/openai): `logprobs`, `logit_bias`, `top_logprobs` and `messages[].name` are a 400;
// `n` must be 1 (dropped: the answer has one choice).
const groq: Rule = (body) => {
  let next = without(body, ['logprobs', 'logit_bias', 'top_logprobs']);
  if (body.n != null && body.n !== 1) next = without(next, ['n']);
  if (body.messages.some((message) => message.name !== undefined)) {
    next = { ...next, messages: body.messages.map(({ name: _name, ...message }) => message) };
  }
  return next;
};

// Ollama's /v1 endpoint documents `max_tokens` only (max_completion_tokens is mapped); unknown fields are ignored
// by its server, so nothing else needs dropping. Its reasoning arrives as `reasoning` (normalised on the way in).
const ollama: Rule = (body) => {
  if (body.max_completion_tokens == null) return body;
  const { max_completion_tokens: maxCompletionTokens, ...rest } = body;
  return { ...rest, max_tokens: rest.max_tokens ?? maxCompletionTokens };
};

const passThrough: Rule = (body) => body;

// Zhipu's business codes (docs.z.ai/api-reference/api-code): 1113 balance exhausted (HTTP 429), 1301 unsafe
// content, 1302 too many concurrent requests, 1303 too frequent, 1305 too many requests / temporarily overloaded
// (HTTP 429), 1261 prompt too long (from the bigmodel.cn list; not in the excerpt of the reference we could read).
const ZHIPU_CODES = new Map<string, ProviderErrorKind>([
  ['1113', 'quota'],
  ['1261', 'context_window'],
  ['1301', 'content_filter'],
  ['1302', 'rate_limit'],
  ['1303', 'rate_limit'],
  ['1305', 'rate_limit'],
]);

// Qianfan v2 (OpenAI-style `error.code`): input too long; legacy numeric RPM/TPM limits 336501/336502 (Qianfan
// rate-limit reference). The v2 rate-limit answers (`rpm_rate_limit_exceeded` / `tpm_rate_limit_exceeded`,
// type `rate_limit_exceeded`; code names unverified) come with HTTP 429, which already says rate_limit.
const QIANFAN_CODES = new Map<string, ProviderErrorKind>([
  ['tokens_too_long', 'context_window'],
  ['characters_too_long', 'context_window'],
  ['336501', 'rate_limit'],
  ['336502', 'rate_limit'],
]);

// Ark (Doubao): an over-long input (text and images) is `OutofContextError`.
const DOUBAO_CODES = new Map<string, ProviderErrorKind>([['OutofContextError', 'context_window']]);

const NO_CODES: ReadonlyMap<string, ProviderErrorKind> = new Map();

function quirks(prepare: Rule, codeKinds: ReadonlyMap<string, ProviderErrorKind> = NO_CODES): VendorQuirks {
  return {
    prepareRequest: prepare,
    jsonBody(request) {
      // Copy only when there is something to drop.
      const body = prepare(request, { stream: false });
      return body['stream'] == null && body['stream_options'] == null
        ? body
        : without(body, ['stream', 'stream_options']);
    },
    streamBody(request, includeUsage) {
      const body = prepare(request, { stream: true });
      if (includeUsage) {
        const options = isRecord(body['stream_options']) ? body['stream_options'] : {};
        return { ...body, stream: true, stream_options: { ...options, include_usage: true } };
      }
      return body['stream'] === true ? body : { ...body, stream: true };
    },
    codeKinds,
  };
}

const QUIRKS: Readonly<Record<ProviderKind, VendorQuirks>> = {
  openai: quirks(openai),
  'openai-compatible': quirks(passThrough),
  // Azure OpenAI speaks OpenAI's wire format with a deployment name as the model: the reasoning-model rule only
  // applies to deployments named after their model.
  'azure-openai': quirks(openai),
  // Native adapters; listed so that the table covers every kind.
  anthropic: quirks(passThrough),
  gemini: quirks(passThrough),
  bedrock: quirks(passThrough),
  zhipu: quirks(zhipu, ZHIPU_CODES),
  dashscope: quirks(dashscope),
  // Qianfan v2 and Hunyuan accept the OpenAI request as is (Hunyuan's `enable_enhancement` and other vendor
  // fields pass through, as unknown fields always do).
  qianfan: quirks(passThrough, QIANFAN_CODES),
  hunyuan: quirks(passThrough),
  doubao: quirks(doubao, DOUBAO_CODES),
  deepseek: quirks(deepseek),
  moonshot: quirks(moonshot),
  mistral: quirks(mistral),
  groq: quirks(groq),
  ollama: quirks(ollama),
  // vLLM accepts every OpenAI field and its own extras (top_k, chat_template_kwargs…).
  vllm: quirks(passThrough),
  demo: quirks(passThrough),
};

/**
 * The per-kind request conversion and error codes of the OpenAI-compatible adapter. In short (details and
 * sources above each rule, and in docs/providers/openai-compatible.md):
 * - openai: `max_tokens` → `max_completion_tokens` for o-series and gpt-5 models.
 * - zhipu: temperature clamped into [0, 1], top_p into [0.01, 1]; reasoning_effort → `thinking`; no stream_options.
 * - dashscope: reasoning_effort → `enable_thinking`; non-streamed calls send `enable_thinking: false` unless set.
 * - doubao: reasoning_effort → `thinking`; `ep-…` endpoint ids sent as the model.
 * - deepseek: reasoning_effort 'none' → `thinking: {type: 'disabled'}`; reasoning_content in history untouched.
 * - moonshot: temperature ≤ 1; tool_choice 'required' → 'auto'.
 * - mistral: seed → random_seed, max_completion_tokens → max_tokens, 'required' → 'any'; OpenAI-only fields and
 *   stream_options dropped.
 * - groq: logprobs, logit_bias, top_logprobs, n ≠ 1 and message names dropped.
 * - ollama: max_completion_tokens → max_tokens.
 * - qianfan, hunyuan, vllm, openai-compatible: passed through.
 *
 * @example
 * ```ts
 * const body = vendorQuirks('mistral').prepareRequest({ ...request, seed: 7 }, { stream: false });
 * body['random_seed']; // 7
 * ```
 */
export function vendorQuirks(kind: ProviderKind): VendorQuirks {
  return QUIRKS[kind];
}
