import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeEventStreamMessage } from '../bedrock/event-stream-codec.ts';
import type { ChatPlan } from './stand-in-chat.ts';
import { argumentFragments, planChat, wordPieces } from './stand-in-chat.ts';
import { field } from './stand-in-request.ts';
import type { StandInChatBehaviour, StandInErrorBehaviour, StandInRawBehaviour } from './stand-in-types.ts';

/** A Bedrock runtime route of the stand-in. */
export interface BedrockRoute {
  operation: 'converse' | 'converse-stream';
  /** The model id (or ARN) from the path, percent-decoded. */
  modelId: string;
}

const BEDROCK_PATH = /^\/model\/([^/]+)\/(converse|converse-stream)$/;
const EVENT_STREAM_TYPE = 'application/vnd.amazon.eventstream';

/** Recognises `POST /model/{modelId}/converse` and `/converse-stream`. */
export function bedrockRouteOf(method: string, path: string): BedrockRoute | undefined {
  const match = BEDROCK_PATH.exec(path);
  if (match === null || method !== 'POST') return undefined;
  return {
    operation: match[2] === 'converse-stream' ? 'converse-stream' : 'converse',
    modelId: decodeURIComponent(match[1] ?? ''),
  };
}

// The x-amzn-errortype Bedrock sends for each status the stand-in is asked to fail with.
const ERROR_TYPE_BY_STATUS: ReadonlyMap<number, string> = new Map([
  [400, 'ValidationException'],
  [403, 'AccessDeniedException'],
  [404, 'ResourceNotFoundException'],
  [408, 'ModelTimeoutException'],
  [424, 'ModelErrorException'],
  [429, 'ThrottlingException'],
  [500, 'InternalServerException'],
  [503, 'ServiceUnavailableException'],
]);

function requestId(sequence: number): string {
  return `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`;
}

function sendBedrockJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string>,
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/**
 * A stand-in error in Bedrock's shape: body `{"message"}` and the type in `x-amzn-errortype` (with the `:http…`
 * suffix the service appends). A behaviour with its own body or `x-amzn-errortype` header is sent as given.
 */
export function sendBedrockError(response: ServerResponse, behaviour: StandInErrorBehaviour, sequence: number): void {
  const type =
    ERROR_TYPE_BY_STATUS.get(behaviour.status) ??
    (behaviour.status >= 500 ? 'InternalServerException' : 'ValidationException');
  sendBedrockJson(
    response,
    behaviour.status,
    behaviour.body ?? { message: `Stand-in error (HTTP ${behaviour.status})` },
    {
      'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
      'x-amzn-requestid': requestId(sequence),
      ...behaviour.headers,
    },
  );
}

/** Raw bytes on a Bedrock route: an event stream unless the behaviour names its content type. */
export function sendBedrockRaw(response: ServerResponse, behaviour: StandInRawBehaviour): void {
  response.writeHead(behaviour.status ?? 200, {
    'content-type': typeof behaviour.body === 'string' ? 'application/json' : EVENT_STREAM_TYPE,
    ...behaviour.headers,
  });
  response.end(behaviour.body);
}

function stopReasonOf(finishReason: string): string {
  switch (finishReason) {
    case 'stop':
      return 'end_turn';
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'content_filtered';
    default:
      // Bedrock values (guardrail_intervened, stop_sequence…) pass as given.
      return finishReason;
  }
}

// Converse's inputTokens excludes cache reads and writes, reported apart.
function bedrockUsage(plan: ChatPlan) {
  const { prompt_tokens: promptTokens, completion_tokens: outputTokens } = plan.usage;
  const cacheRead = plan.usage.prompt_tokens_details.cached_tokens;
  const cacheWrite = plan.usage.cacheWrites.total;
  const inputTokens = promptTokens - cacheRead - cacheWrite;
  return {
    inputTokens,
    outputTokens,
    totalTokens: promptTokens + outputTokens,
    ...(cacheRead > 0 ? { cacheReadInputTokens: cacheRead } : {}),
    ...(cacheWrite > 0 ? { cacheWriteInputTokens: cacheWrite } : {}),
  };
}

function toolUseIds(plan: ChatPlan, behaviour: StandInChatBehaviour, sequence: number): string[] {
  return plan.toolCalls.map(
    (_call, index) => behaviour.toolCalls?.[index]?.id ?? `tooluse_standin${sequence}x${index}`,
  );
}

/** The Converse JSON answer of a plan. */
function converseJson(plan: ChatPlan, ids: string[]): string {
  const content: unknown[] = [];
  if (plan.reasoning !== undefined) {
    content.push({ reasoningContent: { reasoningText: { text: plan.reasoning, signature: 'c3RhbmQtaW4=' } } });
  }
  if (plan.content !== undefined) content.push({ text: plan.content });
  for (const [index, call] of plan.toolCalls.entries()) {
    let input: unknown = {};
    try {
      input = JSON.parse(call.arguments);
    } catch {
      // Bedrock always answers with an object; scripted arguments that are not JSON become {}.
    }
    content.push({ toolUse: { toolUseId: ids[index], name: call.name, input } });
  }
  return JSON.stringify({
    output: { message: { role: 'assistant', content } },
    stopReason: stopReasonOf(plan.finishReason),
    usage: bedrockUsage(plan),
    metrics: { latencyMs: 1 },
  });
}

function event(type: string, payload: unknown): Uint8Array {
  return encodeEventStreamMessage(
    { ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' },
    JSON.stringify(payload),
  );
}

/** The binary event-stream messages of a plan, in Bedrock's order. */
function* converseStreamEvents(plan: ChatPlan, ids: string[]): Generator<Uint8Array> {
  yield event('messageStart', { role: 'assistant' });
  let block = 0;
  if (plan.reasoning !== undefined) {
    for (const piece of wordPieces(plan.reasoning, plan.chunkWords)) {
      yield event('contentBlockDelta', { contentBlockIndex: block, delta: { reasoningContent: { text: piece } } });
    }
    yield event('contentBlockDelta', {
      contentBlockIndex: block,
      delta: { reasoningContent: { signature: 'c3RhbmQtaW4=' } },
    });
    yield event('contentBlockStop', { contentBlockIndex: block });
    block += 1;
  }
  if (plan.content !== undefined && plan.content !== '') {
    for (const piece of wordPieces(plan.content, plan.chunkWords)) {
      yield event('contentBlockDelta', { contentBlockIndex: block, delta: { text: piece } });
    }
    yield event('contentBlockStop', { contentBlockIndex: block });
    block += 1;
  }
  for (const [index, call] of plan.toolCalls.entries()) {
    yield event('contentBlockStart', {
      contentBlockIndex: block,
      start: { toolUse: { toolUseId: ids[index], name: call.name } },
    });
    for (const fragment of argumentFragments(call.arguments)) {
      yield event('contentBlockDelta', { contentBlockIndex: block, delta: { toolUse: { input: fragment } } });
    }
    yield event('contentBlockStop', { contentBlockIndex: block });
    block += 1;
  }
  yield event('messageStop', { stopReason: stopReasonOf(plan.finishReason) });
  yield event('metadata', { usage: bedrockUsage(plan), metrics: { latencyMs: 1 } });
}

/**
 * Answers a Converse call from a chat behaviour: JSON for `/converse`, the binary event stream for
 * `/converse-stream` (honouring chunkDelayMs, stallAfterChunks and cutAfterChunks, counted in event messages).
 * A body without `messages` gets a ValidationException.
 */
// The message of the stand-in's own 4xx (an OpenAI-style envelope), for Bedrock's `{message}` body.
function problemMessage(body: unknown): string {
  const error: unknown = typeof body === 'object' && body !== null ? Reflect.get(body, 'error') : undefined;
  const message: unknown = typeof error === 'object' && error !== null ? Reflect.get(error, 'message') : undefined;
  return typeof message === 'string' ? message : 'Invalid request';
}

export async function sendBedrockChat(
  response: ServerResponse,
  route: BedrockRoute,
  body: unknown,
  behaviour: StandInChatBehaviour,
  sequence: number,
  signal: AbortSignal,
  destroy: (response: ServerResponse) => void,
): Promise<void> {
  const stream = route.operation === 'converse-stream';
  const plan = planChat({ model: route.modelId, messages: field(body, 'messages'), stream }, behaviour, sequence);
  const headers = { 'x-amzn-requestid': requestId(sequence) };
  if ('status' in plan) {
    return sendBedrockError(
      response,
      { type: 'error', status: 400, body: { message: problemMessage(plan.body) } },
      sequence,
    );
  }
  const ids = toolUseIds(plan, behaviour, sequence);
  if (!stream) return sendBedrockJson(response, 200, JSON.parse(converseJson(plan, ids)), headers);
  response.writeHead(200, { 'content-type': EVENT_STREAM_TYPE, ...headers });
  response.flushHeaders();
  const stallAt = behaviour.stallAfterChunks ?? Number.POSITIVE_INFINITY;
  const cutAt = behaviour.cutAfterChunks ?? Number.POSITIVE_INFINITY;
  let sent = 0;
  for (const message of converseStreamEvents(plan, ids)) {
    if (behaviour.chunkDelayMs !== undefined && behaviour.chunkDelayMs > 0 && sent > 0) {
      await sleep(behaviour.chunkDelayMs, undefined, { signal });
    }
    if (response.destroyed || sent >= stallAt) return;
    if (sent >= cutAt) {
      // Destroyed once what was written has reached the kernel, so the client really gets the first N messages.
      response.write(new Uint8Array(0), () => destroy(response));
      return;
    }
    sent += 1;
    if (!response.write(message)) {
      await new Promise<void>((resolve) => {
        response.once('drain', resolve);
        response.once('close', resolve);
      });
    }
  }
  response.end();
}
