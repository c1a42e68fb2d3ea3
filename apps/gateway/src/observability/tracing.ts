import type { AttemptWrapper, RouterEvent } from '@gw/providers';
import type { MiddlewareHandler } from 'hono';
import type { GatewayEnv } from '../gateway-env.ts';
import type { RoutedModel } from '../routing/gateway-routing.ts';
import type { Endpoint, SettleHook } from '../settle/settle-once.ts';

/** What a route knows about its request once it reaches routing: what a request span is named and tagged with. */
export interface TracedRequest {
  readonly endpoint: Endpoint;
  /** The model the client named (alias or `provider-id/model`). */
  readonly model: string;
  readonly stream: boolean;
  readonly maxOutputTokens?: number | null | undefined;
  readonly temperature?: number | null | undefined;
}

/**
 * The gateway's OpenTelemetry traces: a server span per request, a client span per upstream attempt, retries and
 * fallbacks as events. Every member is installed only when tracing is on, so a gateway without it runs none of this.
 */
export interface GatewayTracing {
  /** Starts a request's span (a child of the client's `traceparent`) and ends it once answered and settled. */
  readonly middleware: MiddlewareHandler<GatewayEnv>;
  /** Wraps the per-deployment policies: each upstream call (retries included) becomes a client span. */
  readonly wrapAttempt: (attempt: AttemptWrapper | undefined) => AttemptWrapper;
  /** The request reached routing: names its span, and returns the route with a router that reads the answers. */
  readonly routed: (routed: RoutedModel, request: TracedRequest) => RoutedModel;
  /** Router events: fallbacks become events of the request's span. */
  readonly onRouterEvent: (event: RouterEvent) => void;
  /** Usage, cost, outcome: the last attributes of the request's spans. */
  readonly settled: SettleHook;
  /** Exports the spans still buffered; called when the server has closed. */
  readonly shutdown: () => Promise<void>;
}
