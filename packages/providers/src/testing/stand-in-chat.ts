import type { StandInChatBehaviour } from './stand-in-types.ts';
import type { RequestProblem } from './stand-in-request.ts';
import { contentText, countWords, field, invalidRequest } from './stand-in-request.ts';

/** Everything needed to answer one chat request, JSON or stream. */
export interface ChatPlan {
  id: string;
  created: number;
  model: string;
  stream: boolean;
  includeUsage: boolean;
  content: string | undefined;
  reasoning: string | undefined;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  finishReason: string;
  usage: StandInUsage;
  /** Usage on the finish chunk, unasked (Zhipu, Mistral). */
  usageOnFinish: boolean;
  chunkWords: number;
}

interface StandInUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; audio_tokens: number };
  /** Cache writes, for the dialects that report them (not rendered in OpenAI's). */
  cacheWrites: { total: number; oneHour: number };
  completion_tokens_details: {
    reasoning_tokens: number;
    audio_tokens: number;
    accepted_prediction_tokens: number;
    rejected_prediction_tokens: number;
  };
}

export const DONE_FRAME = 'data: [DONE]\n\n';
const ECHO_WORDS = 24;
const ARGUMENT_FRAGMENT_LENGTH = 8;

/** The OpenAI-shaped usage of a planned answer, with every detail OpenAI reports (what each dialect renders from). */
export function planUsage(
  promptTokens: number,
  completionTokens: number,
  reasoningTokens: number,
  cache: StandInChatBehaviour['usage'] = undefined,
): ChatPlan['usage'] {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: cache?.cached_tokens ?? 0, audio_tokens: 0 },
    cacheWrites: { total: cache?.cache_write_tokens ?? 0, oneHour: cache?.cache_write_1h_tokens ?? 0 },
    completion_tokens_details: {
      reasoning_tokens: reasoningTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/** The usage as OpenAI writes it (cache writes are not an OpenAI field). */
function openAIUsage(plan: ChatPlan): Omit<StandInUsage, 'cacheWrites'> {
  const { cacheWrites: _cacheWrites, ...usage } = plan.usage;
  return usage;
}

function defaultContent(messages: unknown[]): string {
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index];
    if (field(message, 'role') !== 'user') continue;
    const words = contentText(field(message, 'content'))
      .split(/\s+/)
      .filter((word) => word !== '');
    if (words.length === 0) break;
    return `Stand-in reply to: ${words.slice(0, ECHO_WORDS).join(' ')}`;
  }
  return 'Hello from the stand-in upstream.';
}

/** Validates the request like OpenAI does (the parts that catch adapter bugs) and plans the answer. */
export function planChat(body: unknown, behaviour: StandInChatBehaviour, sequence: number): ChatPlan | RequestProblem {
  const model = field(body, 'model');
  if (typeof model !== 'string' || model === '') return invalidRequest('you must provide a model parameter', null);
  const messages = field(body, 'messages');
  if (!Array.isArray(messages)) {
    return invalidRequest("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  }
  if (messages.length === 0) {
    return invalidRequest(
      "Invalid 'messages': empty array. Expected an array with minimum length 1.",
      'messages',
      'empty_array',
    );
  }
  const stream = field(body, 'stream') === true;
  const streamOptions = field(body, 'stream_options');
  if (streamOptions != null && !stream) {
    return invalidRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options');
  }
  const toolCalls = (behaviour.toolCalls ?? []).map((call, index) => ({
    id: call.id ?? `call_standin${sequence}x${index}`,
    name: call.name,
    arguments: call.arguments,
  }));
  const content = behaviour.content ?? (toolCalls.length > 0 ? undefined : defaultContent(messages));
  const reasoning = behaviour.reasoning;
  let promptTokens = behaviour.usage?.prompt_tokens;
  if (promptTokens === undefined) {
    promptTokens = 0;
    for (const message of messages) promptTokens += countWords(contentText(field(message, 'content')));
  }
  const reasoningTokens = reasoning === undefined ? 0 : countWords(reasoning);
  let completionTokens = behaviour.usage?.completion_tokens;
  if (completionTokens === undefined) {
    completionTokens = reasoningTokens + (content === undefined ? 0 : countWords(content));
    for (const call of toolCalls) completionTokens += countWords(call.arguments) + 1;
  }
  return {
    id: `chatcmpl-standin${sequence}`,
    created: Math.floor(Date.now() / 1000),
    model,
    stream,
    includeUsage: stream && field(streamOptions, 'include_usage') === true,
    content,
    reasoning,
    toolCalls,
    finishReason: behaviour.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
    usage: planUsage(promptTokens, completionTokens, reasoningTokens, behaviour.usage),
    usageOnFinish: behaviour.usageOnFinishChunk === true,
    chunkWords: Math.max(1, Math.floor(behaviour.chunkWords ?? 1)),
  };
}

/** The non-streamed `chat.completion` body. */
export function chatCompletionJson(plan: ChatPlan): string {
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: plan.content ?? null,
    refusal: null,
    annotations: [],
  };
  if (plan.reasoning !== undefined) message['reasoning_content'] = plan.reasoning;
  if (plan.toolCalls.length > 0) {
    message['tool_calls'] = plan.toolCalls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  return JSON.stringify({
    id: plan.id,
    object: 'chat.completion',
    created: plan.created,
    model: plan.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: plan.finishReason }],
    usage: openAIUsage(plan),
    service_tier: 'default',
    system_fingerprint: 'fp_standin',
  });
}

/** Splits text into pieces of `words` words each; the pieces concatenate back to the exact text. */
export function* wordPieces(text: string, words: number): Generator<string> {
  const tokens = text.split(/(?<=\s)(?=\S)/);
  for (let index = 0; index < tokens.length; index += words) {
    yield words === 1 ? (tokens[index] ?? '') : tokens.slice(index, index + words).join('');
  }
}

/** Splits tool arguments into short fragments the way OpenAI streams them; never inside a code point. */
export function* argumentFragments(text: string): Generator<string> {
  const codePoints = Array.from(text);
  for (let index = 0; index < codePoints.length; index += ARGUMENT_FRAGMENT_LENGTH) {
    yield codePoints.slice(index, index + ARGUMENT_FRAGMENT_LENGTH).join('');
  }
}

/**
 * The `data:` frames of a streamed answer, in OpenAI's order: role chunk, reasoning, content, tool-call deltas,
 * finish chunk, the usage chunk (choices: []) when include_usage was asked for, then `[DONE]`.
 */
export function* chatStreamFrames(plan: ChatPlan): Generator<string> {
  // Every chunk shares the same envelope; only the choice differs. Built once per request.
  const head = `data: {"id":${JSON.stringify(plan.id)},"object":"chat.completion.chunk","created":${plan.created},"model":${JSON.stringify(plan.model)},"service_tier":"default","system_fingerprint":"fp_standin","choices":[`;
  const tail = plan.includeUsage ? '],"usage":null}\n\n' : ']}\n\n';
  const choice = (delta: string, finishReason = 'null') =>
    `${head}{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finishReason}}${tail}`;

  const hasContent = plan.content !== undefined && plan.content !== '';
  // A tool-only answer: OpenAI puts the role into the first tool-call delta instead of a chunk of its own.
  const toolOnly = !hasContent && plan.reasoning === undefined && plan.toolCalls.length > 0;
  if (!toolOnly) yield choice('{"role":"assistant","content":"","refusal":null}');
  if (plan.reasoning !== undefined) {
    for (const piece of wordPieces(plan.reasoning, plan.chunkWords)) {
      yield choice(`{"reasoning_content":${JSON.stringify(piece)}}`);
    }
  }
  if (hasContent && plan.content !== undefined) {
    for (const piece of wordPieces(plan.content, plan.chunkWords)) yield choice(`{"content":${JSON.stringify(piece)}}`);
  }
  for (const [index, call] of plan.toolCalls.entries()) {
    const start = `[{"index":${index},"id":${JSON.stringify(call.id)},"type":"function","function":{"name":${JSON.stringify(call.name)},"arguments":""}}]`;
    yield choice(
      index === 0 && toolOnly
        ? `{"role":"assistant","content":null,"tool_calls":${start},"refusal":null}`
        : `{"tool_calls":${start}}`,
    );
    for (const fragment of argumentFragments(call.arguments)) {
      yield choice(`{"tool_calls":[{"index":${index},"function":{"arguments":${JSON.stringify(fragment)}}}]}`);
    }
  }
  if (plan.usageOnFinish) {
    yield `${head}{"index":0,"delta":{},"finish_reason":${JSON.stringify(plan.finishReason)}}],"usage":${JSON.stringify(openAIUsage(plan))}}\n\n`;
    yield DONE_FRAME;
    return;
  }
  yield choice('{}', JSON.stringify(plan.finishReason));
  if (plan.includeUsage) yield `${head}],"usage":${JSON.stringify(openAIUsage(plan))}}\n\n`;
  yield DONE_FRAME;
}
