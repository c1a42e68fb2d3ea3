import { Hono } from 'hono';
import type { GatewayConfig } from './config/schema.ts';
import { configSecrets } from './config/secrets.ts';
import { createErrorHandler } from './error-handler.ts';
import { GatewayError } from './gateway-error.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { isAnthropicPath, toAnthropicError } from './anthropic-error.ts';
import type { GatewayEnv } from './gateway-env.ts';
import { accessLog } from './middleware/access-log.ts';
import { apiKeyAuth, masterKeyAuth } from './middleware/auth.ts';
import { createKeyResolver } from './keys/key-resolver.ts';
import { createGatewayLimits } from './limits/gateway-limits.ts';
import type { GatewayRedis } from './storage/redis.ts';
import { bodyLimit } from './middleware/body-limit.ts';
import { requestId } from './middleware/request-id.ts';
import { createOpenStreams, type OpenStreams } from './relay/open-streams.ts';
import { createAdminApp } from './routes/admin/admin-app.ts';
import { chatCompletions } from './routes/v1/chat-completions.ts';
import { embeddings } from './routes/v1/embeddings.ts';
import { live, ready } from './routes/health.ts';
import { messages } from './routes/v1/messages.ts';
import { listModels } from './routes/v1/models.ts';
import { createMemoryResponseStore, type ResponseStore } from './routes/v1/response-store.ts';
import { responses, retrieveResponse } from './routes/v1/responses.ts';
import { createProviderRegistry, type ProviderRegistry } from './routing/provider-registry.ts';
import { createHttpTransport, type DeploymentHealth, type RouterDeployment, type RouterEvent } from '@gw/providers';
import type { AdaptiveConcurrencySnapshot, LimiterSnapshot } from '@gw/ratelimit';
import { createDeploymentPolicies, type BreakerSnapshot } from './routing/deployment-policies.ts';
import { startHealthProbes, type HealthProbes, type ProbeResult } from './routing/health-probes.ts';
import { createGatewayRouting, type GatewayRouting } from './routing/gateway-routing.ts';
import { createModelResolver, type ModelResolver } from './routing/resolve-model.ts';
import type { SettleHook } from './settle/settle-once.ts';
import { combineSettleHooks } from './settle/combine-settle-hooks.ts';
import { warnUnpriced } from './settle/subscribers/warn-unpriced.ts';
import { accessLogSubscriber } from './settle/subscribers/access-log.ts';
import { ledgerSubscriber } from './settle/subscribers/ledger.ts';
import type { Storage } from './storage/open-storage.ts';
import { createPricing, type Pricing } from './cost/pricing.ts';
import { routePrice } from './cost/route-price.ts';
import { createGatewayMetrics } from './observability/metrics.ts';
import type { GatewayTracing } from './observability/tracing.ts';
import { metricsRoute } from './routes/metrics.ts';
import type { LimiterEvent } from '@gw/ratelimit';
import type { ModelPrice } from '@gw/cost';
import { reportStartup } from './startup-report.ts';

/** Everything the app is built from. */
export interface AppDeps {
  config: GatewayConfig;
  /** Default: a JSON-lines logger on stderr at `config.logging.level`, scrubbing the config's secrets. */
  logger?: Logger;
  /** Called exactly once per request that reached routing, with its outcome (tests, embedders); default none. */
  settle?: SettleHook | undefined;
  /** `fetch` for the providers; default `@gw/providers`' HTTP client (`createHttpTransport`). */
  fetch?: typeof globalThis.fetch;
  /** Clock in ms, for `created` in /v1/models and `created_at` in /v1/responses. */
  now?: () => number;
  /** Where /v1/responses keeps answers for `previous_response_id`; default in memory (see response-store.ts). */
  responseStore?: ResponseStore;
  /** For the retry backoff's jitter (tests make it deterministic); default `Math.random`. */
  random?: () => number;
  /** Redis (createServer connects when `redis.url` is set): limits, budgets and key changes shared by processes. */
  redis?: GatewayRedis | undefined;
  /** The database (createServer opens it): the ledger's writer and queries. Without it nothing is recorded. */
  storage?: Storage | undefined;
  /** Prices read from `pricing.catalog` (createServer reads the file). */
  importedPrices?: readonly ModelPrice[] | undefined;
  /** OpenTelemetry traces (createServer starts them when `OTEL_EXPORTER_OTLP_ENDPOINT` is set); none by default. */
  tracing?: GatewayTracing | undefined;
}

/** Live state of an app, shared with the server (drain) and the health routes. */
export interface AppState {
  /** True once a drain began: /health/ready answers 503. */
  draining: boolean;
  readonly enabledProviders: number;
  readonly registry: ProviderRegistry;
  readonly resolver: ModelResolver;
  /** Routers, limiters and their per-deployment state (health views, queues). */
  readonly routing: GatewayRouting;
  /** False when model aliases are configured but none has a usable target. */
  readonly hasUsableRoute: boolean;
  /** Every deployment's state, breaker, queue and last probe: for the admin API. */
  healthView(): HealthView;
  /** The active probes, when `health.probeIntervalMs` is set. */
  readonly probes: HealthProbes | undefined;
  readonly logger: Logger;
  /** The prices the gateway bills with. */
  readonly pricing: Pricing;
  /** The streamed answers in progress: a drain that runs out of time ends them with an error event. */
  readonly streams: OpenStreams;
  /** Releases what the app holds open (pooled upstream sockets); call after the server closed. */
  dispose(): void;
}

/** Per-deployment health, for the admin API and debugging. */
export interface HealthView {
  deployments: DeploymentHealth[];
  breakers: BreakerSnapshot[];
  queues: LimiterSnapshot[];
  /** Adaptive concurrency caps (providers with `adaptiveConcurrency`). */
  adaptive: AdaptiveConcurrencySnapshot[];
  probes: ProbeResult[];
}

/** `targets[].baseModel` by `provider-id/model`, for pricing. */
function baseModelsOf(config: GatewayConfig): Map<string, string> {
  const baseModels = new Map<string, string>();
  for (const model of config.models) {
    for (const target of model.targets) {
      if (target.baseModel !== undefined) baseModels.set(`${target.provider}/${target.model}`, target.baseModel);
    }
  }
  return baseModels;
}

/** The hono app type of the gateway. */
export type GatewayApp = Hono<GatewayEnv>;

const ROUTES: ReadonlyArray<readonly [path: string, allow: string]> = [
  ['/v1/chat/completions', 'POST'],
  ['/v1/messages', 'POST'],
  ['/v1/responses', 'POST'],
  ['/v1/responses/:id', 'GET, HEAD'],
  ['/v1/embeddings', 'POST'],
  ['/v1/models', 'GET, HEAD'],
  ['/health/live', 'GET, HEAD'],
  ['/health/ready', 'GET, HEAD'],
];

/**
 * Builds the gateway's hono app: providers, routing table and response bodies that do not
 * change are all built here, once, so the request path only looks things up.
 *
 * @example
 * const { app, state } = createApp({ config });
 * serve({ fetch: app.fetch, port: config.server.port });
 */
export function createApp(deps: AppDeps): { app: GatewayApp; state: AppState } {
  const { config, tracing } = deps;
  const logger = deps.logger ?? createLogger({ level: config.logging.level, secrets: configSecrets(config) });
  const upstream =
    deps.fetch === undefined ? createHttpTransport({ connectTimeoutMs: config.timeouts.connectMs }) : undefined;
  // An injected fetch (tests) serves every call; otherwise the HTTP client does.
  const registry = createProviderRegistry(config.providers, { fetch: deps.fetch, transport: upstream?.transport });
  const resolver = createModelResolver(config.models, registry, config.providers);
  const pricing = createPricing(config, { imported: deps.importedPrices, baseModels: baseModelsOf(config) });
  // Read at scrape time; `routing` and `policies` exist by then.
  const metrics = config.metrics.enabled
    ? createGatewayMetrics(config, {
        breakers: () => policies.breakers(),
        queues: () => routing.limiters.snapshot(),
        ledger:
          deps.storage?.writer === undefined
            ? undefined
            : () => deps.storage?.writer?.stats() ?? { buffered: 0, spilled: 0 },
      })
    : undefined;
  const policies = createDeploymentPolicies(config, logger, {
    ...(deps.random === undefined ? {} : { random: deps.random }),
    ...(metrics === undefined
      ? {}
      : { onRetry: (deployment: RouterDeployment) => metrics.retried(deployment.providerId) }),
  });
  const limits = createGatewayLimits({
    config,
    pricing,
    logger,
    redis: deps.redis,
    queries: deps.storage?.queries,
    onRefused: metrics?.rateLimited,
    onOutage: metrics?.storeOutage,
  });
  const routing = createGatewayRouting(config, resolver, logger, {
    attempt: tracing === undefined ? policies.attempt : tracing.wrapAttempt(policies.attempt),
    onForget: policies.forget,
    wrapAcquire: limits.wrapAcquire,
    price: routePrice(pricing),
    ...(metrics === undefined
      ? {}
      : {
          onLimiterEvent: (providerId: string, event: LimiterEvent) => {
            if (event.type === 'started') metrics.queueWaited(providerId, event.waitedMs / 1000);
          },
        }),
    ...(metrics === undefined && tracing === undefined
      ? {}
      : {
          onRouterEvent: (event: RouterEvent) => {
            if (event.type === 'fallback') metrics?.fellBack(event.from, event.to);
            tracing?.onRouterEvent(event);
          },
        }),
  });
  const probes =
    config.health.probeIntervalMs === undefined
      ? undefined
      : startHealthProbes(registry, logger, {
          intervalMs: config.health.probeIntervalMs,
          timeoutMs: config.health.probeTimeoutMs,
        });
  const dispose = (): void => {
    probes?.stop();
    routing.limiters.stop();
    void upstream?.close();
  };
  // Without aliases, clients address provider-id/model directly: any enabled provider will do.
  const usableRoutes = [...resolver.routes.values()].filter((route) => route.unavailableReason === undefined).length;
  const hasUsableRoute = config.models.length === 0 ? registry.enabled.size > 0 : usableRoutes > 0;
  const healthView = (): HealthView => ({
    deployments: routing.health(),
    breakers: policies.breakers(),
    queues: routing.limiters.snapshot(),
    adaptive: routing.adaptive(),
    probes: probes?.results() ?? [],
  });
  const streams = createOpenStreams();
  const state: AppState = {
    draining: false,
    streams,
    pricing,
    enabledProviders: registry.enabled.size,
    hasUsableRoute,
    registry,
    resolver,
    routing,
    logger,
    healthView,
    probes,
    dispose,
  };
  reportStartup(config, registry, resolver, pricing, logger);

  const app: GatewayApp = new Hono();
  // /v1/messages answers errors in Anthropic's envelope; the statuses are decided in error-handler.ts all the same.
  const onError = createErrorHandler(logger, {
    reshape: (path, answer) => (isAnthropicPath(path) ? toAnthropicError(answer) : undefined),
  });
  app.onError(onError);
  app.notFound((c) =>
    onError(
      new GatewayError(`Unknown route: ${c.req.method} ${c.req.path}`, {
        status: 404,
        type: 'invalid_request_error',
        code: 'unknown_route',
      }),
      c,
    ),
  );

  app.use(requestId());
  if (config.logging.requests) app.use(accessLog(logger));
  if (tracing !== undefined) app.use('/v1/*', tracing.middleware);
  const keyResolver =
    deps.storage === undefined
      ? undefined
      : createKeyResolver({
          store: deps.storage.keys,
          bus: deps.redis?.bus,
          onError: (error) => logger.warn('key changes could not be shared through redis', { error }),
        });
  app.use('/v1/*', apiKeyAuth({ masterKey: config.auth.masterKey, resolver: keyResolver }));
  const adminAuth = config.auth.masterKey === undefined ? undefined : masterKeyAuth(config.auth.masterKey);
  app.post('/v1/*', bodyLimit(config.server.bodyLimit));

  const routeOptions = {
    routing,
    logger,
    pricing,
    maxJsonDepth: config.server.maxJsonDepth,
    streams,
    settle: combineSettleHooks([
      warnUnpriced(logger, pricing),
      metrics?.settled,
      config.logging.requests ? accessLogSubscriber(logger, { bodies: config.logging.bodies }) : undefined,
      deps.storage?.writer === undefined ? undefined : ledgerSubscriber(deps.storage.writer, pricing.currency),
      tracing?.settled,
      deps.settle,
    ]),
    keepBodies: config.logging.requests && config.logging.bodies,
    onStart: metrics?.requestStarted,
    admission: limits.admission,
    trustProxy: config.server.trustProxy,
    tracing,
  };
  app.post('/v1/chat/completions', chatCompletions(routeOptions));
  app.post('/v1/messages', messages(routeOptions));
  const responseStore = deps.responseStore ?? createMemoryResponseStore();
  app.post('/v1/responses', responses({ ...routeOptions, store: responseStore, now: deps.now ?? Date.now }));
  app.get('/v1/responses/:id', retrieveResponse({ store: responseStore }));
  app.post('/v1/embeddings', embeddings(routeOptions));
  app.get('/v1/models', listModels(resolver.listModelIds(), Math.floor((deps.now ?? Date.now)() / 1000)));
  app.get('/health/live', live());
  app.get('/health/ready', ready(state));
  if (metrics !== undefined) app.get('/metrics', metricsRoute(metrics, config.metrics.bearerToken));
  app.route(
    '/admin',
    createAdminApp({
      auth: adminAuth,
      queries: deps.storage?.queries,
      currency: pricing.currency,
      keys: { store: deps.storage?.keys, resolver: keyResolver, currency: pricing.currency, spendOf: limits.spendOf },
      health: healthView,
    }),
  );

  // Registered last: only reached when no route above matched the method.
  const routes = metrics === undefined ? ROUTES : [...ROUTES, ['/metrics', 'GET, HEAD'] as const];
  for (const [path, allow] of routes) {
    app.all(path, (c) => {
      throw new GatewayError(`Method ${c.req.method} is not allowed on ${path}; use ${allow}.`, {
        status: 405,
        type: 'invalid_request_error',
        code: 'method_not_allowed',
        headers: { allow },
      });
    });
  }

  return { app, state };
}
