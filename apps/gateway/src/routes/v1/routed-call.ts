import { moneyToNumber } from '@gw/cost';
import type { ProviderKind, RouterCallOptions, Usage } from '@gw/providers';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { CachedAnswer, CacheRequest, CacheTicket, ResponseCache } from '../../cache/response-cache.ts';
import type { Admission } from '../../limits/admission.ts';
import type { Pricing, RequestCost } from '../../cost/pricing.ts';
import type { GatewayEnv } from '../../gateway-env.ts';
import { setAnswerHeader, setAnswerHeaders } from '../../relay/answer-headers.ts';
import { GatewayError } from '../../gateway-error.ts';
import type { Logger } from '../../observability/logger.ts';
import type { GatewayTracing } from '../../observability/tracing.ts';
import type { OpenStreams } from '../../relay/open-streams.ts';
import { priorityOf } from '../../routing/call-options.ts';
import { startDeadline } from '../../routing/deadline.ts';
import type { GatewayRouting, RoutedModel } from '../../routing/gateway-routing.ts';
import {
  createSettle,
  startTrace,
  type Endpoint,
  type RequestTrace,
  type Settle,
  type SettleHook,
} from '../../settle/settle-once.ts';

/** What a route that calls upstream needs (chat completions, messages, embeddings); all of it built once at start. */
export interface RouteOptions {
  routing: GatewayRouting;
  logger: Logger;
  pricing: Pricing;
  settle?: SettleHook | undefined;
  /** Request bodies nesting deeper are refused (`server.maxJsonDepth`). */
  maxJsonDepth: number;
  /** The streams in progress (for the drain). */
  streams?: OpenStreams | undefined;
  /** Told when a request reaches routing (metrics count active requests; the settle ends them). */
  onStart?: (() => void) | undefined;
  /** Keep the request and the answer's text for the settle (`logging.bodies`). */
  keepBodies?: boolean | undefined;
  /** Limits, budgets and `max_parallel`, decided before the upstream call; none when absent. */
  admission?: Admission | undefined;
  /** Read the client's address from the first X-Forwarded-For hop (`server.trustProxy`). */
  trustProxy?: boolean | undefined;
  /** Traces (when `OTEL_EXPORTER_OTLP_ENDPOINT` is set): told the request reached routing. */
  tracing?: GatewayTracing | undefined;
  /** The response cache (docs/cache.md); none: nothing is cached. */
  cache?: ResponseCache | undefined;
}

/** A request's use of the response cache: the answer found, or the ticket its answer is kept with. */
export type CacheUse<T> =
  | { readonly hit: CachedAnswer<T>; readonly ticket?: undefined }
  | { readonly hit?: undefined; readonly ticket: CacheTicket<T> };

/** One request's way to the upstream: where it is routed, its call options, its pricing and its settle. */
export interface RoutedCall<T = unknown> {
  /** The model the client named (alias or `provider-id/model`). */
  readonly model: string;
  readonly routed: RoutedModel;
  /** Priority and the trace of the deployments tried (no signal: each call adds its own). */
  readonly callOptions: Omit<RouterCallOptions, 'signal'>;
  readonly trace: RequestTrace;
  /** The cost of `usage` on the deployment that answered (remembered for the settle); `undefined`: unpriced. */
  readonly price: (usage: Usage) => RequestCost | undefined;
  readonly settle: Settle;
  /**
   * The response cache's part: `hit` when the cache answers (no admission, no upstream call; the settle records a
   * cache hit), `ticket` when the answer is to be kept; `undefined` when the cache does not apply.
   */
  readonly cache?: CacheUse<T> | undefined;
}

/** What {@link beginRoutedCall} needs to know about the request. */
export interface RoutedCallOptions<T = unknown> {
  endpoint: Endpoint;
  /** The model the client named. */
  model: string;
  stream: boolean;
  /** The prompt's tokens, estimated from the request; called only when the vendor reports no usage. */
  estimatePromptTokens: (vendor: ProviderKind | undefined) => number;
  /** The request as the client sent it (kept only for `logging.bodies`). */
  body?: unknown;
  /** The request's `max_tokens` (or its spelling on this route); for token limits and budget reservations. */
  maxOutputTokens?: number | null | undefined;
  /** The request's `temperature`, for traces. */
  temperature?: number | null | undefined;
  /** What the response cache keys and reads this request by; without it the request is never cached. */
  cache?: Omit<CacheRequest<T>, 'model' | 'keyId'> | undefined;
}

/** The client's address: the socket's, or the first `X-Forwarded-For` hop behind a trusted proxy. */
function clientIp(c: Context<GatewayEnv>, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for');
    const first = forwarded?.split(',', 1)[0]?.trim();
    if (first !== undefined && first !== '') return first;
  }
  try {
    return getConnInfo(c).remote.address;
  } catch {
    // Not served by @hono/node-server (app.request in tests): no address.
    return undefined;
  }
}

/**
 * Refuses (403 `model_not_allowed`) a model the request's virtual key may not use (its `models` list).
 *
 * @example
 * assertModelAllowed(c, request.model);
 */
export function assertModelAllowed(c: Context<GatewayEnv>, model: string): void {
  const models = c.get('apiKey')?.models;
  if (models != null && !models.includes(model)) {
    throw new GatewayError(`This API key may not use the model ${JSON.stringify(model.slice(0, 200))}.`, {
      status: 403,
      type: 'permission_error',
      code: 'model_not_allowed',
      param: 'model',
    });
  }
}

/**
 * Routes the model the client named (404 / 503 when it cannot be served), checks the key's model list (403), lets
 * the request through its limits and budgets (429 / 402 before any upstream call), reads the `x-gw-priority`
 * header, and binds pricing and the settle hook to the request. The settled outcome names the deployment that
 * served (or failed last), read when settling, since the router decides it call by call; the settle gives back
 * what the admission held (tokens not used, the budget not spent, the parallel slot).
 *
 * @example
 * const call = await beginRoutedCall(c, options, { endpoint: 'chat', model: request.model, stream: false, estimatePromptTokens });
 */
export async function beginRoutedCall<T = unknown>(
  c: Context<GatewayEnv>,
  route: RouteOptions,
  options: RoutedCallOptions<T>,
): Promise<RoutedCall<T>> {
  const priority = priorityOf(c);
  const key = c.get('apiKey');
  assertModelAllowed(c, options.model);
  const found = route.routing.route(options.model);
  const ticket =
    options.cache === undefined || route.cache === undefined
      ? undefined
      : route.cache.begin(c, { ...options.cache, model: options.model, keyId: key?.id });
  const hit = typeof ticket === 'object' ? await ticket.lookup() : undefined;
  if (hit !== undefined) return answerFromCache(c, route, options, { hit, routed: found, priority });
  const cache = typeof ticket === 'object' ? { ticket } : undefined;
  const admitted =
    route.admission === undefined
      ? undefined
      : await route.admission.admit({
          key,
          ip: () => clientIp(c, route.trustProxy === true),
          model: options.model,
          routed: found,
          promptTokens: options.estimatePromptTokens,
          maxOutputTokens: options.maxOutputTokens ?? undefined,
          outputs: options.endpoint !== 'embeddings',
          stream: options.stream,
          signal: c.req.raw.signal,
        });
  if (admitted !== undefined) setAnswerHeaders(c, admitted.headers);
  // Said once the request is let through: a refusal (429, 402) says nothing of the cache.
  if (cache !== undefined) setAnswerHeader(c, 'x-gw-cache', 'miss');
  else if (ticket === 'skip') setAnswerHeader(c, 'x-gw-cache', 'skip');
  route.onStart?.();
  c.set('routed', true);
  const routed = route.tracing === undefined ? found : route.tracing.routed(found, options);
  const { trace, callOptions } = startTrace(options.model, priority);
  if (admitted?.slot !== undefined) callOptions.slot = admitted.slot;
  const { price, settle } = settleOf(c, route, options, trace);
  if (admitted === undefined) return { model: options.model, routed, callOptions, trace, price, settle, cache };
  const settleAdmitted: Settle = (input) => {
    const outcome = settle(input);
    if (outcome === undefined) return undefined;
    const headers = admitted.settled(outcome);
    // Answers not sent yet (JSON) show the budget as this request left it; a stream's headers are gone by now.
    if (headers !== undefined && !options.stream) setAnswerHeaders(c, headers);
    return outcome;
  };
  return { model: options.model, routed, callOptions, trace, price, settle: settleAdmitted, cache };
}

// The request's settle: what it is, who asked, and what it cost, bound for its one settle.
function settleOf<T>(
  c: Context<GatewayEnv>,
  route: RouteOptions,
  options: RoutedCallOptions<T>,
  trace: RoutedCall['trace'],
): ReturnType<typeof createSettle> {
  return createSettle({
    hook: route.settle,
    logger: route.logger,
    pricing: route.pricing,
    requestId: c.get('requestId'),
    clientRequestId: c.get('clientRequestId'),
    endpoint: options.endpoint,
    model: options.model,
    stream: options.stream,
    keyId: c.get('apiKey')?.id,
    trace,
    estimatePromptTokens: options.estimatePromptTokens,
    ...(route.keepBodies === true && options.body !== undefined ? { requestBody: options.body } : {}),
  });
}

/**
 * The routed call of a cache hit: no limits, budgets or upstream call; the settle records a completed cache hit
 * billed nothing, with the cost the answer had when it was first served as the cost saved (when it was priced in
 * the reporting currency). The deployment recorded is the one that served the cached answer.
 */
function answerFromCache<T>(
  c: Context<GatewayEnv>,
  route: RouteOptions,
  options: RoutedCallOptions<T>,
  served: { hit: CachedAnswer<T>; routed: RoutedModel; priority: number },
): RoutedCall<T> {
  const { hit, routed, priority } = served;
  setAnswerHeader(c, 'x-gw-cache', 'hit');
  route.onStart?.();
  c.set('routed', true);
  const { trace, callOptions } = startTrace(options.model, priority);
  trace.providerId = hit.providerId;
  trace.kind = hit.kind;
  trace.upstreamModel = hit.upstreamModel;
  const { price, settle } = settleOf(c, route, options, trace);
  const saved = hit.cost?.currency === route.pricing.currency ? hit.cost : undefined;
  if (saved !== undefined) setAnswerHeader(c, 'x-gw-cost-saved', String(moneyToNumber(saved)));
  const settleHit: Settle = (input) => settle({ ...input, usage: undefined, cacheHit: { saved } });
  return { model: options.model, routed, callOptions, trace, price, settle: settleHit, cache: { hit } };
}

/**
 * Says which deployment served (or failed last) on an answer that reached an upstream: `x-gw-provider`,
 * `x-gw-model` (the upstream model), `x-gw-attempts` (upstream calls, from 1) and `x-gw-fallback` (the fallback
 * alias that served, only when one did). Nothing when no upstream was called. Set before the head leaves: for a
 * stream, the values at its first byte.
 *
 * @example
 * setServedHeaders(c, call);
 */
export function setServedHeaders(c: Context<GatewayEnv>, call: Pick<RoutedCall, 'model' | 'trace'>): void {
  const { trace } = call;
  if (trace.attempts === 0) return;
  const headers: Record<string, string> = {
    'x-gw-provider': trace.providerId,
    'x-gw-model': trace.upstreamModel,
    'x-gw-attempts': String(trace.attempts),
  };
  if (trace.servedAlias !== call.model) headers['x-gw-fallback'] = trace.servedAlias;
  setAnswerHeaders(c, headers);
}

/**
 * Runs a non-streamed call within the request's total budget (`jsonTotalMs`), settling a failure (a 504 once the
 * budget ran out), and sets the headers that say who served ({@link setServedHeaders}), success or failure. The
 * caller settles the success with its usage.
 *
 * @example
 * const response = await callWithinBudget(c, call, (signal) => router.chat(request, { ...call.callOptions, signal }));
 */
export async function callWithinBudget<T>(
  c: Context<GatewayEnv>,
  call: RoutedCall,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const signal = c.req.raw.signal;
  const deadline = startDeadline(signal, call.routed.jsonTotalMs);
  try {
    return await run(deadline.signal);
  } catch (caught) {
    const error = deadline.expired() ? deadline.error() : caught;
    call.settle({ status: signal.aborted ? 'cancelled' : 'failed', error });
    throw error;
  } finally {
    deadline.clear();
    setServedHeaders(c, call);
  }
}
