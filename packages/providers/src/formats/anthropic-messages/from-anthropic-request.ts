import type { ChatCompletionRequest } from '../../chat-api.ts';
import type { ChatMessage, ChatTool, ChatToolCall } from '../../chat-messages.ts';
import type {
  AnthropicContentBlock,
  AnthropicMessage,
  AnthropicThinking,
  AnthropicMessagesRequest,
} from './messages-request-schema.ts';

type UserPart = Exclude<Extract<ChatMessage, { role: 'user' }>['content'], string>[number];

/** Options for {@link fromAnthropicRequest}. */
export interface FromAnthropicOptions {
  /**
   * The target speaks Anthropic natively: keep `thinking` and `top_k` as extra request fields, which
   * its adapter sends as they are. OpenAI-format upstreams reject unknown fields, so they only get
   * `reasoning_effort`, and `top_k` is dropped.
   */
  nativeAnthropic: boolean;
}

// Thinking budgets → OpenAI reasoning effort. Anthropic's minimum budget is 1024 tokens; its docs
// suggest starting there and going to 16k+ for complex tasks, so the thresholds split that range.
const LOW_EFFORT_BELOW = 4096;
const MEDIUM_EFFORT_BELOW = 16_384;

/**
 * The reasoning effort for an Anthropic request. `output_config.effort` wins when given (`low`,
 * `medium`, `high`, `xhigh` as they are; `max`, which OpenAI lacks, becomes `xhigh`). Otherwise a
 * thinking budget maps to `low` under 4096 tokens, `medium` under 16384, else `high`; `adaptive`,
 * `between_tools`, `disabled` or no thinking set none.
 *
 * @example
 * reasoningEffortFor({ type: 'enabled', budget_tokens: 10_000 }); // 'medium'
 */
export function reasoningEffortFor(
  thinking: AnthropicThinking | null | undefined,
  effort?: string | null,
): string | undefined {
  if (effort != null && effort !== '') return effort === 'max' ? 'xhigh' : effort;
  if (thinking?.type !== 'enabled') return undefined;
  if (thinking.budget_tokens < LOW_EFFORT_BELOW) return 'low';
  if (thinking.budget_tokens < MEDIUM_EFFORT_BELOW) return 'medium';
  return 'high';
}

function imageUrl(block: Extract<AnthropicContentBlock, { type: 'image' }>): string {
  const { source } = block;
  return source.type === 'base64' ? `data:${source.media_type};base64,${source.data}` : source.url;
}

function toolResultText(block: Extract<AnthropicContentBlock, { type: 'tool_result' }>): string {
  const { content } = block;
  if (content == null) return '';
  if (typeof content === 'string') return content;
  // A tool message carries text only; an image in a tool result has no canonical place, so it is left out.
  return content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

type CacheControl = Extract<AnthropicContentBlock, { type: 'text' }>['cache_control'];

// The native Anthropic adapter sends `cache_control` on text parts and tools as it finds them; OpenAI-format
// upstreams would reject the unknown field, so it is only kept for a native target.
function cacheControl(value: CacheControl, nativeAnthropic: boolean): { cache_control?: NonNullable<CacheControl> } {
  return nativeAnthropic && value != null ? { cache_control: value } : {};
}

function blocksOf(message: AnthropicMessage): AnthropicContentBlock[] {
  return typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
}

// A user turn: its tool results first (each a `tool` message answering the assistant's call just
// before), then the rest of the turn as one user message.
function userMessages(message: AnthropicMessage, nativeAnthropic: boolean): ChatMessage[] {
  const messages: ChatMessage[] = [];
  const parts: UserPart[] = [];
  for (const block of blocksOf(message)) {
    switch (block.type) {
      case 'tool_result':
        messages.push({ role: 'tool', tool_call_id: block.tool_use_id, content: toolResultText(block) });
        break;
      case 'text':
        parts.push({ type: 'text', text: block.text, ...cacheControl(block.cache_control, nativeAnthropic) });
        break;
      case 'image':
        parts.push({ type: 'image_url', image_url: { url: imageUrl(block) } });
        break;
      default:
        // tool_use and thinking blocks belong to assistant turns; in a user turn they say nothing to the model.
        break;
    }
  }
  if (parts.length > 0) {
    // A plain string when nothing but text (and no caching breakpoint) is there: what every upstream reads best.
    const onlyText = parts.every((part) => part.type === 'text' && part['cache_control'] === undefined);
    messages.push({
      role: 'user',
      content: onlyText ? parts.map((part) => (part.type === 'text' ? part.text : '')).join('\n') : parts,
    });
  }
  return messages;
}

function assistantMessage(message: AnthropicMessage): ChatMessage {
  let text = '';
  let reasoning = '';
  const toolCalls: ChatToolCall[] = [];
  for (const block of blocksOf(message)) {
    switch (block.type) {
      case 'text':
        text += block.text;
        break;
      case 'thinking':
        reasoning += block.thinking;
        break;
      case 'tool_use':
        toolCalls.push({
          id: block.id,
          type: 'function',
          function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
        });
        break;
      default:
        // redacted_thinking is encrypted for Anthropic only; images and tool results do not occur in assistant turns.
        break;
    }
  }
  return {
    role: 'assistant',
    content: text === '' && toolCalls.length > 0 ? null : text,
    ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
    ...(reasoning === '' ? {} : { reasoning_content: reasoning }),
  };
}

function toolChoice(
  request: AnthropicMessagesRequest,
): Pick<ChatCompletionRequest, 'tool_choice' | 'parallel_tool_calls'> {
  const choice = request.tool_choice;
  if (choice == null) return {};
  const parallel =
    choice.type !== 'none' && choice.disable_parallel_tool_use === true ? { parallel_tool_calls: false } : {};
  switch (choice.type) {
    case 'auto':
      return { tool_choice: 'auto', ...parallel };
    case 'any':
      return { tool_choice: 'required', ...parallel };
    case 'tool':
      return { tool_choice: { type: 'function', function: { name: choice.name } }, ...parallel };
    case 'none':
      return { tool_choice: 'none' };
  }
}

/**
 * Converts an Anthropic Messages request into the canonical (OpenAI Chat Completions) request.
 * - `system` (string or text blocks) → a leading system message.
 * - Text and image blocks → user content parts (base64 images become `data:` URLs).
 * - Assistant `tool_use` blocks → `tool_calls` (arguments = JSON of `input`); `thinking` blocks →
 *   `reasoning_content`; `redacted_thinking` is dropped (only Anthropic can read it).
 * - User `tool_result` blocks → `tool` messages, placed before the rest of that turn; their text is
 *   joined (images in tool results are dropped).
 * - `tools` → function tools (`input_schema` → `parameters`); `tool_choice` auto/any/tool/none →
 *   auto/required/named/none; `disable_parallel_tool_use` → `parallel_tool_calls: false`.
 * - `stop_sequences` → `stop`, `max_tokens`, `temperature`, `top_p` as they are,
 *   `metadata.user_id` → `user`. `top_k` is kept only for a native Anthropic target (OpenAI has no equivalent).
 * - `thinking` enabled / `output_config.effort` → `reasoning_effort` (see {@link reasoningEffortFor}),
 *   plus `thinking` as an extra field when `nativeAnthropic`.
 * - `output_config.format` (JSON schema) → `response_format: json_schema` named `output`, strict.
 * - `cache_control` on system blocks, user text blocks and tools is kept when `nativeAnthropic`
 *   (prompt caching keeps working); elsewhere it is dropped.
 * `model` is copied as sent; the caller resolves it.
 *
 * @example
 * const request = fromAnthropicRequest(anthropicMessagesRequestSchema.parse(body), { nativeAnthropic: false });
 */
export function fromAnthropicRequest(
  request: AnthropicMessagesRequest,
  options: FromAnthropicOptions,
): ChatCompletionRequest {
  const messages: ChatMessage[] = [];
  const { system } = request;
  const native = options.nativeAnthropic;
  if (typeof system === 'string') {
    if (system !== '') messages.push({ role: 'system', content: system });
  } else if (system != null && system.length > 0) {
    const cached = native && system.some((block) => block.cache_control != null);
    messages.push({
      role: 'system',
      content: cached
        ? system.map((block) => ({
            type: 'text' as const,
            text: block.text,
            ...cacheControl(block.cache_control, native),
          }))
        : system.map((block) => block.text).join('\n'),
    });
  }
  for (const message of request.messages) {
    if (message.role === 'user') messages.push(...userMessages(message, native));
    else messages.push(assistantMessage(message));
  }

  const tools: ChatTool[] | undefined = request.tools?.map((tool) => ({
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description == null ? {} : { description: tool.description }),
      parameters: tool.input_schema,
    },
    ...cacheControl(tool.cache_control, native),
  }));
  const effort = reasoningEffortFor(request.thinking, request.output_config?.effort);
  const format = request.output_config?.format;

  return {
    model: request.model,
    messages,
    max_tokens: request.max_tokens,
    ...(request.stream === true ? { stream: true } : {}),
    ...(request.temperature == null ? {} : { temperature: request.temperature }),
    ...(request.top_p == null ? {} : { top_p: request.top_p }),
    ...(request.stop_sequences == null || request.stop_sequences.length === 0 ? {} : { stop: request.stop_sequences }),
    ...(request.metadata?.user_id == null ? {} : { user: request.metadata.user_id }),
    ...(tools === undefined || tools.length === 0 ? {} : { tools }),
    ...toolChoice(request),
    ...(effort === undefined ? {} : { reasoning_effort: effort }),
    ...(format == null
      ? {}
      : {
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'output', schema: format.schema, strict: true },
          },
        }),
    ...(options.nativeAnthropic && request.thinking != null ? { thinking: request.thinking } : {}),
    ...(options.nativeAnthropic && request.top_k != null ? { top_k: request.top_k } : {}),
  };
}
