import type { ChatPlan } from './stand-in-chat.ts';
import { argumentFragments, planChat, wordPieces } from './stand-in-chat.ts';
import type { RequestProblem } from './stand-in-request.ts';
import { field } from './stand-in-request.ts';
import type { StandInChatBehaviour } from './stand-in-types.ts';

// The stand-in's Anthropic Messages dialect (POST /v1/messages, GET /v1/models with anthropic-version), rendering
// the same behaviour objects as the OpenAI dialect. Wire shapes follow https://docs.anthropic.com/en/api/messages,
// /en/docs/build-with-claude/streaming and /en/api/errors.

/** A 4xx answer in Anthropic's error envelope. */
function anthropicProblem(status: number, type: string, message: string): RequestProblem {
  return { status, body: { type: 'error', error: { type, message }, request_id: 'req_standin' } };
}

// The error type Anthropic sends with each status.
function errorTypeFor(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    case 503:
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

/** The Anthropic error body the stand-in sends for an error behaviour without a body (529 → overloaded_error). */
export function anthropicErrorBody(status: number): unknown {
  return {
    type: 'error',
    error: { type: errorTypeFor(status), message: `Stand-in error (HTTP ${status})` },
    request_id: 'req_standin',
  };
}

/** `GET /v1/models` in Anthropic's shape. */
export function anthropicModelsJson(ids: readonly string[]): string {
  return JSON.stringify({
    data: ids.map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-02-19T00:00:00Z' })),
    has_more: false,
    first_id: ids[0] ?? null,
    last_id: ids.at(-1) ?? null,
  });
}

const STOP_REASON_BY_FINISH: Readonly<Record<string, string>> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  content_filter: 'refusal',
};

/** A planned Anthropic answer: the shared chat plan plus Anthropic's ids and stop reason. */
export interface AnthropicPlan {
  chat: ChatPlan;
  messageId: string;
  stopReason: string;
  toolUseIds: string[];
}

/**
 * Validates a Messages request the way Anthropic does where adapters slip (model, max_tokens, roles, system as a
 * message) and plans the answer from the behaviour. A finishReason that is not an OpenAI value is sent as the
 * stop_reason verbatim (e.g. `pause_turn`).
 */
export function planAnthropic(
  body: unknown,
  behaviour: StandInChatBehaviour,
  sequence: number,
): AnthropicPlan | RequestProblem {
  const model = field(body, 'model');
  if (typeof model !== 'string' || model === '')
    return anthropicProblem(400, 'invalid_request_error', 'model: Field required');
  const maxTokens = field(body, 'max_tokens');
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1) {
    return anthropicProblem(400, 'invalid_request_error', 'max_tokens: Field required');
  }
  const messages = field(body, 'messages');
  if (!Array.isArray(messages) || messages.length === 0) {
    return anthropicProblem(400, 'invalid_request_error', 'messages: at least one message is required');
  }
  for (const [index, message] of messages.entries()) {
    const role = field(message, 'role');
    if (role !== 'user' && role !== 'assistant') {
      return anthropicProblem(
        400,
        'invalid_request_error',
        `messages.${index}.role: Input should be 'user' or 'assistant'`,
      );
    }
    const previous: unknown = index > 0 ? field(messages[index - 1], 'role') : undefined;
    if (previous === role) {
      return anthropicProblem(
        400,
        'invalid_request_error',
        'messages: roles must alternate between "user" and "assistant"',
      );
    }
  }
  // planChat reads the OpenAI fields; stream_options never appears in a Messages request.
  const chat = planChat({ model, messages, stream: field(body, 'stream') === true }, behaviour, sequence);
  if ('status' in chat) return chat;
  const toolUseIds = (behaviour.toolCalls ?? []).map((call, index) => call.id ?? `toolu_standin${sequence}x${index}`);
  return {
    chat,
    messageId: `msg_standin${sequence}`,
    stopReason: STOP_REASON_BY_FINISH[chat.finishReason] ?? chat.finishReason,
    toolUseIds,
  };
}

// Anthropic's input_tokens counts only what was neither read from nor written to the cache.
function anthropicUsage(plan: ChatPlan, outputTokens: number) {
  const cacheRead = plan.usage.prompt_tokens_details.cached_tokens;
  const writes = plan.usage.cacheWrites;
  return {
    input_tokens: plan.usage.prompt_tokens - cacheRead - writes.total,
    cache_creation_input_tokens: writes.total,
    cache_read_input_tokens: cacheRead,
    cache_creation: {
      ephemeral_5m_input_tokens: writes.total - writes.oneHour,
      ephemeral_1h_input_tokens: writes.oneHour,
    },
    output_tokens: outputTokens,
  };
}

function toolInput(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

/** The non-streamed Messages body. */
export function anthropicMessageJson(plan: AnthropicPlan): string {
  const { chat } = plan;
  const content: unknown[] = [];
  if (chat.reasoning !== undefined) {
    content.push({ type: 'thinking', thinking: chat.reasoning, signature: 'c3RhbmQtaW4=' });
  }
  if (chat.content !== undefined && chat.content !== '') content.push({ type: 'text', text: chat.content });
  for (const [index, call] of chat.toolCalls.entries()) {
    content.push({ type: 'tool_use', id: plan.toolUseIds[index], name: call.name, input: toolInput(call.arguments) });
  }
  return JSON.stringify({
    id: plan.messageId,
    type: 'message',
    role: 'assistant',
    model: chat.model,
    content,
    stop_reason: plan.stopReason,
    stop_sequence: null,
    usage: anthropicUsage(chat, chat.usage.completion_tokens),
  });
}

function frame(payload: { type: string } & Record<string, unknown>): string {
  return `event: ${payload.type}\ndata: ${JSON.stringify(payload)}\n\n`;
}

/**
 * The SSE frames of a streamed answer in Anthropic's order: message_start, ping, then per content block
 * (thinking, text, tool_use) content_block_start, its deltas, content_block_stop; message_delta with the
 * stop_reason and the cumulative output_tokens; message_stop.
 */
export function* anthropicStreamFrames(plan: AnthropicPlan): Generator<string> {
  const { chat } = plan;
  yield frame({
    type: 'message_start',
    message: {
      id: plan.messageId,
      type: 'message',
      role: 'assistant',
      model: chat.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: anthropicUsage(chat, 1),
    },
  });
  yield frame({ type: 'ping' });
  let index = 0;
  if (chat.reasoning !== undefined) {
    yield frame({
      type: 'content_block_start',
      index,
      content_block: { type: 'thinking', thinking: '', signature: '' },
    });
    for (const piece of wordPieces(chat.reasoning, chat.chunkWords)) {
      yield frame({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: piece } });
    }
    yield frame({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: 'c3RhbmQtaW4=' } });
    yield frame({ type: 'content_block_stop', index });
    index += 1;
  }
  if (chat.content !== undefined && chat.content !== '') {
    yield frame({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
    for (const piece of wordPieces(chat.content, chat.chunkWords)) {
      yield frame({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } });
    }
    yield frame({ type: 'content_block_stop', index });
    index += 1;
  }
  for (const [toolIndex, call] of chat.toolCalls.entries()) {
    yield frame({
      type: 'content_block_start',
      index,
      content_block: { type: 'tool_use', id: plan.toolUseIds[toolIndex], name: call.name, input: {} },
    });
    for (const fragment of argumentFragments(call.arguments)) {
      yield frame({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: fragment } });
    }
    yield frame({ type: 'content_block_stop', index });
    index += 1;
  }
  yield frame({
    type: 'message_delta',
    delta: { stop_reason: plan.stopReason, stop_sequence: null },
    usage: { output_tokens: chat.usage.completion_tokens },
  });
  yield frame({ type: 'message_stop' });
}

/** Anthropic's in-stream error: `event: error` with the error envelope, sent with HTTP 200. */
export function anthropicStreamErrorFrame(errorType: string | undefined): string {
  const type = errorType ?? 'overloaded_error';
  return frame({
    type: 'error',
    error: { type, message: type === 'overloaded_error' ? 'Overloaded' : `Stand-in ${type}` },
  });
}

/**
 * `POST /v1/messages/count_tokens`: `{ input_tokens }`, the prompt tokens the same request would be billed on
 * `/v1/messages` (the behaviour's `usage.prompt_tokens`, else one per word of the messages' text). The body is
 * checked as a Messages request, without `max_tokens`.
 */
export function anthropicCountTokensAnswer(
  body: unknown,
  behaviour: StandInChatBehaviour,
  sequence: number,
): string | RequestProblem {
  const withMaxTokens = typeof body === 'object' && body !== null ? { max_tokens: 1, ...body } : body;
  const plan = planAnthropic(withMaxTokens, behaviour, sequence);
  if ('status' in plan) return plan;
  return JSON.stringify({ input_tokens: plan.chat.usage.prompt_tokens });
}
