import type { RouterCallOptions } from '@gw/providers';
import type { Context } from 'hono';
import type { GatewayEnv } from '../../gateway-env.ts';
import type { Logger } from '../../observability/logger.ts';
import type { OpenStreams } from '../../relay/open-streams.ts';
import { priorityOf, routerCallOptions } from '../../routing/call-options.ts';
import { startDeadline } from '../../routing/deadline.ts';
import type { GatewayRouting, RoutedModel } from '../../routing/gateway-routing.ts';
import { settleOnce, type Settle, type SettleHook } from '../../settle/settle-once.ts';

/** What a route that calls upstream needs (chat completions, messages, embeddings); all of it built once at start. */
export interface RouteOptions {
  routing: GatewayRouting;
  logger: Logger;
  settle?: SettleHook;
  /** Request bodies nesting deeper are refused (`server.maxJsonDepth`). */
  maxJsonDepth: number;
  /** The streams in progress (for the drain). */
  streams?: OpenStreams | undefined;
}

/** One request's way to the upstream: where it is routed, its call options and its settle. */
export interface RoutedCall {
  readonly routed: RoutedModel;
  /** Priority and the record of the deployment tried (no signal: each call adds its own). */
  readonly callOptions: Omit<RouterCallOptions, 'signal'>;
  readonly settle: Settle;
}

/** What {@link beginRoutedCall} needs to know about the route. */
export interface RoutedCallOptions {
  routing: GatewayRouting;
  logger: Logger;
  hook: SettleHook | undefined;
  /** The model the client named. */
  model: string;
  stream: boolean;
}

/**
 * Routes the model the client named (404 / 503 when it cannot be served), reads the `x-gw-priority` header, and
 * binds the settle hook to the request. The settled outcome names the deployment that served (or failed last),
 * read when settling, since the router decides it call by call.
 *
 * @example
 * const { routed, callOptions, settle } = beginRoutedCall(c, { routing, logger, hook, model: request.model, stream: false });
 */
export function beginRoutedCall(c: Context<GatewayEnv>, options: RoutedCallOptions): RoutedCall {
  const priority = priorityOf(c);
  const routed = options.routing.route(options.model);
  // The router fills in the deployment as it tries them; the outcome is read when settling (plain fields: see
  // eslint.config.js for why not getters).
  const outcome = {
    requestId: c.get('requestId'),
    model: options.model,
    providerId: '',
    upstreamModel: '',
    stream: options.stream,
  };
  const callOptions = routerCallOptions(priority, outcome);
  const settle = settleOnce(options.hook, options.logger, outcome);
  return { routed, callOptions, settle };
}

/**
 * Runs a non-streamed call within the request's total budget, settling a failure (a 504 once the budget ran out).
 * The caller settles the success with its usage.
 *
 * @example
 * const response = await callWithinBudget(c, call, (signal) => router.chat(request, { ...call.callOptions, signal }));
 */
export async function callWithinBudget<T>(
  c: Context,
  call: RoutedCall,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const signal = c.req.raw.signal;
  const deadline = startDeadline(signal, call.routed.totalMs);
  try {
    return await run(deadline.signal);
  } catch (caught) {
    const error = deadline.expired() ? deadline.error() : caught;
    call.settle(undefined, signal.aborted ? 'cancelled' : 'failed', error);
    throw error;
  } finally {
    deadline.clear();
  }
}
