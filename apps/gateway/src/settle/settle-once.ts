import { estimateOutputTokens, type Money } from '@gw/cost';
import type { ProviderKind, RouterCallOptions, Usage } from '@gw/providers';
import type { Pricing, RequestCost } from '../cost/pricing.ts';
import type { Logger } from '../observability/logger.ts';

/** How a request that reached routing ended. */
export type OutcomeStatus = 'completed' | 'failed' | 'cancelled';

/** The route a request came in on. */
export type Endpoint = 'chat' | 'messages' | 'embeddings' | 'responses';

/** Everything known about a finished request, handed once to every settle subscriber (ledger, budgets, metrics…). */
export interface RequestOutcome {
  /** The gateway's id of the request (UUIDv7): the ledger's key. */
  readonly requestId: string;
  /** The `x-request-id` the client sent, when it sent one. */
  readonly clientRequestId: string | undefined;
  readonly endpoint: Endpoint;
  /** The model the client asked for (alias or `provider-id/model`). */
  readonly model: string;
  /** The deployment that served (or failed last); empty when no deployment was tried. */
  readonly providerId: string;
  readonly kind: ProviderKind | undefined;
  /** The model name sent upstream. */
  readonly upstreamModel: string;
  readonly stream: boolean;
  readonly status: OutcomeStatus;
  /** The failure, for `failed` (and for `cancelled` when one was raised). */
  readonly error?: unknown;
  /** The usage the vendor reported, or the estimate when it reported none (`estimated`). */
  readonly usage: Usage | undefined;
  /** True when `usage` was estimated (no usage from the vendor: a cut stream, a client that left…). */
  readonly estimated: boolean;
  /** The cost in the reporting currency; `undefined` when there was no usage or the model has no price. */
  readonly cost: RequestCost | undefined;
  /** True when the model that served has no price: the request is flagged, never counted as free. */
  readonly unpriced: boolean;
  /** Upstream calls made (retries and fallbacks included). */
  readonly attempts: number;
  /** True when a fallback alias served (or failed last). */
  readonly fallback: boolean;
  /** When the request started (ms since the epoch). */
  readonly startedAt: number;
  readonly latencyMs: number;
  /** Time to the first streamed chunk, for streams that produced one. */
  readonly ttftMs: number | undefined;
  /** The virtual key the request came with; `undefined` for the master key and open mode. */
  readonly keyId: string | undefined;
  /** The request and the answer's text, only when `logging.bodies` asks for them. */
  readonly bodies?: { readonly request: unknown; readonly answer: string } | undefined;
  /** True when the response cache answered (no upstream call, billed nothing). */
  readonly cacheHit?: boolean | undefined;
  /** For a cache hit: what the cached answer cost when it was first served (`undefined`: it was unpriced). */
  readonly costSaved?: Money | undefined;
}

/**
 * Called exactly once per request that reached routing, however it ended (completed, failed, the client gone
 * mid-stream). This is where ledgers, budgets and metrics settle; errors it throws are logged, never surfaced.
 */
export type SettleHook = (outcome: RequestOutcome) => void | Promise<void>;

/** What a route knows when its request ends. */
export interface SettleInput {
  status: OutcomeStatus;
  /** The usage the vendor reported, if it did. */
  usage?: Usage | undefined;
  error?: unknown;
  /** What reached the client so far (streams), for an output estimate when the vendor reported no usage. */
  relayedText?: string | undefined;
  /** The response cache answered: nothing is billed; `saved` is what the answer cost when it was first served. */
  cacheHit?: { saved: Money | undefined } | undefined;
}

/** Settles one request and returns its outcome; calls after the first are ignored (and return `undefined`). */
export type Settle = (input: SettleInput) => RequestOutcome | undefined;

/**
 * The per-request record the router fills in as it tries deployments (plain fields: see eslint.config.js for why
 * not getters). Read when the request is priced and settled.
 */
export interface RequestTrace {
  providerId: string;
  kind: ProviderKind | undefined;
  upstreamModel: string;
  /** The alias the deployment tried last belongs to: the requested one, or a fallback. */
  servedAlias: string;
  attempts: number;
  startedAt: number;
  /** `performance.now()` at the start, for latencies. */
  started: number;
  /** `performance.now()` of the first streamed chunk. */
  firstChunkAt: number | undefined;
}

/** What {@link createSettle} needs. */
export interface SettleContext {
  hook: SettleHook | undefined;
  logger: Logger;
  pricing: Pricing;
  requestId: string;
  clientRequestId: string | undefined;
  endpoint: Endpoint;
  model: string;
  stream: boolean;
  keyId: string | undefined;
  trace: RequestTrace;
  /**
   * The prompt's tokens, estimated from the request for the vendor kind that served (called only when the vendor
   * reported no usage).
   */
  estimatePromptTokens: (vendor: ProviderKind | undefined) => number;
  /** The request as the client sent it, kept for the outcome when bodies are logged. */
  requestBody?: unknown;
}

/**
 * Starts the trace of one request and the router call options that keep it up to date.
 *
 * @example
 * const { trace, callOptions } = startTrace('chat', priority);
 */
export function startTrace(
  alias: string,
  priority: number,
): { trace: RequestTrace; callOptions: Omit<RouterCallOptions, 'signal'> } {
  const trace: RequestTrace = {
    providerId: '',
    kind: undefined,
    upstreamModel: '',
    servedAlias: alias,
    attempts: 0,
    startedAt: Date.now(),
    started: performance.now(),
    firstChunkAt: undefined,
  };
  const callOptions: Omit<RouterCallOptions, 'signal'> = {
    priority,
    onDeployment: (deployment) => {
      trace.providerId = deployment.providerId;
      trace.kind = deployment.provider.kind;
      trace.upstreamModel = deployment.model;
      trace.servedAlias = deployment.alias;
    },
    onAttempt: () => {
      trace.attempts += 1;
    },
  };
  return { trace, callOptions };
}

/**
 * The usage to bill when the vendor reported none. A request that produced output (a stream cut or left mid-way,
 * a vendor that never reports usage) is billed its estimated prompt and output; one the client left before any
 * output is billed its prompt, as vendors do; one that failed without output is not billed (vendors do not bill a
 * refused call).
 */
function estimatedUsage(input: SettleInput, context: SettleContext): Usage | undefined {
  const text = input.relayedText ?? '';
  if (input.status === 'failed' && text === '') return undefined;
  if (context.trace.attempts === 0) return undefined;
  const vendor = context.trace.kind;
  const prompt = context.estimatePromptTokens(vendor);
  const completion = text === '' ? 0 : estimateOutputTokens(text, vendor === undefined ? undefined : { vendor });
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** A request's pricing and settling, bound to it. */
export interface RequestSettle {
  /**
   * The cost of `usage` on the deployment that answered, remembered for the settle (so a JSON answer that shows
   * its cost and the ledger agree). `undefined` when the model is unpriced.
   */
  readonly price: (usage: Usage) => RequestCost | undefined;
  /** Settles the request once, whichever of completion, failure or disconnect gets there first. */
  readonly settle: Settle;
}

/**
 * Binds pricing and the settle hook to one request and guarantees the exactly-once call. The trace is read when
 * settling, so the deployment reported is the one that served.
 *
 * @example
 * const { price, settle } = createSettle({ hook, logger, pricing, requestId, endpoint: 'chat', model, stream: false, keyId: undefined, trace, estimatePromptTokens });
 * const cost = price(response.usage);
 * settle({ status: 'completed', usage: response.usage });
 */
export function createSettle(context: SettleContext): RequestSettle {
  const { trace, pricing } = context;
  let settled = false;
  let priced: { usage: Usage; cost: RequestCost | undefined } | undefined;

  const price = (usage: Usage): RequestCost | undefined => {
    if (priced?.usage === usage) return priced.cost;
    const cost =
      trace.kind === undefined
        ? undefined
        : pricing.costOf(usage, { providerId: trace.providerId, kind: trace.kind, model: trace.upstreamModel });
    priced = { usage, cost };
    return cost;
  };

  const settle: Settle = (input) => {
    if (settled) return undefined;
    settled = true;
    // A cache hit made no upstream call: no usage, nothing billed.
    const reported = input.cacheHit === undefined ? (input.usage ?? undefined) : undefined;
    const usage = reported ?? (input.cacheHit === undefined ? estimatedUsage(input, context) : undefined);
    const cost = usage === undefined ? undefined : price(usage);
    const now = performance.now();
    const outcome: RequestOutcome = {
      requestId: context.requestId,
      clientRequestId: context.clientRequestId,
      endpoint: context.endpoint,
      model: context.model,
      providerId: trace.providerId,
      kind: trace.kind,
      upstreamModel: trace.upstreamModel,
      stream: context.stream,
      status: input.status,
      ...(input.error === undefined ? {} : { error: input.error }),
      usage,
      estimated: reported === undefined && usage !== undefined,
      cost,
      unpriced: usage !== undefined && cost === undefined,
      attempts: trace.attempts,
      fallback: trace.servedAlias !== context.model && trace.attempts > 0,
      startedAt: trace.startedAt,
      latencyMs: now - trace.started,
      ttftMs: trace.firstChunkAt === undefined ? undefined : trace.firstChunkAt - trace.started,
      keyId: context.keyId,
      ...(context.requestBody === undefined
        ? {}
        : { bodies: { request: context.requestBody, answer: input.relayedText ?? '' } }),
      ...(input.cacheHit === undefined ? {} : { cacheHit: true, costSaved: input.cacheHit.saved }),
    };
    try {
      const result = context.hook?.(outcome);
      if (result !== undefined) {
        result.catch((failure: unknown) =>
          context.logger.error('settle hook failed', { requestId: context.requestId, error: failure }),
        );
      }
    } catch (failure) {
      context.logger.error('settle hook failed', { requestId: context.requestId, error: failure });
    }
    return outcome;
  };

  return { price, settle };
}
