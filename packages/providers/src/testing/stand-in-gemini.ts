import type { ChatPlan } from './stand-in-chat.ts';
import { planUsage } from './stand-in-chat.ts';
import { vectorFor } from './stand-in-embeddings.ts';
import { countWords, field } from './stand-in-request.ts';
import type { StandInChatBehaviour } from './stand-in-types.ts';

// The stand-in's Gemini dialect (generativelanguage.googleapis.com/v1beta): the same behaviour objects as the
// OpenAI dialect, rendered as GenerateContentResponse, google.rpc.Status errors, batchEmbedContents and models.

/** Where a Gemini request goes: the model and the method after the colon, or a models listing. */
export type GeminiRoute =
  { kind: 'model-method'; model: string; method: string } | { kind: 'models' } | { kind: 'unknown' };

/** A Gemini error answer. */
export interface GeminiProblem {
  status: number;
  body: unknown;
}

const PREFIX = '/v1beta/';
const DEFAULT_PAGE_SIZE = 50;
const STATUS_NAMES: ReadonlyMap<number, string> = new Map([
  [400, 'INVALID_ARGUMENT'],
  [401, 'UNAUTHENTICATED'],
  [403, 'PERMISSION_DENIED'],
  [404, 'NOT_FOUND'],
  [409, 'ABORTED'],
  [429, 'RESOURCE_EXHAUSTED'],
  [499, 'CANCELLED'],
  [500, 'INTERNAL'],
  [501, 'NOT_IMPLEMENTED'],
  [503, 'UNAVAILABLE'],
  [504, 'DEADLINE_EXCEEDED'],
]);
// OpenAI's vocabulary in the behaviour object → Gemini's; other values are sent as given (e.g. 'RECITATION').
const FINISH_REASONS: ReadonlyMap<string, string> = new Map([
  ['stop', 'STOP'],
  ['tool_calls', 'STOP'],
  ['length', 'MAX_TOKENS'],
  ['content_filter', 'SAFETY'],
]);

/** True for paths of the Gemini dialect (`/v1beta/…`). */
export function isGeminiPath(path: string): boolean {
  return path.startsWith(PREFIX);
}

/** The route of a `/v1beta/…` request. */
export function geminiRouteOf(method: string, path: string): GeminiRoute {
  const rest = path.slice(PREFIX.length);
  if (method === 'GET' && rest === 'models') return { kind: 'models' };
  const match = /^models\/([^/:]+):([A-Za-z]+)$/.exec(rest);
  if (method === 'POST' && match?.[1] !== undefined && match[2] !== undefined) {
    return { kind: 'model-method', model: decodeURIComponent(match[1]), method: match[2] };
  }
  return { kind: 'unknown' };
}

/**
 * A Gemini error body (`google.rpc.Status`) for an HTTP status; 429 carries a RetryInfo detail of 2s like the
 * real API's quota errors.
 */
export function geminiErrorBody(status: number, message = `Stand-in error (HTTP ${status})`): unknown {
  const name = STATUS_NAMES.get(status) ?? (status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT');
  const error: Record<string, unknown> = { code: status, message, status: name };
  if (status === 429) {
    error['details'] = [
      {
        '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
        violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests' }],
      },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2s' },
    ];
  }
  return { error };
}

function invalidArgument(message: string): GeminiProblem {
  return { status: 400, body: geminiErrorBody(400, message) };
}

function partsText(parts: unknown): string {
  if (!Array.isArray(parts)) return '';
  const texts: string[] = [];
  for (const part of parts) {
    const text = field(part, 'text');
    if (typeof text === 'string') texts.push(text);
  }
  return texts.join(' ');
}

/** Validates a GenerateContentRequest the way Gemini does (the parts that catch adapter bugs) and plans the answer. */
export function planGeminiChat(
  model: string,
  body: unknown,
  behaviour: StandInChatBehaviour,
  sequence: number,
  stream: boolean,
): ChatPlan | GeminiProblem {
  const contents = field(body, 'contents');
  if (!Array.isArray(contents) || contents.length === 0)
    return invalidArgument('* GenerateContentRequest.contents: contents is not specified');
  let promptTokens = countWords(partsText(field(field(body, 'systemInstruction'), 'parts')));
  let lastUserText = '';
  for (const [index, content] of contents.entries()) {
    const role = field(content, 'role');
    if (role !== 'user' && role !== 'model') {
      return invalidArgument(
        `Please use a valid role: user, model. (contents[${index}].role: ${JSON.stringify(role)})`,
      );
    }
    const parts = field(content, 'parts');
    if (!Array.isArray(parts) || parts.length === 0) {
      return invalidArgument(`* GenerateContentRequest.contents[${index}].parts: contents.parts must not be empty.`);
    }
    const text = partsText(parts);
    promptTokens += countWords(text);
    if (role === 'user' && text !== '') lastUserText = text;
  }
  const toolCalls = (behaviour.toolCalls ?? []).map((call) => ({
    id: call.id ?? '',
    name: call.name,
    arguments: call.arguments,
  }));
  const words = lastUserText.split(/\s+/).filter((word) => word !== '');
  const content =
    behaviour.content ??
    (toolCalls.length > 0
      ? undefined
      : words.length === 0
        ? 'Hello from the stand-in upstream.'
        : `Stand-in reply to: ${words.slice(0, 24).join(' ')}`);
  const reasoningTokens = behaviour.reasoning === undefined ? 0 : countWords(behaviour.reasoning);
  let completionTokens = behaviour.usage?.completion_tokens;
  if (completionTokens === undefined) {
    completionTokens = reasoningTokens + (content === undefined ? 0 : countWords(content));
    for (const call of toolCalls) completionTokens += countWords(call.arguments) + 1;
  }
  promptTokens = behaviour.usage?.prompt_tokens ?? promptTokens;
  return {
    id: `standin-gemini-${sequence}`,
    created: Math.floor(Date.now() / 1000),
    model,
    stream,
    includeUsage: true,
    content,
    reasoning: behaviour.reasoning,
    toolCalls,
    finishReason: behaviour.finishReason ?? 'stop',
    usage: planUsage(promptTokens, completionTokens, reasoningTokens, behaviour.usage),
    usageOnFinish: false,
    chunkWords: Math.max(1, Math.floor(behaviour.chunkWords ?? 1)),
  };
}

function usageMetadata(plan: ChatPlan): Record<string, number> {
  const thoughts = plan.usage.completion_tokens_details.reasoning_tokens;
  const metadata: Record<string, number> = {
    promptTokenCount: plan.usage.prompt_tokens,
    candidatesTokenCount: Math.max(0, plan.usage.completion_tokens - thoughts),
    totalTokenCount: plan.usage.total_tokens,
  };
  if (thoughts > 0) metadata['thoughtsTokenCount'] = thoughts;
  const cached = plan.usage.prompt_tokens_details.cached_tokens;
  if (cached > 0) metadata['cachedContentTokenCount'] = cached;
  return metadata;
}

function functionCallParts(plan: ChatPlan): Array<Record<string, unknown>> {
  return plan.toolCalls.map((call) => {
    const args: unknown = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
    return { functionCall: call.id === '' ? { name: call.name, args } : { id: call.id, name: call.name, args } };
  });
}

function finishReasonOf(plan: ChatPlan): string {
  return FINISH_REASONS.get(plan.finishReason) ?? plan.finishReason;
}

function responseJson(plan: ChatPlan, parts: unknown[], finishReason: string | undefined, usage: unknown): string {
  const candidate: Record<string, unknown> = { content: { parts, role: 'model' } };
  if (finishReason !== undefined) candidate['finishReason'] = finishReason;
  candidate['index'] = 0;
  return JSON.stringify({
    candidates: [candidate],
    usageMetadata: usage,
    modelVersion: plan.model,
    responseId: plan.id,
  });
}

/** The body of `:generateContent`: one candidate with thought, text and functionCall parts. */
export function geminiResponseJson(plan: ChatPlan): string {
  const parts: unknown[] = [];
  if (plan.reasoning !== undefined) parts.push({ text: plan.reasoning, thought: true });
  if (plan.content !== undefined && plan.content !== '') parts.push({ text: plan.content });
  parts.push(...functionCallParts(plan));
  return responseJson(plan, parts, finishReasonOf(plan), usageMetadata(plan));
}

function* wordPieces(text: string, words: number): Generator<string> {
  const tokens = text.split(/(?<=\s)(?=\S)/);
  for (let index = 0; index < tokens.length; index += words) yield tokens.slice(index, index + words).join('');
}

/**
 * The SSE frames of `:streamGenerateContent?alt=sse`, as Gemini sends them: CRLF-separated `data:` events, each a
 * whole GenerateContentResponse; thought parts, then text, then each functionCall whole in one event; the last
 * event has the finishReason; usageMetadata in every event (the last one complete); no `[DONE]`.
 */
export function* geminiStreamFrames(plan: ChatPlan): Generator<string> {
  const running = { promptTokenCount: plan.usage.prompt_tokens, totalTokenCount: plan.usage.prompt_tokens };
  const frame = (parts: unknown[], finishReason?: string): string =>
    `data: ${responseJson(plan, parts, finishReason, finishReason === undefined ? running : usageMetadata(plan))}\r\n\r\n`;
  if (plan.reasoning !== undefined) {
    for (const piece of wordPieces(plan.reasoning, plan.chunkWords)) yield frame([{ text: piece, thought: true }]);
  }
  if (plan.content !== undefined && plan.content !== '') {
    for (const piece of wordPieces(plan.content, plan.chunkWords)) yield frame([{ text: piece }]);
  }
  for (const part of functionCallParts(plan)) yield frame([part]);
  yield frame([{ text: '' }], finishReasonOf(plan));
}

/** The body of `:batchEmbedContents`: deterministic unit vectors, one per request, in order. */
export function geminiEmbeddingsJson(model: string, body: unknown): string | GeminiProblem {
  const requests = field(body, 'requests');
  if (!Array.isArray(requests) || requests.length === 0)
    return invalidArgument('* BatchEmbedContentsRequest.requests: requests is not specified');
  const embeddings: Array<{ values: number[] }> = [];
  for (const [index, request] of requests.entries()) {
    const requestModel = field(request, 'model');
    if (requestModel !== `models/${model}`) {
      return invalidArgument(
        `Model names should start with \`models/\` and match the model of the batch. (requests[${index}].model: ${JSON.stringify(requestModel)})`,
      );
    }
    const text = partsText(field(field(request, 'content'), 'parts'));
    const requested = field(request, 'outputDimensionality');
    const dimensions = typeof requested === 'number' && requested > 0 ? Math.floor(requested) : 16;
    embeddings.push({ values: Array.from(vectorFor(text, dimensions)) });
  }
  return JSON.stringify({ embeddings });
}

/** The body of `GET /v1beta/models`, paged by `pageSize` and `pageToken` like the real API. */
export function geminiModelsJson(ids: readonly string[], query: URLSearchParams): string {
  const size = Number(query.get('pageSize') ?? DEFAULT_PAGE_SIZE);
  const pageSize = Number.isInteger(size) && size > 0 ? size : DEFAULT_PAGE_SIZE;
  const offset = Number(query.get('pageToken') ?? 0) || 0;
  const page = ids.slice(offset, offset + pageSize);
  const models = page.map((id) => ({
    name: `models/${id}`,
    displayName: id,
    supportedGenerationMethods: ['generateContent', 'countTokens'],
  }));
  const next = offset + pageSize < ids.length ? { nextPageToken: String(offset + pageSize) } : {};
  return JSON.stringify({ models, ...next });
}
