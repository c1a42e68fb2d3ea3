import type { ChatCompletionRequest } from '../chat-api.ts';
import type { ChatMessage } from '../chat-messages.ts';
import { parseJson } from '../parse-json.ts';
import { ProviderError } from '../provider-error.ts';

/** One Converse content block, as sent. */
export type BedrockContentBlock =
  | { text: string }
  | { image: { format: string; source: { bytes: string } } }
  | { toolUse: { toolUseId: string; name: string; input: unknown } }
  | { toolResult: { toolUseId: string; content: Array<{ text: string } | { json: unknown }> } };

/** One Converse message, as sent. */
export interface BedrockMessage {
  role: 'user' | 'assistant';
  content: BedrockContentBlock[];
}

/** The JSON body of POST /model/{modelId}/converse (and /converse-stream). */
export interface BedrockConverseRequest {
  messages: BedrockMessage[];
  system?: Array<{ text: string }>;
  inferenceConfig?: { maxTokens?: number; temperature?: number; topP?: number; stopSequences?: string[] };
  toolConfig?: {
    tools: Array<{ toolSpec: { name: string; description?: string; inputSchema: { json: unknown } } }>;
    toolChoice?: { auto: Record<string, never> } | { any: Record<string, never> } | { tool: { name: string } };
  };
}

// Request fields with no Converse counterpart are dropped rather than refused (the OpenAI fields a client may send
// out of habit): n, presence_penalty, frequency_penalty, seed, user, response_format, logprobs, top_logprobs, logit_bias, reasoning_effort, metadata, store, service_tier, modalities, parallel_tool_calls, stream_options.
// `reasoning_effort` is among them: Claude's thinking on Bedrock takes a token budget (`thinking.budget_tokens`,
// deprecated on the newest Claude models in favour of adaptive thinking), so no one mapping of an effort level is
// right for every model.

const IMAGE_FORMATS: ReadonlyMap<string, string> = new Map([
  ['image/png', 'png'],
  ['image/jpeg', 'jpeg'],
  ['image/jpg', 'jpeg'],
  ['image/gif', 'gif'],
  ['image/webp', 'webp'],
]);

function refuse(message: string, provider: string, param: string): ProviderError {
  return new ProviderError({ kind: 'invalid_request', message, provider, param });
}

function textOf(content: string | Array<{ text: string }>): string {
  return typeof content === 'string' ? content : content.map((part) => part.text).join('');
}

function imageBlock(url: string, provider: string, param: string): BedrockContentBlock {
  // Converse takes image bytes only (or an S3 location); it never fetches a URL, and neither do we.
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  const format = match?.[1] === undefined ? undefined : IMAGE_FORMATS.get(match[1].toLowerCase());
  if (match?.[2] === undefined || format === undefined) {
    throw refuse(
      'Bedrock takes images only as base64 data: URLs of png, jpeg, gif or webp; fetch the image and send it inline',
      provider,
      param,
    );
  }
  return { image: { format, source: { bytes: match[2] } } };
}

function userBlocks(
  message: Extract<ChatMessage, { role: 'user' }>,
  provider: string,
  path: string,
): BedrockContentBlock[] {
  if (typeof message.content === 'string') return [{ text: message.content }];
  return message.content.map((part, index): BedrockContentBlock => {
    const param = `${path}.content[${index}]`;
    switch (part.type) {
      case 'text':
        return { text: part.text };
      case 'image_url':
        return imageBlock(part.image_url.url, provider, param);
      default:
        throw refuse(`The Bedrock adapter does not send ${part.type} content parts`, provider, param);
    }
  });
}

function assistantBlocks(
  message: Extract<ChatMessage, { role: 'assistant' }>,
  provider: string,
  path: string,
): BedrockContentBlock[] {
  const blocks: BedrockContentBlock[] = [];
  const { content } = message;
  if (typeof content === 'string') {
    if (content !== '') blocks.push({ text: content });
  } else if (content != null) {
    for (const part of content) {
      const text = part.type === 'text' ? part.text : part.refusal;
      if (text !== '') blocks.push({ text });
    }
  }
  for (const [index, call] of (message.tool_calls ?? []).entries()) {
    const param = `${path}.tool_calls[${index}]`;
    if (call.type !== 'function') throw refuse('Bedrock has no custom (free-form) tools', provider, param);
    const input = call.function.arguments.trim() === '' ? {} : parseJson(call.function.arguments);
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw refuse('Bedrock needs tool call arguments that are a JSON object', provider, `${param}.function.arguments`);
    }
    blocks.push({ toolUse: { toolUseId: call.id, name: call.function.name, input } });
  }
  return blocks;
}

function toolResultBlock(message: Extract<ChatMessage, { role: 'tool' }>): BedrockContentBlock {
  const text = textOf(message.content);
  // A JSON object result goes as `json` so the model sees structure; anything else as text.
  const parsed = parseJson(text);
  const content =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? [{ json: parsed }] : [{ text }];
  return { toolResult: { toolUseId: message.tool_call_id, content } };
}

function convertTools(request: ChatCompletionRequest, provider: string): BedrockConverseRequest['toolConfig'] {
  const choice = request.tool_choice;
  if (request.tools == null || request.tools.length === 0 || choice === 'none') return undefined;
  const tools = request.tools.map((tool, index) => {
    if (tool.type !== 'function') throw refuse('Bedrock has no custom (free-form) tools', provider, `tools[${index}]`);
    const { name, description, parameters } = tool.function;
    return {
      toolSpec: {
        name,
        ...(description == null ? {} : { description }),
        inputSchema: { json: parameters ?? { type: 'object', properties: {} } },
      },
    };
  });
  if (choice == null || choice === 'auto') return { tools, toolChoice: { auto: {} } };
  if (choice === 'required') return { tools, toolChoice: { any: {} } };
  if (choice.type === 'function') return { tools, toolChoice: { tool: { name: choice.function.name } } };
  if (choice.type === 'allowed_tools') {
    return { tools, toolChoice: choice.allowed_tools.mode === 'required' ? { any: {} } : { auto: {} } };
  }
  throw refuse('Bedrock has no custom (free-form) tools', provider, 'tool_choice');
}

/**
 * A canonical chat request as a Converse body: system and developer messages → `system`; user, assistant and tool
 * messages → `messages` (tool results as user `toolResult` blocks, consecutive same-role messages merged, as
 * Converse requires alternating roles); tools → `toolConfig` (`tool_choice` auto → auto, required → any, a named
 * function → tool, none → no tools sent); max_completion_tokens / max_tokens, temperature, top_p and stop →
 * `inferenceConfig`. Fields in {@link BEDROCK_DROPPED_PARAMETERS} are dropped. Throws a `ProviderError` of kind
 * `invalid_request` for what Converse cannot carry: image URLs that are not base64 `data:` URLs, audio and file
 * parts, custom tools, tool call arguments that are not a JSON object, legacy `function` messages.
 *
 * @example
 * ```ts
 * const messages = [{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'Hi' }] as const;
 * convertToBedrockRequest({ model: 'm', messages: [...messages] }, 'bedrock');
 * // { system: [{ text: 'Be brief' }], messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }
 * ```
 */
export function convertToBedrockRequest(request: ChatCompletionRequest, provider: string): BedrockConverseRequest {
  const system: Array<{ text: string }> = [];
  const messages: BedrockMessage[] = [];
  const append = (role: 'user' | 'assistant', content: BedrockContentBlock[]): void => {
    if (content.length === 0) return;
    const last = messages.at(-1);
    if (last?.role === role) last.content.push(...content);
    else messages.push({ role, content });
  };
  for (const [index, message] of request.messages.entries()) {
    const path = `messages[${index}]`;
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push({ text: textOf(message.content) });
        break;
      case 'user':
        append('user', userBlocks(message, provider, path));
        break;
      case 'assistant':
        append('assistant', assistantBlocks(message, provider, path));
        break;
      case 'tool':
        append('user', [toolResultBlock(message)]);
        break;
      case 'function':
        throw refuse('Bedrock has no legacy function messages; use tool messages', provider, path);
    }
  }
  const body: BedrockConverseRequest = { messages };
  if (system.length > 0) body.system = system;
  const inferenceConfig: NonNullable<BedrockConverseRequest['inferenceConfig']> = {};
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (maxTokens != null) inferenceConfig.maxTokens = maxTokens;
  if (request.temperature != null) inferenceConfig.temperature = request.temperature;
  if (request.top_p != null) inferenceConfig.topP = request.top_p;
  if (request.stop != null)
    inferenceConfig.stopSequences = typeof request.stop === 'string' ? [request.stop] : request.stop;
  if (Object.keys(inferenceConfig).length > 0) body.inferenceConfig = inferenceConfig;
  const toolConfig = convertTools(request, provider);
  if (toolConfig !== undefined) body.toolConfig = toolConfig;
  return body;
}
