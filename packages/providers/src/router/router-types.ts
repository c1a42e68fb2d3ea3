import type { ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse } from '../chat-api.ts';
import type { EmbeddingRequest, EmbeddingResponse } from '../embedding-api.ts';
import type { ProviderErrorKind } from '../provider-error.ts';
import type { CallOptions, Provider } from '../provider.ts';

/** How a model alias spreads its requests over its deployments. */
export type RoutingStrategy = 'round-robin' | 'weighted' | 'least-busy' | 'latency' | 'cost';

/** One place a model alias can be served from: a provider and the model name it knows. */
export interface DeploymentConfig {
  /** Unique across the router; default `<provider.id>/<model>` (with `#2`, `#3`… when that repeats). */
  id?: string | undefined;
  provider: Provider;
  /** The upstream model name written into the request's `model`. */
  model: string;
  /** For `weighted`: a positive number, default 1. */
  weight?: number | undefined;
}

/** A name clients call (`request.model`) and the deployments behind it. */
export interface ModelAliasConfig {
  name: string;
  /** Default `round-robin`. */
  strategy?: RoutingStrategy | undefined;
  deployments: DeploymentConfig[];
  /** Aliases tried in order when every deployment of this one failed with a retryable kind. */
  fallbacks?: string[] | undefined;
  /** Aliases tried in order when a deployment answered `context_window` (the prompt does not fit). */
  contextWindowFallbacks?: string[] | undefined;
  /** Aliases tried in order when a deployment answered `content_filter` (a safety refusal). */
  contentFilterFallbacks?: string[] | undefined;
}

/** A deployment as the router sees it (no provider internals), given to callbacks and snapshots. */
export interface RouterDeployment {
  readonly id: string;
  /** The alias this deployment serves. */
  readonly alias: string;
  /** The provider's `id`. */
  readonly providerId: string;
  readonly provider: Provider;
  /** The upstream model name. */
  readonly model: string;
  readonly weight: number;
}

/** When a failing deployment is taken out of rotation. */
export interface CooldownOptions {
  /** Consecutive failures with a cooling kind before the deployment cools down; default 1. A success resets the count. */
  afterFailures?: number | undefined;
  /** How long it stays out of rotation; default 30 000 ms (longer when the error's `retryAfterMs` says so). */
  cooldownMs?: number | undefined;
  /**
   * The error kinds that count; default every kind that blames the deployment rather than the request:
   * rate_limit, overloaded, server, timeout, connection, authentication, permission, quota, not_found.
   */
  onlyFor?: readonly ProviderErrorKind[] | undefined;
}

/** Why the router moved from one alias to another. */
export type FallbackReason = 'retryable' | 'context_window' | 'content_filter';

/** What the router did, for logs and metrics (the router itself never logs). */
export type RouterEvent =
  | {
      type: 'deployment-chosen';
      alias: string;
      deployment: RouterDeployment;
      strategy: RoutingStrategy;
      cooling: boolean;
    }
  | { type: 'attempt-failed'; alias: string; deployment: RouterDeployment; error: unknown }
  | { type: 'cooldown-start'; deployment: RouterDeployment; until: number; error: unknown }
  | { type: 'cooldown-end'; deployment: RouterDeployment }
  | { type: 'fallback'; from: string; to: string; reason: FallbackReason };

/**
 * Wraps every call on one deployment, e.g. with a retry policy and a circuit breaker; `call` may be invoked
 * more than once (each invocation takes its own `acquire` slot). Must pass `signal` on.
 */
export type AttemptWrapper = <T>(
  deployment: RouterDeployment,
  call: (signal: AbortSignal) => Promise<T>,
  signal: AbortSignal,
) => Promise<T>;

/** Takes a slot on a deployment (e.g. a concurrency limiter); resolves with the function that gives it back. */
export type AcquireSlot = (
  deployment: RouterDeployment,
  options: { priority: number | undefined; signal: AbortSignal; slot: unknown },
) => Promise<() => void>;

/** Options of `createRouter`. */
export interface RouterOptions {
  models: ModelAliasConfig[];
  /** For `cost`: the price of a request on a deployment, any unit as long as it is the same for all; undefined = unknown (sorts last). */
  price?:
    | ((deployment: RouterDeployment, request: ChatCompletionRequest | EmbeddingRequest) => number | undefined)
    | undefined;
  cooldown?: CooldownOptions | undefined;
  /** The clock, in ms (default `Date.now`): cooldowns and latencies are measured with it. */
  now?: (() => number) | undefined;
  /** Per-deployment call wrapper (retry, breaker…); default: call once. */
  attempt?: AttemptWrapper | undefined;
  /** Per-call slot (concurrency limiter); default: none. A stream holds its slot until it ends. */
  acquire?: AcquireSlot | undefined;
  /** Told what the router did; must not throw. */
  onEvent?: ((event: RouterEvent) => void) | undefined;
}

/** Per-call options of the router: those of a provider, plus a priority handed to `acquire`. */
export interface RouterCallOptions extends CallOptions {
  /** Passed to `acquire` as is (its meaning is the limiter's). */
  priority?: number | undefined;
  /**
   * Passed to `acquire` as is, like `priority`: what a limiter needs to know about the call (a token estimate for
   * per-deployment token limits, a place to keep what it took so it can be corrected after the call).
   */
  slot?: unknown;
  /**
   * Told each deployment the call is tried on, in order, before it is tried: the last one told is the one that
   * answered (or failed last). For accounting: which provider and upstream model served the request.
   */
  onDeployment?: ((deployment: RouterDeployment) => void) | undefined;
  /**
   * Told each time a call goes upstream (retries of one deployment included), just before it does: the number of
   * calls is how many upstream attempts the request cost.
   */
  onAttempt?: ((deployment: RouterDeployment) => void) | undefined;
}

/** One deployment's state, for metrics and admin pages. */
export interface DeploymentHealth {
  readonly id: string;
  readonly alias: string;
  readonly providerId: string;
  readonly model: string;
  /** Calls started and not finished (a stream counts until it ends). */
  readonly inFlight: number;
  /** EWMA of the time to first chunk (streams) or to the response (chat, embed), in ms; undefined until measured. */
  readonly ewmaTtftMs: number | undefined;
  /** Out of rotation until then (ms on the router's clock); undefined when not cooling. */
  readonly cooldownUntil: number | undefined;
  readonly lastErrorKind: ProviderErrorKind | undefined;
  /** Calls the router made on it (one per `attempt`, whatever retries happen inside). */
  readonly calls: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
}

/** Routes requests for model aliases to deployments, with cooldowns and fallbacks. */
export interface Router {
  /** Like `Provider.chat`, with `request.model` naming an alias. */
  chat(request: ChatCompletionRequest, options?: RouterCallOptions): Promise<ChatCompletionResponse>;
  /** Like `Provider.chatStream`: lazy; failures before the first chunk are routed, later ones reach the consumer. */
  chatStream(request: ChatCompletionRequest, options?: RouterCallOptions): AsyncIterableIterator<ChatCompletionChunk>;
  /** Like `Provider.embed`, with `request.model` naming an alias. */
  embed(request: EmbeddingRequest, options?: RouterCallOptions): Promise<EmbeddingResponse>;
  /** Every deployment of every alias, in configuration order. */
  deployments(): RouterDeployment[];
  /** A snapshot of every deployment's state, in configuration order. */
  health(): DeploymentHealth[];
}
