import type { ChatCompletionRequest } from '../../chat-api.ts';
import type { ChatMessage, ChatTool, ChatToolCall } from '../../chat-messages.ts';
import type { ResponsesInputItem, ResponsesRequest } from './responses-request-schema.ts';

type UserPart = Exclude<Extract<ChatMessage, { role: 'user' }>['content'], string>[number];
type MessageItem = Extract<ResponsesInputItem, { type: 'message' }>;
type ImageDetail = 'auto' | 'low' | 'high';

/** Options of {@link fromResponsesRequest}. */
export interface FromResponsesOptions {
  /**
   * The canonical messages of the conversation so far, for `previous_response_id`: what the stored previous
   * Response returns (see `responsesConversation`). They come after `instructions` and before the new input.
   */
  history?: readonly ChatMessage[] | undefined;
}

function isImageDetail(value: unknown): value is ImageDetail {
  return value === 'auto' || value === 'low' || value === 'high';
}

function textOf(parts: ReadonlyArray<{ type: string; text?: unknown }>): string {
  return parts.map((part) => (typeof part.text === 'string' ? part.text : '')).join('\n');
}

function userMessage(item: Extract<MessageItem, { role: 'user' }>): ChatMessage {
  if (typeof item.content === 'string') return { role: 'user', content: item.content };
  const parts: UserPart[] = item.content.map((part) =>
    part.type === 'input_image'
      ? {
          type: 'image_url',
          image_url: { url: part.image_url, ...(isImageDetail(part.detail) ? { detail: part.detail } : {}) },
        }
      : { type: 'text', text: part.text },
  );
  // A plain string when nothing but text is there: what every upstream reads best.
  const onlyText = parts.every((part) => part.type === 'text');
  return { role: 'user', content: onlyText ? textOf(item.content) : parts };
}

/** The assistant turn being assembled: one Response's reasoning, message and function calls become one message. */
interface AssistantTurn {
  text: string;
  refusal: string;
  reasoning: string;
  toolCalls: ChatToolCall[];
}

function assistantMessage(turn: AssistantTurn): ChatMessage {
  const hasCalls = turn.toolCalls.length > 0;
  return {
    role: 'assistant',
    content: turn.text === '' && hasCalls ? null : turn.text,
    ...(hasCalls ? { tool_calls: turn.toolCalls } : {}),
    ...(turn.refusal === '' ? {} : { refusal: turn.refusal }),
    ...(turn.reasoning === '' ? {} : { reasoning_content: turn.reasoning }),
  };
}

/**
 * Internal: Responses items as canonical messages, in order. An answer sent back as items (a `reasoning` item, the
 * assistant `message`, its `function_call`s) becomes one assistant message: reasoning as `reasoning_content`, the
 * calls as `tool_calls`. A `function_call_output` becomes a `tool` message (its text parts joined; images dropped).
 *
 * @example
 * responsesItemsToMessages([{ type: 'message', role: 'user', content: 'Hi' }]); // [{ role: 'user', content: 'Hi' }]
 */
export function responsesItemsToMessages(items: readonly ResponsesInputItem[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  let turn: AssistantTurn | undefined;
  const flush = (): void => {
    if (turn !== undefined) messages.push(assistantMessage(turn));
    turn = undefined;
  };
  // Whether the turn already holds an answer (text, refusal or calls): what comes next starts another one.
  const answered = (): boolean =>
    turn !== undefined && (turn.text !== '' || turn.refusal !== '' || turn.toolCalls.length > 0);
  const openTurn = (): AssistantTurn => {
    turn ??= { text: '', refusal: '', reasoning: '', toolCalls: [] };
    return turn;
  };
  for (const item of items) {
    switch (item.type) {
      case 'reasoning': {
        // Reasoning opens an answer: after a message or a call it belongs to the next one.
        if (answered()) flush();
        const parts = item.content != null && item.content.length > 0 ? item.content : (item.summary ?? []);
        const text = parts.map((part) => part.text).join('\n\n');
        const current = openTurn();
        current.reasoning = current.reasoning === '' ? text : `${current.reasoning}\n\n${text}`;
        break;
      }
      case 'function_call':
        openTurn().toolCalls.push({
          id: item.call_id,
          type: 'function',
          function: { name: item.name, arguments: item.arguments },
        });
        break;
      case 'message':
        if (item.role === 'assistant') {
          // Two assistant messages in a row stay two turns; a message after calls is a new answer.
          if (answered()) flush();
          const current = openTurn();
          if (typeof item.content === 'string') current.text = item.content;
          else {
            for (const part of item.content) {
              if (part.type === 'refusal') current.refusal += part.refusal;
              else current.text += part.text;
            }
          }
          break;
        }
        flush();
        if (item.role === 'user') messages.push(userMessage(item));
        else {
          const content = typeof item.content === 'string' ? item.content : textOf(item.content);
          messages.push({ role: item.role, content });
        }
        break;
      case 'function_call_output':
        flush();
        messages.push({
          role: 'tool',
          tool_call_id: item.call_id,
          content:
            typeof item.output === 'string'
              ? item.output
              : textOf(item.output.filter((part) => part.type === 'input_text' || part.type === 'output_text')),
        });
        break;
    }
  }
  flush();
  return messages;
}

function toolChoice(choice: ResponsesRequest['tool_choice']): Pick<ChatCompletionRequest, 'tool_choice'> {
  if (choice == null) return {};
  if (typeof choice === 'string') return { tool_choice: choice };
  if (choice.type === 'function') return { tool_choice: { type: 'function', function: { name: choice.name } } };
  return {
    tool_choice: {
      type: 'allowed_tools',
      allowed_tools: {
        mode: choice.mode,
        tools: choice.tools.map((tool) => ({ type: 'function', function: { name: tool.name } })),
      },
    },
  };
}

function responseFormat(text: ResponsesRequest['text']): Pick<ChatCompletionRequest, 'response_format'> {
  const format = text?.format;
  if (format == null || format.type === 'text') return {};
  if (format.type === 'json_object') return { response_format: { type: 'json_object' } };
  return {
    response_format: {
      type: 'json_schema',
      json_schema: {
        name: format.name,
        schema: format.schema,
        ...(format.description == null ? {} : { description: format.description }),
        ...(format.strict == null ? {} : { strict: format.strict }),
      },
    },
  };
}

/**
 * Converts a Responses API request into the canonical (OpenAI Chat Completions) request.
 * - `instructions` → a leading system message, then `history` (the previous Response's conversation), then
 *   `input`: a string is one user message; items become messages in order (see `responsesItemsToMessages`):
 *   `input_text` / `input_image` parts as text and `image_url` parts, `function_call` items as the assistant's
 *   `tool_calls`, `function_call_output` items as `tool` messages, `reasoning` items as `reasoning_content`.
 * - function `tools` → chat function tools (`strict` only when the client set it); `tool_choice` as it is,
 *   a named function or `allowed_tools` in the chat shape; `parallel_tool_calls`, `temperature`, `top_p`,
 *   `user` as they are; `max_output_tokens` → `max_tokens`; `reasoning.effort` → `reasoning_effort`;
 *   `text.format` (`json_schema`, `json_object`) → `response_format`.
 * - `store`, `metadata` and `previous_response_id` are the caller's business (OpenAI's chat API would store the
 *   completion, or refuse `metadata` without `store`), and are not sent; neither is `text.verbosity`, which
 *   other vendors reject.
 * `model` is copied as sent; the caller resolves it.
 *
 * @example
 * const request = fromResponsesRequest(responsesRequestSchema.parse(body), { history: stored?.messages });
 */
export function fromResponsesRequest(
  request: ResponsesRequest,
  options: FromResponsesOptions = {},
): ChatCompletionRequest {
  const messages: ChatMessage[] = [];
  if (request.instructions != null && request.instructions !== '') {
    messages.push({ role: 'system', content: request.instructions });
  }
  messages.push(...(options.history ?? []));
  if (typeof request.input === 'string') messages.push({ role: 'user', content: request.input });
  else messages.push(...responsesItemsToMessages(request.input));

  const tools: ChatTool[] | undefined = request.tools?.map((tool) => ({
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description == null ? {} : { description: tool.description }),
      ...(tool.parameters == null ? {} : { parameters: tool.parameters }),
      ...(tool.strict == null ? {} : { strict: tool.strict }),
    },
  }));
  const effort = request.reasoning?.effort;

  return {
    model: request.model,
    messages,
    ...(request.stream === true ? { stream: true } : {}),
    ...(request.max_output_tokens == null ? {} : { max_tokens: request.max_output_tokens }),
    ...(request.temperature == null ? {} : { temperature: request.temperature }),
    ...(request.top_p == null ? {} : { top_p: request.top_p }),
    ...(request.user == null ? {} : { user: request.user }),
    ...(tools === undefined || tools.length === 0 ? {} : { tools }),
    ...toolChoice(request.tool_choice),
    ...(request.parallel_tool_calls == null ? {} : { parallel_tool_calls: request.parallel_tool_calls }),
    ...(effort == null ? {} : { reasoning_effort: effort }),
    ...responseFormat(request.text),
  };
}
