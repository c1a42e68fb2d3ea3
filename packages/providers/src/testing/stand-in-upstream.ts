import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  anthropicCountTokensAnswer,
  anthropicErrorBody,
  anthropicMessageJson,
  anthropicModelsJson,
  anthropicStreamErrorFrame,
  anthropicStreamFrames,
  planAnthropic,
} from './stand-in-anthropic.ts';
import { chatCompletionJson, chatStreamFrames, DONE_FRAME, planChat } from './stand-in-chat.ts';
import { embeddingsJson, modelsJson } from './stand-in-embeddings.ts';
import {
  geminiEmbeddingsJson,
  geminiErrorBody,
  geminiModelsJson,
  geminiResponseJson,
  geminiRouteOf,
  geminiStreamFrames,
  isGeminiPath,
  planGeminiChat,
} from './stand-in-gemini.ts';
import { azureRouteOf, azureStreamFrames, withDeploymentModel } from './stand-in-azure.ts';
import { bedrockRouteOf, sendBedrockChat, sendBedrockError, sendBedrockRaw } from './stand-in-bedrock.ts';
import type { RequestProblem } from './stand-in-request.ts';
import type {
  RecordedRequest,
  StandInBehaviour,
  StandInChatBehaviour,
  StandInErrorBehaviour,
  StandInKind,
  StandInRawBehaviour,
  StandInUpstream,
  StandInUpstreamOptions,
} from './stand-in-types.ts';

const DEFAULT_MODELS = ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small'];
// Back-to-back stream chunks are coalesced into writes of about this size: far fewer syscalls per answer.
const BATCH_BYTES = 16 * 1024;
const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
};

// Responses the stand-in itself tore down (cutAfterChunks, close()): their requests were not aborted by the client.
const destroyedByServer = new WeakSet<ServerResponse>();

function destroyByServer(response: ServerResponse): void {
  destroyedByServer.add(response);
  response.destroy();
}

interface MutableRecordedRequest {
  method: string;
  path: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  aborted: boolean;
}

type Route = 'chat' | 'embeddings' | 'models' | 'messages' | 'count_tokens' | undefined;

function routeOf(method: string, path: string): Route {
  // Accept paths with and without /v1: DeepSeek-style base URLs have no version segment.
  const bare = path.startsWith('/v1/') ? path.slice(3) : path;
  if (method === 'POST' && bare === '/chat/completions') return 'chat';
  if (method === 'POST' && bare === '/embeddings') return 'embeddings';
  if (method === 'GET' && bare === '/models') return 'models';
  if (method === 'POST' && bare === '/messages') return 'messages';
  if (method === 'POST' && bare === '/messages/count_tokens') return 'count_tokens';
  return azureRouteOf(method, path)?.route;
}

function flattenHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function parseBody(chunks: Buffer[]): unknown {
  if (chunks.length === 0) return undefined;
  const text = chunks.length === 1 ? (chunks[0]?.toString('utf8') ?? '') : Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function defaultErrorBody(status: number): unknown {
  const type =
    status === 401
      ? 'invalid_request_error'
      : status === 429
        ? 'rate_limit_exceeded'
        : status >= 500
          ? 'server_error'
          : 'invalid_request_error';
  return { error: { message: `Stand-in error (HTTP ${status})`, type, param: null, code: null } };
}

function sendJson(response: ServerResponse, status: number, body: string, headers?: Record<string, string>): void {
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  response.end(body);
}

function sendProblem(response: ServerResponse, problem: RequestProblem): void {
  sendJson(response, problem.status, JSON.stringify(problem.body));
}

/** Whose wire format an answer follows. */
type Dialect = 'openai' | 'anthropic' | 'gemini';

const ERROR_BODY_BY_DIALECT: Readonly<Record<Dialect, (status: number) => unknown>> = {
  openai: defaultErrorBody,
  anthropic: anthropicErrorBody,
  gemini: (status) => geminiErrorBody(status),
};

function sendError(response: ServerResponse, behaviour: StandInErrorBehaviour, dialect: Dialect): void {
  const body = behaviour.body ?? ERROR_BODY_BY_DIALECT[dialect](behaviour.status);
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const contentType = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
  response.writeHead(behaviour.status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    ...behaviour.headers,
  });
  response.end(text);
}

function sendRaw(response: ServerResponse, behaviour: StandInRawBehaviour): void {
  const { body } = behaviour;
  const start = typeof body === 'string' ? body.slice(0, 6) : Buffer.from(body.subarray(0, 6)).toString('latin1');
  const looksLikeSse = start.startsWith('data:') || start.startsWith('event:') || start.startsWith(':');
  response.writeHead(behaviour.status ?? 200, {
    'content-type': looksLikeSse ? SSE_HEADERS['content-type'] : 'application/json',
    ...behaviour.headers,
  });
  response.end(body);
}

/** Resolves true once the response can take more data, false if the client went away first. */
function drained(response: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      response.off('close', done);
      resolve(!response.destroyed);
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

// Gemini reports an error inside a 200 stream as a data payload carrying a google.rpc.Status `error`.
function geminiStreamErrorFrame(errorType: string | undefined): string {
  const status = errorType === 'UNAVAILABLE' ? 503 : errorType === 'RESOURCE_EXHAUSTED' ? 429 : 500;
  return `data: ${JSON.stringify(geminiErrorBody(status, `Stand-in ${errorType ?? 'INTERNAL'}`))}\r\n\r\n`;
}

// OpenAI-style servers report an error inside a 200 stream as a data payload carrying `error`.
function openAIStreamErrorFrame(errorType: string | undefined): string {
  const type = errorType ?? 'server_error';
  return `data: ${JSON.stringify({ error: { message: `Stand-in ${type}`, type, param: null, code: null } })}\n\n`;
}

/** Writes the frames of one dialect, applying the behaviour's delays, stall, cut and in-stream error. */
async function sendStream(
  response: ServerResponse,
  frames: Iterable<string>,
  errorFrame: (errorType: string | undefined) => string,
  behaviour: StandInChatBehaviour,
  signal: AbortSignal,
): Promise<void> {
  response.writeHead(200, SSE_HEADERS);
  response.flushHeaders();
  const chunkDelayMs = behaviour.chunkDelayMs ?? 0;
  const stallAt = behaviour.stallAfterChunks ?? Number.POSITIVE_INFINITY;
  const cutAt = behaviour.cutAfterChunks ?? Number.POSITIVE_INFINITY;
  const errorAt = behaviour.errorAfterChunks ?? Number.POSITIVE_INFINITY;
  // The socket is destroyed only after everything written so far has reached the kernel, so the client really
  // receives the first N chunks before the cut.
  let writes = 0;
  let flushed = 0;
  let destroyWhenFlushed = false;
  const onFlushed = (): void => {
    flushed += 1;
    if (destroyWhenFlushed && flushed === writes) destroyByServer(response);
  };
  const write = (data: string): boolean => {
    writes += 1;
    return response.write(data, onFlushed);
  };

  let sent = 0;
  let batch = '';
  for (const frame of frames) {
    if (chunkDelayMs > 0 && sent > 0) {
      await sleep(chunkDelayMs, undefined, { signal });
    }
    if (response.destroyed) return;
    if (sent >= stallAt) {
      if (batch !== '') write(batch);
      return;
    }
    if (sent >= cutAt) {
      if (batch !== '') write(batch);
      destroyedByServer.add(response);
      if (flushed === writes) destroyByServer(response);
      else destroyWhenFlushed = true;
      return;
    }
    if (sent >= errorAt) {
      response.end(batch + errorFrame(behaviour.errorType));
      return;
    }
    batch += frame;
    if (frame !== DONE_FRAME) sent += 1;
    if (chunkDelayMs > 0 || batch.length >= BATCH_BYTES) {
      const ready = write(batch);
      batch = '';
      if (!ready && !(await drained(response))) return;
    }
  }
  response.end(batch);
}

/** Where each kind's adapter expects its base URL to point on this server (see `StandInUpstream.urlFor`). */
function baseUrlFor(url: string, kind: StandInKind): string {
  switch (kind) {
    case 'gemini':
      return `${url}/v1beta`;
    case 'azure-openai':
    case 'bedrock':
      return url;
    case 'anthropic':
    case 'openai':
    case 'openai-compatible':
    case 'zhipu':
    case 'dashscope':
    case 'qianfan':
    case 'hunyuan':
    case 'doubao':
    case 'deepseek':
    case 'moonshot':
    case 'mistral':
    case 'groq':
    case 'ollama':
    case 'vllm':
      return `${url}/v1`;
  }
}

/**
 * Starts a real HTTP server on 127.0.0.1 (ephemeral port by default) that answers like OpenAI's API:
 * POST /v1/chat/completions (JSON, or SSE when `stream: true`), POST /v1/embeddings, GET /v1/models; like Azure
 * OpenAI on /openai/deployments/{dep}/… and /openai/v1/… (streams open with Azure's prompt-filter chunk); like
 * Anthropic's: POST /v1/messages (JSON or SSE with `event:` names), POST /v1/messages/count_tokens, GET /v1/models
 * when the request carries an
 * `anthropic-version` header; like Gemini's under `url + '/v1beta'`: POST /v1beta/models/{model}:generateContent,
 * :streamGenerateContent (SSE with `alt=sse`), :batchEmbedContents, GET /v1beta/models; and like Bedrock on
 * POST /model/{id}/converse and /converse-stream (binary event stream, errors with x-amzn-errortype). Every dialect
 * renders the same behaviour objects. It records
 * every request and can be scripted per request (errors, raw bytes, delays, stalls, cut connections).
 *
 * @example
 * ```ts
 * const upstream = await startStandInUpstream();
 * upstream.enqueue({ type: 'error', status: 429, headers: { 'retry-after': '2' } });
 * const provider = createProvider({ kind: 'openai', baseUrl: upstream.urlFor('openai'), apiKey: 'sk-test' });
 * // … first call fails with kind rate_limit, the next one answers normally
 * await upstream.close();
 * ```
 */
export async function startStandInUpstream(options: StandInUpstreamOptions = {}): Promise<StandInUpstream> {
  const requests: RecordedRequest[] = [];
  const queue: StandInBehaviour[] = [];
  const sockets = new Set<Socket>();
  const lifetime = new AbortController();
  const models = options.models ?? DEFAULT_MODELS;
  const modelsBody = modelsJson(models);
  const anthropicModelsBody = anthropicModelsJson(models);
  let fallback: StandInBehaviour | ((request: RecordedRequest) => StandInBehaviour) = options.defaultBehaviour ?? {
    type: 'chat',
  };
  let inFlight = 0;
  // The most requests answered at once since the start or the last reset(): what a concurrency limit test reads.
  let peakInFlight = 0;
  let sequence = 0;
  let closing = false;

  async function answer(
    record: MutableRecordedRequest,
    behaviour: StandInBehaviour,
    response: ServerResponse,
    requestNumber: number,
  ): Promise<void> {
    if (behaviour.delayMs !== undefined && behaviour.delayMs > 0) {
      await sleep(behaviour.delayMs, undefined, { signal: lifetime.signal });
      if (response.destroyed) return;
    }
    if (isGeminiPath(record.path)) {
      if (behaviour.type === 'error') return sendError(response, behaviour, 'gemini');
      if (behaviour.type === 'raw') return sendRaw(response, behaviour);
      return answerGemini(record, behaviour, response, requestNumber);
    }
    const bedrock = bedrockRouteOf(record.method, record.path);
    if (bedrock !== undefined) {
      if (behaviour.type === 'error') return sendBedrockError(response, behaviour, requestNumber);
      if (behaviour.type === 'raw') return sendBedrockRaw(response, behaviour);
      return sendBedrockChat(
        response,
        bedrock,
        record.body,
        behaviour,
        requestNumber,
        lifetime.signal,
        destroyByServer,
      );
    }
    const route = routeOf(record.method, record.path);
    // Anthropic's dialect: its Messages route, or any route called with the anthropic-version header its clients send.
    const anthropic =
      route === 'messages' || route === 'count_tokens' || record.headers['anthropic-version'] !== undefined;
    if (behaviour.type === 'error') return sendError(response, behaviour, anthropic ? 'anthropic' : 'openai');
    if (behaviour.type === 'raw') return sendRaw(response, behaviour);
    if (route === 'models') {
      return sendJson(response, 200, anthropic ? anthropicModelsBody : modelsBody);
    }
    if (route === 'count_tokens') {
      const counted = anthropicCountTokensAnswer(record.body, behaviour, requestNumber);
      return typeof counted === 'string' ? sendJson(response, 200, counted) : sendProblem(response, counted);
    }
    if (route === 'messages') {
      const plan = planAnthropic(record.body, behaviour, requestNumber);
      if ('status' in plan) return sendProblem(response, plan);
      if (!plan.chat.stream) return sendJson(response, 200, anthropicMessageJson(plan));
      return sendStream(response, anthropicStreamFrames(plan), anthropicStreamErrorFrame, behaviour, lifetime.signal);
    }
    const azure = azureRouteOf(record.method, record.path);
    const body = withDeploymentModel(record.body, azure?.deployment);
    if (route === 'embeddings') {
      const embeddings = embeddingsJson(body);
      return typeof embeddings === 'string' ? sendJson(response, 200, embeddings) : sendProblem(response, embeddings);
    }
    if (route === undefined) {
      return sendJson(
        response,
        404,
        JSON.stringify({
          error: {
            message: `Unknown request URL: ${record.method} ${record.path}.`,
            type: 'invalid_request_error',
            param: null,
            code: 'unknown_url',
          },
        }),
      );
    }
    const plan = planChat(body, behaviour, requestNumber);
    if ('status' in plan) return sendProblem(response, plan);
    if (!plan.stream) return sendJson(response, 200, chatCompletionJson(plan));
    const frames = azure === undefined ? chatStreamFrames(plan) : azureStreamFrames(plan);
    return sendStream(response, frames, openAIStreamErrorFrame, behaviour, lifetime.signal);
  }

  /** The Gemini dialect (`/v1beta/…`): same behaviours, Gemini's wire format (see stand-in-gemini.ts). */
  async function answerGemini(
    record: MutableRecordedRequest,
    behaviour: StandInChatBehaviour,
    response: ServerResponse,
    requestNumber: number,
  ): Promise<void> {
    const route = geminiRouteOf(record.method, record.path);
    const query = new URLSearchParams(record.url.slice(record.path.length + 1));
    if (route.kind === 'models') return sendJson(response, 200, geminiModelsJson(models, query));
    const method = route.kind === 'model-method' ? route.method : '';
    const model = route.kind === 'model-method' ? route.model : '';
    if (method === 'batchEmbedContents') {
      const body = geminiEmbeddingsJson(model, record.body);
      return typeof body === 'string'
        ? sendJson(response, 200, body)
        : sendJson(response, body.status, JSON.stringify(body.body));
    }
    if (method !== 'generateContent' && method !== 'streamGenerateContent') {
      const body = geminiErrorBody(404, `Method not found: ${record.method} ${record.path}`);
      return sendJson(response, 404, JSON.stringify(body));
    }
    const plan = planGeminiChat(model, record.body, behaviour, requestNumber, method === 'streamGenerateContent');
    if ('body' in plan) return sendJson(response, plan.status, JSON.stringify(plan.body));
    if (!plan.stream) return sendJson(response, 200, geminiResponseJson(plan));
    // Without alt=sse Gemini streams one JSON array; the stand-in answers it whole, which is what a client sees.
    if (query.get('alt') !== 'sse') return sendJson(response, 200, `[${geminiResponseJson(plan)}]`);
    return sendStream(response, geminiStreamFrames(plan), geminiStreamErrorFrame, behaviour, lifetime.signal);
  }

  const server = createServer((request, response) => {
    inFlight += 1;
    if (inFlight > peakInFlight) peakInFlight = inFlight;
    sequence += 1;
    const requestNumber = sequence;
    const url = request.url ?? '/';
    const queryStart = url.indexOf('?');
    const record: MutableRecordedRequest = {
      method: request.method ?? 'GET',
      path: queryStart === -1 ? url : url.slice(0, queryStart),
      url,
      headers: flattenHeaders(request),
      body: undefined,
      aborted: false,
    };
    requests.push(record);
    response.setHeader('x-request-id', `req_standin${requestNumber}`);
    response.once('close', () => {
      inFlight -= 1;
      if (!response.writableFinished && !destroyedByServer.has(response) && !closing) record.aborted = true;
    });
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.once('end', () => {
      record.body = parseBody(chunks);
      const behaviour = queue.shift() ?? (typeof fallback === 'function' ? fallback(record) : fallback);
      answer(record, behaviour, response, requestNumber).catch(() => {
        // A stall or delay cut short by close(), or a client that went away: nothing left to answer.
        destroyByServer(response);
      });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('The stand-in upstream has no TCP address');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  // Accessors allowed here (no-restricted-syntax): one per stand-in server.
  return {
    url,
    baseUrl: `${url}/v1`,
    urlFor: (kind) => baseUrlFor(url, kind),
    requests,
    // eslint-disable-next-line no-restricted-syntax -- one per stand-in server.
    get inFlight() {
      return inFlight;
    },
    // eslint-disable-next-line no-restricted-syntax -- one per stand-in server.
    get peakInFlight() {
      return peakInFlight;
    },
    enqueue(...behaviours) {
      queue.push(...behaviours);
    },
    setDefault(behaviour) {
      fallback = behaviour;
    },
    reset() {
      requests.length = 0;
      peakInFlight = inFlight;
      queue.length = 0;
    },
    async close() {
      closing = true;
      lifetime.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await closed;
    },
  };
}
