import { randomBytes } from 'node:crypto';
import type { ChatCompletionResponse, Usage } from '../../chat-api.ts';
import type { ResponsesFunctionTool, ResponsesRequest, ResponsesToolChoice } from './responses-request-schema.ts';

// The Response object of OpenAI's Responses API (platform.openai.com/docs/api-reference/responses/object; shapes
// checked against the `openai` SDK's `Response` types and recorded OpenAI streams in vercel/ai's
// packages/openai/src/responses/__fixtures__), built from a canonical chat completion.

/** An `output_text` content part. OpenAI always sends `annotations` and `logprobs`, empty when it has none. */
export interface ResponsesOutputText {
  type: 'output_text';
  text: string;
  annotations: never[];
  logprobs: never[];
}

/** A `refusal` content part. */
export interface ResponsesRefusal {
  type: 'refusal';
  refusal: string;
}

/** Status of an output item: `incomplete` for the item an answer was cut in. */
export type ResponsesItemStatus = 'in_progress' | 'completed' | 'incomplete';

/** The assistant's `message` output item. */
export interface ResponsesMessageItem {
  id: string;
  type: 'message';
  status: ResponsesItemStatus;
  role: 'assistant';
  content: Array<ResponsesOutputText | ResponsesRefusal>;
}

/** A `function_call` output item: the client runs the function and sends a `function_call_output` back. */
export interface ResponsesFunctionCallItem {
  id: string;
  type: 'function_call';
  status: ResponsesItemStatus;
  call_id: string;
  name: string;
  arguments: string;
}

/** A `reasoning` output item, the canonical `reasoning_content` as its one summary part. */
export interface ResponsesReasoningItem {
  id: string;
  type: 'reasoning';
  summary: Array<{ type: 'summary_text'; text: string }>;
}

/** One item of a Response's `output`. */
export type ResponsesOutputItem = ResponsesMessageItem | ResponsesFunctionCallItem | ResponsesReasoningItem;

/** The Responses API's `usage`. Unlike Anthropic's, `input_tokens` counts every input token, cached ones included. */
export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number; cache_write_tokens?: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
  /** What the request cost, in the gateway's reporting currency, when the canonical usage carries one. */
  cost?: number;
}

/** Status of a Response. */
export type ResponsesStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/** Why a Response is `incomplete`. */
export type ResponsesIncompleteReason = 'max_output_tokens' | 'content_filter';

/** A failed Response's `error`. */
export interface ResponsesError {
  code: string;
  message: string;
}

/** A Response object: the JSON answer of `POST /v1/responses`, and the `response` of its lifecycle stream events. */
export interface ResponsesResponse {
  id: string;
  object: 'response';
  created_at: number;
  status: ResponsesStatus;
  background: false;
  error: ResponsesError | null;
  incomplete_details: { reason: ResponsesIncompleteReason } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  metadata: Record<string, string>;
  model: string;
  output: ResponsesOutputItem[];
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: string | null; summary: string | null };
  store: boolean;
  temperature: number | null;
  text: { format: NonNullable<NonNullable<ResponsesRequest['text']>['format']> };
  tool_choice: ResponsesToolChoice;
  tools: ResponsesFunctionTool[];
  top_p: number | null;
  truncation: 'disabled';
  usage: ResponsesUsage | null;
  user: string | null;
}

/** What a Response is built from besides the answer (see {@link toResponsesResponse}). */
export interface ResponsesResponseOptions {
  /** The Response id (`resp_…`), see {@link responsesResponseId}; item ids are derived from it. */
  id: string;
  /** The model named in the Response: usually the one the client asked for. */
  model: string;
  /** `created_at`, in Unix seconds. */
  createdAt: number;
  /** The request answered: its settings are echoed in the Response, as OpenAI does. */
  request: ResponsesRequest;
}

/**
 * A fresh Response id: `resp_` and 48 hex characters, the form OpenAI's ids have.
 *
 * @example
 * responsesResponseId(); // 'resp_3f9a…'
 */
export function responsesResponseId(): string {
  return `resp_${randomBytes(24).toString('hex')}`;
}

/**
 * Internal: the id of the output item at `index` of the Response `responseId`, e.g. `msg_<id>_0`: unique within a
 * Response (the SDK's stream helpers check) and stable, so a Response's items can be told apart later.
 *
 * @example
 * itemId('fc', 'resp_3f9a', 2); // 'fc_3f9a_2'
 */
export function itemId(prefix: 'msg' | 'fc' | 'rs', responseId: string, index: number): string {
  const base = responseId.startsWith('resp_') ? responseId.slice('resp_'.length) : responseId;
  return `${prefix}_${base}_${index}`;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/**
 * Canonical usage → the Responses API's usage: `prompt_tokens` → `input_tokens` (cache reads included, as
 * OpenAI counts them) with `cached_tokens` and, when the vendor reported cache writes, `cache_write_tokens`;
 * `completion_tokens` → `output_tokens` with `reasoning_tokens`. A numeric `cost` (a gateway's price of the
 * request) passes through.
 *
 * @example
 * toResponsesUsage({ prompt_tokens: 100, completion_tokens: 5, total_tokens: 105, prompt_tokens_details: { cached_tokens: 60 } });
 * // { input_tokens: 100, input_tokens_details: { cached_tokens: 60 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 105 }
 */
export function toResponsesUsage(usage: Usage): ResponsesUsage {
  const cacheWrites: unknown = usage.prompt_tokens_details?.['cache_creation_tokens'];
  const cost: unknown = usage['cost'];
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: {
      cached_tokens: count(usage.prompt_tokens_details?.cached_tokens),
      ...(typeof cacheWrites === 'number' ? { cache_write_tokens: cacheWrites } : {}),
    },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: count(usage.completion_tokens_details?.reasoning_tokens) },
    total_tokens: usage.total_tokens,
    ...(typeof cost === 'number' ? { cost } : {}),
  };
}

/**
 * Internal: why a Response with this canonical finish reason is `incomplete` (`length` is OpenAI's
 * `max_output_tokens`, `content_filter` its `content_filter`); `undefined`: it is `completed`.
 *
 * @example
 * outcomeOf('length'); // 'max_output_tokens'
 */
export function outcomeOf(finishReason: string | null | undefined): ResponsesIncompleteReason | undefined {
  if (finishReason === 'length') return 'max_output_tokens';
  if (finishReason === 'content_filter') return 'content_filter';
  return undefined;
}

/**
 * Internal: a Response with the request's settings echoed, shared by the JSON answer and every stream event.
 *
 * @example
 * responseObject(options, { status: 'in_progress', output: [], usage: null, error: null, incomplete_details: null });
 */
export function responseObject(
  options: ResponsesResponseOptions,
  state: Pick<ResponsesResponse, 'status' | 'output' | 'usage' | 'error' | 'incomplete_details'>,
): ResponsesResponse {
  const { request } = options;
  return {
    id: options.id,
    object: 'response',
    created_at: options.createdAt,
    status: state.status,
    background: false,
    error: state.error,
    incomplete_details: state.incomplete_details,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    metadata: request.metadata ?? {},
    model: options.model,
    output: state.output,
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    reasoning: { effort: request.reasoning?.effort ?? null, summary: request.reasoning?.summary ?? null },
    store: request.store ?? true,
    temperature: request.temperature ?? null,
    text: { format: request.text?.format ?? { type: 'text' } },
    tool_choice: request.tool_choice ?? 'auto',
    tools: request.tools ?? [],
    top_p: request.top_p ?? null,
    truncation: 'disabled',
    usage: state.usage,
    user: request.user ?? null,
  };
}

/**
 * Internal: an `output_text` part.
 *
 * @example
 * outputText('Hi'); // { type: 'output_text', text: 'Hi', annotations: [], logprobs: [] }
 */
export function outputText(text: string): ResponsesOutputText {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

/**
 * Converts a canonical chat completion into a Response object. `output`: a `reasoning` item when the answer has
 * `reasoning_content` (as its summary), a `message` item with an `output_text` part (and a `refusal` part when the
 * model refused), then one `function_call` item per tool call (`call_id` = the tool call's id). A `length` finish
 * leaves the Response `incomplete` with `incomplete_details.reason` `max_output_tokens` (`content_filter` for a
 * filtered answer), the last item `incomplete`. `usage` as {@link toResponsesUsage}; `output_text`, the text
 * convenience, is computed by OpenAI's SDKs and not sent.
 *
 * @example
 * const response = toResponsesResponse(await provider.chat(request), { id: responsesResponseId(), model: 'gpt-4o', createdAt: Math.floor(Date.now() / 1000), request: body });
 */
export function toResponsesResponse(
  response: ChatCompletionResponse,
  options: ResponsesResponseOptions,
): ResponsesResponse {
  const choice = response.choices[0];
  const message = choice?.message;
  const output: ResponsesOutputItem[] = [];
  const reasoning = message?.reasoning_content;
  if (reasoning != null && reasoning !== '') {
    output.push({
      id: itemId('rs', options.id, output.length),
      type: 'reasoning',
      summary: [{ type: 'summary_text', text: reasoning }],
    });
  }
  const content: ResponsesMessageItem['content'] = [];
  if (message?.content != null && message.content !== '') content.push(outputText(message.content));
  if (message?.refusal != null && message.refusal !== '') content.push({ type: 'refusal', refusal: message.refusal });
  if (content.length > 0) {
    output.push({
      id: itemId('msg', options.id, output.length),
      type: 'message',
      status: 'completed',
      role: 'assistant',
      content,
    });
  }
  for (const call of message?.tool_calls ?? []) {
    if (call.function == null) continue;
    const id = itemId('fc', options.id, output.length);
    output.push({
      id,
      type: 'function_call',
      status: 'completed',
      call_id: call.id === '' ? id : call.id,
      name: call.function.name,
      arguments: call.function.arguments,
    });
  }
  const incomplete = outcomeOf(choice?.finish_reason);
  const last = output.at(-1);
  if (incomplete !== undefined && last !== undefined && last.type !== 'reasoning') last.status = 'incomplete';
  return responseObject(options, {
    status: incomplete === undefined ? 'completed' : 'incomplete',
    output,
    usage: response.usage == null ? null : toResponsesUsage(response.usage),
    error: null,
    incomplete_details: incomplete === undefined ? null : { reason: incomplete },
  });
}
