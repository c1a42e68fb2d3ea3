import type { ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse } from './chat-api.ts';
import type { EmbeddingRequest, EmbeddingResponse } from './embedding-api.ts';
import type { ProviderError } from './provider-error.ts';
import type { ProviderKind } from './provider-kinds.ts';
import type { Transport } from './transport.ts';

/** How to reach one vendor account. */
export interface ProviderConfig {
  kind: ProviderKind;
  /** Names the provider in errors and routing; defaults to `kind`. */
  id?: string | undefined;
  /**
   * Sent as `Authorization: Bearer <apiKey>` (Anthropic: `x-api-key`; Gemini: `x-goog-api-key`; Azure: `api-key`);
   * never appears in an error message.
   */
  apiKey?: string | undefined;
  /** Overrides the kind's default base URL (required for `openai-compatible`). */
  baseUrl?: string | undefined;
  /** Extra headers on every request. */
  headers?: Record<string, string> | undefined;
  /** Azure OpenAI: a dated api-version (default `2024-10-21`) or `v1` for the v1 API. */
  apiVersion?: string | undefined;
  /** Bedrock: the AWS region, e.g. `us-east-1`; gives the default base URL and the SigV4 scope. */
  region?: string | undefined;
  /** Bedrock: the AWS access key id for SigV4 signing (without it, `apiKey` is sent as a Bedrock API key). */
  accessKeyId?: string | undefined;
  /** Bedrock: the AWS secret access key; never appears in an error message. */
  secretAccessKey?: string | undefined;
  /** Bedrock: the session token of temporary credentials; never appears in an error message. */
  sessionToken?: string | undefined;
  /**
   * Sends every HTTP call of the provider (chat, streams, embeddings, model lists; Bedrock's signed calls too): a
   * narrower contract than `fetch` (see `Transport`). Default: one HTTP client shared by every provider of the
   * process (`createHttpTransport()` with its defaults, created on the first call). Pass
   * `createHttpTransport(options).transport` to choose pool sizes and timeouts, or to read its stats.
   */
  transport?: Transport | undefined;
  /** A `fetch` of your own (instrumented, say), used as the transport when no `transport` is given. */
  fetch?: typeof globalThis.fetch | undefined;
  /**
   * `max_tokens` for requests that name none, where the vendor requires one (Anthropic; default 4096). Ignored by
   * vendors that have their own default.
   */
  defaultMaxTokens?: number | undefined;
  /**
   * Most bytes of a JSON answer (a chat completion, embeddings, a model list, an error's body) read into memory.
   * A larger one (by its `Content-Length`, or as it arrives) is not read further, its connection is closed, and the
   * call fails with kind `server`, code `upstream_response_too_large`, not retried. Default 64 MiB.
   */
  maxResponseBytes?: number | undefined;
  /**
   * Most characters of one streamed event while it is read (an SSE event's unfinished line and data lines; the bytes
   * of a Bedrock event-stream message). A larger one fails the stream the same way. Default 16 Mi.
   */
  maxEventSize?: number | undefined;
  /**
   * A JSON answer whose body, once its head has arrived, sends nothing for this long fails with kind `timeout`
   * (code `body_idle_timeout`). Default: no limit (the call's signal decides). Streams are timed by the caller.
   */
  bodyIdleTimeoutMs?: number | undefined;
  /**
   * More values to scrub from everything the vendor sends back (every error field, the ids copied from its
   * headers), besides the provider's own key and credentials, which always are: a server passes every secret it
   * holds, so a vendor or a proxy echoing another provider's key cannot leak it either. Values shorter than 4
   * characters are ignored.
   */
  secrets?: readonly string[] | undefined;
}

/** Per-call options. */
export interface CallOptions {
  /** Aborting it aborts the upstream HTTP request; the call then fails with kind `cancelled`. */
  signal?: AbortSignal | undefined;
  /** Extra headers for this call only. */
  headers?: Record<string, string> | undefined;
}

/** The answer of {@link Provider.healthCheck}. */
export interface HealthCheckResult {
  ok: boolean;
  latencyMs: number;
  error?: ProviderError | undefined;
}

/** One model as listed by the vendor. */
export interface ModelInfo {
  id: string;
  object: 'model';
  created?: number | undefined;
  owned_by?: string | undefined;
}

/** One vendor account behind one typed API. Every method throws {@link ProviderError} and only that. */
export interface Provider {
  readonly id: string;
  readonly kind: ProviderKind;
  /** A non-streamed chat completion; a `stream` flag in the request is ignored. */
  chat(request: ChatCompletionRequest, options?: CallOptions): Promise<ChatCompletionResponse>;
  /**
   * Lazily starts the HTTP call on the first next(); HTTP/connection errors reject that first next() with
   * ProviderError (so a server can still answer with a proper status); an error event or `{"error":…}` payload
   * inside the stream, a cut connection, or an unparsable chunk throws ProviderError mid-iteration. Ending
   * iteration early (return/break) or aborting the signal aborts the upstream HTTP request. For kinds that
   * support it, the adapter always sends stream_options.include_usage=true so every stream can be billed, and
   * yields the usage-only chunk (choices: []) like OpenAI does.
   */
  chatStream(request: ChatCompletionRequest, options?: CallOptions): AsyncIterableIterator<ChatCompletionChunk>;
  embed(request: EmbeddingRequest, options?: CallOptions): Promise<EmbeddingResponse>;
  listModels(options?: CallOptions): Promise<ModelInfo[]>;
  /**
   * Calls the vendor (its model list; Bedrock: a Converse call it refuses; demo: nothing) and times it; never throws:
   * a failure, an unreachable vendor included (kind `connection`), is `{ ok: false, error }`.
   */
  healthCheck(options?: CallOptions): Promise<HealthCheckResult>;
  /**
   * The prompt's input tokens as the vendor counts them (system, messages, tools), with the vendor's own counting
   * API, which bills nothing. Only on kinds that have one: `anthropic` (`POST /v1/messages/count_tokens`).
   */
  countTokens?(request: ChatCompletionRequest, options?: CallOptions): Promise<number>;
}
