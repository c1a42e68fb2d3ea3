import type { ProviderKind } from '../provider-kinds.ts';
/** One request the stand-in received. */
export interface RecordedRequest {
  readonly method: string;
  /** The path without the query string, e.g. `/v1/chat/completions`. */
  readonly path: string;
  /** The raw request target, query string included. */
  readonly url: string;
  /** Header names in lower case; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body, or the raw text when it is not JSON; undefined until the body has arrived. */
  readonly body: unknown;
  /** True when the client went away before the response ended. Updated when the socket closes. */
  readonly aborted: boolean;
}

/**
 * Answer like a real chat model. On /v1/embeddings and /v1/models it answers those routes normally, so the
 * default behaviour serves every route.
 */
export interface StandInChatBehaviour {
  type: 'chat';
  /** The answer; default: a short sentence derived from the last user message. */
  content?: string;
  toolCalls?: Array<{ id?: string; name: string; arguments: string }>;
  /** Sent as `reasoning_content` (DeepSeek style), before the content; under `/v1beta/` as `thought: true` parts. */
  reasoning?: string;
  /** Default: `tool_calls` when there are tool calls, else `stop`. */
  finishReason?: string;
  /**
   * Default: word counts of the prompt and of the answer. `prompt_tokens` counts every input token, cache reads and
   * writes included (OpenAI's convention); each dialect renders the cache counts its own way (OpenAI
   * `prompt_tokens_details.cached_tokens`, Anthropic `cache_read_input_tokens` / `cache_creation_input_tokens`,
   * Gemini `cachedContentTokenCount`, Bedrock `cacheReadInputTokens` / `cacheWriteInputTokens`).
   */
  usage?: {
    prompt_tokens: number;
    completion_tokens: number;
    /** Prompt tokens read from the vendor's cache. */
    cached_tokens?: number;
    /** Prompt tokens written to the cache (Anthropic, Bedrock); of them `cache_write_1h_tokens` for 1 hour. */
    cache_write_tokens?: number;
    cache_write_1h_tokens?: number;
  };
  /**
   * Stream: put the usage on the finish chunk whether or not the client asked for `include_usage`, as Zhipu and
   * Mistral do (no usage-only chunk then).
   */
  usageOnFinishChunk?: boolean;
  /** Wait this long before sending the response headers. */
  delayMs?: number;
  /** Wait this long between stream chunks. Without it chunks are written back to back (batched into larger writes). */
  chunkDelayMs?: number;
  /** Words per content chunk in streams; default 1. */
  chunkWords?: number;
  /** Stream: send N chunks (counting every `data:` chunk, the role chunk included), then go silent, connection open. */
  stallAfterChunks?: number;
  /** Stream: send N chunks, then destroy the socket. */
  cutAfterChunks?: number;
  /**
   * Stream: send N chunks, then the vendor's in-stream error (still HTTP 200) and end the body. Every dialect
   * renders it its own way: Anthropic as `event: error` with `{type:"error",error:{type: errorType}}`, OpenAI as
   * `data: {"error":{type: errorType}}`. Counted like `cutAfterChunks`.
   */
  errorAfterChunks?: number;
  /** The vendor error type of `errorAfterChunks`; default `overloaded_error` (Anthropic) / `server_error` (OpenAI). */
  errorType?: string;
}

/**
 * Answer with an HTTP error. `body` is a JSON value or a string; default: an error envelope for the status in the
 * dialect of the route (OpenAI's; Anthropic's on /v1/messages, e.g. 529 → `overloaded_error`; under `/v1beta/` a
 * Gemini `google.rpc.Status` body, with a RetryInfo detail of 2s for 429).
 */
export interface StandInErrorBehaviour {
  type: 'error';
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
}

/** Answer with exactly these bytes, e.g. a recorded SSE stream. Content type guessed from the body unless given. */
export interface StandInRawBehaviour {
  type: 'raw';
  status?: number;
  headers?: Record<string, string>;
  body: string | Uint8Array;
  delayMs?: number;
}

/** How the stand-in answers one request. */
export type StandInBehaviour = StandInChatBehaviour | StandInErrorBehaviour | StandInRawBehaviour;

/** The kinds a stand-in serves: every provider kind but `demo`, which calls no upstream. */
export type StandInKind = Exclude<ProviderKind, 'demo'>;

/** Options of `startStandInUpstream`. */
export interface StandInUpstreamOptions {
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Answers requests when the queue is empty; default `{ type: 'chat' }`. */
  defaultBehaviour?: StandInBehaviour;
  /** Ids listed by GET /v1/models; default gpt-4o-mini, gpt-4o, text-embedding-3-small. */
  models?: string[];
}

/** A running stand-in upstream. */
export interface StandInUpstream {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `url + '/v1'`: the base URL of the OpenAI-format kinds (`urlFor('openai')`). */
  readonly baseUrl: string;
  /**
   * The base URL to give `createProvider({ kind, baseUrl })` for `kind`, with the path that kind's default base URL
   * has: `url + '/v1beta'` for `gemini`, `url + '/v1'` for `anthropic` and the OpenAI-format kinds, `url` itself for
   * `azure-openai` and `bedrock` (their adapters add `/openai/…` and `/model/…`). The vendors' own SDKs append
   * their version themselves: the `openai` SDK takes `urlFor('openai')`, `@anthropic-ai/sdk` and `@google/genai`
   * take `url`.
   *
   * @example
   * ```ts
   * const gemini = createProvider({ kind: 'gemini', baseUrl: upstream.urlFor('gemini'), apiKey: 'test' });
   * ```
   */
  urlFor(kind: StandInKind): string;
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Requests currently being answered. */
  readonly inFlight: number;
  /** The most requests answered at once since the start or the last `reset()` (e.g. to check a concurrency limit). */
  readonly peakInFlight: number;
  /** Queue scripted behaviours: each queued item answers exactly one request, in order; when the queue is empty the default behaviour answers. */
  enqueue(...behaviours: StandInBehaviour[]): void;
  /** Replace the default behaviour, or compute one per request. */
  setDefault(behaviour: StandInBehaviour | ((request: RecordedRequest) => StandInBehaviour)): void;
  /** Clear the recorded requests and the queue. */
  reset(): void;
  /** Close the server and destroy open sockets (stalled streams included). */
  close(): Promise<void>;
}
