import { z } from 'zod';
import type { ChatCompletionRequest } from '../chat-api.ts';
import type { ChatMessage, ChatTool } from '../chat-messages.ts';
import { ProviderError } from '../provider-error.ts';

/** max_tokens sent when the request names none (Anthropic requires it); `ProviderConfig.defaultMaxTokens` overrides. */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 4096;

/**
 * Thinking budgets for `reasoning_effort`. Anthropic's minimum budget is 1024 tokens; each level doubles or
 * quadruples the one below, `none` turns thinking off.
 */
export const ANTHROPIC_THINKING_BUDGETS: Readonly<Record<string, number>> = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 16_384,
  xhigh: 32_768,
};

const MIN_THINKING_BUDGET = 1024;

// Anthropic-native fields a caller may send as extras on the canonical request; they pass through untouched.
// Every other unknown field is dropped: the Messages API refuses fields it does not know.
const NATIVE_PASSTHROUGH = ['top_k', 'container', 'mcp_servers'] as const;

/** A content block we send. `cache_control` on a text part passes through for prompt caching. */
type AnthropicRequestBlock = Record<string, unknown> & { type: string };

interface AnthropicRequestMessage {
  role: 'user' | 'assistant';
  content: AnthropicRequestBlock[];
}

/** The Messages request body this adapter sends. */
export interface AnthropicRequest {
  model: string;
  messages: AnthropicRequestMessage[];
  max_tokens: number;
  system?: string | AnthropicRequestBlock[];
  tools?: Array<Record<string, unknown>>;
  tool_choice?: Record<string, unknown>;
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  metadata?: { user_id: string };
  thinking?: Record<string, unknown>;
  stream?: boolean;
  [extra: string]: unknown;
}

/** What the converter needs besides the request. */
export interface ConvertOptions {
  provider: string;
  /** max_tokens when the request has none. */
  defaultMaxTokens: number;
}

const nativeThinkingSchema = z.looseObject({ type: z.string(), budget_tokens: z.number().nullish() });
const cacheControlSchema = z.looseObject({ type: z.string() });

function invalid(message: string, options: ConvertOptions, model: string): ProviderError {
  return new ProviderError({ kind: 'invalid_request', message, provider: options.provider, model, retryable: false });
}

function textBlock(text: string, part?: unknown): AnthropicRequestBlock {
  const cacheControl = cacheControlSchema.safeParse(
    typeof part === 'object' && part !== null ? Reflect.get(part, 'cache_control') : undefined,
  );
  return cacheControl.success ? { type: 'text', text, cache_control: cacheControl.data } : { type: 'text', text };
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

function imageBlock(url: string, where: string, fail: (message: string) => ProviderError): AnthropicRequestBlock {
  const match = DATA_URL.exec(url);
  if (match !== null) {
    return { type: 'image', source: { type: 'base64', media_type: match[1], data: match[2] } };
  }
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  throw fail(`${where}: an image must be a base64 data: URL or an http(s) URL`);
}

type TextContent = string | Array<{ type: 'text'; text: string }>;

function textsOf(content: TextContent): AnthropicRequestBlock[] {
  if (typeof content === 'string') return content === '' ? [] : [textBlock(content)];
  return content.filter((part) => part.text !== '').map((part) => textBlock(part.text, part));
}

function plainText(content: TextContent): string {
  return typeof content === 'string' ? content : content.map((part) => part.text).join('\n');
}

function hasCacheControl(content: TextContent): boolean {
  return typeof content !== 'string' && content.some((part) => Reflect.get(part, 'cache_control') != null);
}

function convertTool(tool: ChatTool, fail: (message: string) => ProviderError): Record<string, unknown> {
  if (tool.type !== 'function') throw fail(`Anthropic supports function tools only, got a ${tool.type} tool`);
  const { name, description, parameters } = tool.function;
  const converted: Record<string, unknown> = {
    name,
    input_schema: parameters ?? { type: 'object', properties: {} },
  };
  if (description != null) converted['description'] = description;
  const cacheControl = cacheControlSchema.safeParse(tool['cache_control']);
  if (cacheControl.success) converted['cache_control'] = cacheControl.data;
  return converted;
}

function convertToolChoice(
  request: ChatCompletionRequest,
  fail: (message: string) => ProviderError,
): Record<string, unknown> | undefined {
  const choice = request.tool_choice;
  let converted: Record<string, unknown> | undefined;
  if (choice == null) converted = undefined;
  else if (choice === 'auto') converted = { type: 'auto' };
  else if (choice === 'required') converted = { type: 'any' };
  else if (choice === 'none') converted = { type: 'none' };
  else if (choice.type === 'function') converted = { type: 'tool', name: choice.function.name };
  // allowed_tools: Anthropic cannot narrow the tool list per call; keep the mode, the subset is not enforced.
  else if (choice.type === 'allowed_tools') {
    converted = { type: choice.allowed_tools.mode === 'required' ? 'any' : 'auto' };
  } else throw fail('Anthropic supports function tools only, got tool_choice of a custom tool');
  if (request.parallel_tool_calls === false && converted?.['type'] !== 'none') {
    converted = { ...(converted ?? { type: 'auto' }), disable_parallel_tool_use: true };
  }
  return converted;
}

function parseArguments(text: string, index: number, fail: (message: string) => ProviderError): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw fail(`messages[${index}].tool_calls: arguments are not valid JSON, Anthropic needs a JSON object`);
  }
}

function convertMessageBlocks(
  message: Exclude<ChatMessage, { role: 'system' } | { role: 'developer' }>,
  index: number,
  fail: (message: string) => ProviderError,
): AnthropicRequestMessage {
  switch (message.role) {
    case 'user': {
      const { content } = message;
      if (typeof content === 'string') return { role: 'user', content: content === '' ? [] : [textBlock(content)] };
      const blocks = content.map((part, partIndex): AnthropicRequestBlock => {
        const where = `messages[${index}].content[${partIndex}]`;
        switch (part.type) {
          case 'text':
            return textBlock(part.text, part);
          case 'image_url':
            return imageBlock(part.image_url.url, where, fail);
          case 'file': {
            const match = DATA_URL.exec(part.file.file_data ?? '');
            if (match === null) throw fail(`${where}: Anthropic takes files only as base64 data: URLs (file_data)`);
            return { type: 'document', source: { type: 'base64', media_type: match[1], data: match[2] } };
          }
          case 'input_audio':
            throw fail(`${where}: Anthropic does not accept audio input`);
        }
      });
      return { role: 'user', content: blocks };
    }
    case 'assistant': {
      const blocks: AnthropicRequestBlock[] = [];
      const { content } = message;
      if (typeof content === 'string') {
        if (content !== '') blocks.push(textBlock(content));
      } else if (content != null) {
        for (const part of content) {
          const text = part.type === 'text' ? part.text : part.refusal;
          if (text !== '') blocks.push(textBlock(text, part));
        }
      }
      for (const call of message.tool_calls ?? []) {
        if (call.type !== 'function')
          throw fail(`messages[${index}].tool_calls: Anthropic supports function tool calls only`);
        blocks.push({
          type: 'tool_use',
          id: call.id,
          name: call.function.name,
          input: parseArguments(call.function.arguments, index, fail),
        });
      }
      return { role: 'assistant', content: blocks };
    }
    case 'tool':
      return {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: message.tool_call_id, content: textsOf(message.content) }],
      };
    case 'function':
      throw fail(`messages[${index}]: the legacy function role is not supported, use tool messages`);
  }
}

// Anthropic wants tool_result blocks before any text in a user turn; a stable sort keeps each group's order.
function toolResultsFirst(blocks: AnthropicRequestBlock[]): AnthropicRequestBlock[] {
  const results = blocks.filter((block) => block.type === 'tool_result');
  if (results.length === 0 || results.length === blocks.length) return blocks;
  return [...results, ...blocks.filter((block) => block.type !== 'tool_result')];
}

function thinkingFrom(
  request: ChatCompletionRequest,
  fail: (message: string) => ProviderError,
): Record<string, unknown> | undefined {
  const native = nativeThinkingSchema.safeParse(request['thinking']);
  if (native.success) return native.data;
  const effort = request.reasoning_effort;
  if (effort == null || effort === 'none') return undefined;
  const budget = ANTHROPIC_THINKING_BUDGETS[effort];
  if (budget === undefined) {
    throw fail(
      `reasoning_effort ${JSON.stringify(effort)} has no Anthropic thinking budget; use one of none, ${Object.keys(ANTHROPIC_THINKING_BUDGETS).join(', ')}`,
    );
  }
  return { type: 'enabled', budget_tokens: budget };
}

/**
 * A canonical (OpenAI Chat Completions) request as an Anthropic Messages request. Throws `ProviderError` of kind
 * `invalid_request` for what Anthropic cannot express (n > 1, audio input, custom tools, tool-call arguments
 * that are not JSON). See `docs/providers/anthropic.md` for every mapping and every dropped parameter.
 *
 * - system and developer messages (wherever they are) → top-level `system`, joined by blank lines.
 * - consecutive messages of one role are merged (Anthropic requires alternation); tool messages become
 *   `tool_result` blocks of a user turn, placed before that turn's text.
 * - assistant `reasoning_content` is dropped: Anthropic only accepts thinking blocks with the signature it issued.
 * - `max_completion_tokens` ?? `max_tokens` ?? `defaultMaxTokens` → `max_tokens`; with thinking on and no
 *   explicit limit, the thinking budget is added on top so the answer keeps its room.
 * - `reasoning_effort` → `thinking.budget_tokens` ({@link ANTHROPIC_THINKING_BUDGETS}); a native `thinking`
 *   field wins. With thinking on, `temperature` and `top_p` are dropped (Anthropic refuses them then).
 * - `temperature` clamped to [0, 1]; `stop` → `stop_sequences`; `user` → `metadata.user_id`.
 * - dropped: response_format, logprobs, top_logprobs, logit_bias, seed, presence_penalty, frequency_penalty,
 *   store, service_tier, modalities, metadata, stream_options, prediction, audio and any other unknown field
 *   except the native `thinking`, `top_k`, `container`, `mcp_servers`.
 *
 * @example
 * ```ts
 * const body = convertToAnthropicRequest(
 *   { model: 'claude-sonnet-4-5', messages: [{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'Hi' }] },
 *   { provider: 'anthropic', defaultMaxTokens: 4096 },
 * );
 * // { model: 'claude-sonnet-4-5', system: 'Be brief', messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }], max_tokens: 4096 }
 * ```
 */
export function convertToAnthropicRequest(request: ChatCompletionRequest, options: ConvertOptions): AnthropicRequest {
  const fail = (message: string): ProviderError => invalid(message, options, request.model);
  if (request.n != null && request.n > 1)
    throw fail('Anthropic returns one choice per request: n > 1 is not supported');

  const systemParts: TextContent[] = [];
  const messages: AnthropicRequestMessage[] = [];
  for (const [index, message] of request.messages.entries()) {
    if (message.role === 'system' || message.role === 'developer') {
      systemParts.push(message.content);
      continue;
    }
    const converted = convertMessageBlocks(message, index, fail);
    if (converted.content.length === 0) continue;
    const previous = messages.at(-1);
    if (previous?.role === converted.role) previous.content.push(...converted.content);
    else messages.push(converted);
  }
  for (const message of messages) {
    if (message.role === 'user') message.content = toolResultsFirst(message.content);
  }

  const thinking = thinkingFrom(request, fail);
  const budget = thinking?.['type'] === 'enabled' ? thinking['budget_tokens'] : undefined;
  const explicitMax = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  let maxTokens = explicitMax ?? options.defaultMaxTokens;
  let effectiveThinking = thinking;
  if (typeof budget === 'number' && maxTokens <= budget) {
    if (explicitMax === undefined) {
      maxTokens = options.defaultMaxTokens + budget;
    } else if (request['thinking'] === undefined) {
      // The caller's limit covers thinking and answer (as OpenAI's does reasoning): give thinking half of it,
      // or none when half is below Anthropic's minimum budget. A native `thinking` is sent as given.
      const half = Math.floor(maxTokens / 2);
      effectiveThinking = half >= MIN_THINKING_BUDGET ? { type: 'enabled', budget_tokens: half } : undefined;
    }
  }

  const body: AnthropicRequest = { model: request.model, messages, max_tokens: maxTokens };
  if (systemParts.length > 0) {
    body.system = systemParts.some(hasCacheControl)
      ? systemParts.flatMap(textsOf)
      : systemParts.map(plainText).join('\n\n');
  }
  if (request.tools != null && request.tools.length > 0) {
    body.tools = request.tools.map((tool) => convertTool(tool, fail));
    const toolChoice = convertToolChoice(request, fail);
    if (toolChoice !== undefined) body.tool_choice = toolChoice;
  }
  if (request.stop != null) {
    const stops = typeof request.stop === 'string' ? [request.stop] : request.stop;
    if (stops.length > 0) body.stop_sequences = stops;
  }
  if (effectiveThinking !== undefined) body.thinking = effectiveThinking;
  // Anthropic refuses temperature and top_p changes while thinking is on.
  if (effectiveThinking === undefined || effectiveThinking['type'] === 'disabled') {
    if (request.temperature != null) body.temperature = Math.min(1, Math.max(0, request.temperature));
    if (request.top_p != null) body.top_p = request.top_p;
  }
  if (request.user != null && request.user !== '') body.metadata = { user_id: request.user };
  for (const name of NATIVE_PASSTHROUGH) {
    if (request[name] !== undefined) body[name] = request[name];
  }
  return body;
}

/**
 * The streaming variant of a converted request (`stream: true`).
 *
 * @example
 * ```ts
 * const body = anthropicStreamBody(convertToAnthropicRequest(request, options));
 * ```
 */
export function anthropicStreamBody(body: AnthropicRequest): AnthropicRequest {
  return { ...body, stream: true };
}
