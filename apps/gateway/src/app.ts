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
import { answerHeaders } from './relay/answer-headers.ts';
import { createGatewayLimits } from './limits/gateway-limits.ts';
import type { GatewayRedis } from './storage/redis.ts';
import { bodyLimit } from './middleware/body-limit.ts';
import { corsMiddleware } from './middleware/cors.ts';
import { requestId } from './middleware/request-id.ts';
import { createOpenStreams, type OpenStreams } from './relay/open-streams.ts';
import { createAdminApp } from './routes/admin/admin-app.ts';
import { createMemoryCacheStore, createRedisCacheStore, type CacheStore } from './cache/cache-store.ts';
import { createResponseCache } from './cache/response-cache.ts';
import { addBatchRoutes } from './batches/batch-routes.ts';
import { createBatchRunner, type BatchRunner } from './batches/batch-runner.ts';
import { createBatchStore } from './batches/batch-store.ts';
import { chatCompletions } from './routes/v1/chat-completions.ts';
import { embeddings } from './routes/v1/embeddings.ts';
import { live, ready } from './routes/health.ts';
import { messages } from './routes/v1/messages.ts';
import { countTokens } from './routes/v1/count-tokens.ts';
import { createMemoryResponseStore, type ResponseStore } from './routes/v1/response-store.ts';
import { responses, retrieveResponse } from './routes/v1/responses.ts';
import type { ProviderRegistry } from './routing/provider-registry.ts';
import {
  createHttpTransport,
  type AcquireSlot,
  type DeploymentHealth,
  type RouterDeployment,
  type RouterEvent,
} from '@gw/providers';
import type { AdaptiveConcurrencySnapshot, LimiterSnapshot } from '@gw/ratelimit';
import {
  createDeploymentPolicies,
  type BreakerSnapshot,
  type DeploymentPolicies,
} from './routing/deployment-policies.ts';
import { startHealthProbes, type HealthProbes, type ProbeResult } from './routing/health-probes.ts';
import type { GatewayRouting } from './routing/gateway-routing.ts';
import { createLiveRouting, type LiveRouting, type RoutingGeneration } from './routing/live-routing.ts';
import { createProviderQueues } from './routing/provider-queues.ts';
import type { ModelResolver } from './routing/resolve-model.ts';
import type { SettleHook } from './settle/settle-once.ts';
import { combineSettleHooks } from './settle/combine-settle-hooks.ts';
import { warnUnpriced } from './settle/subscribers/warn-unpriced.ts';
import { accessLogSubscriber } from './settle/subscribers/access-log.ts';
import { ledgerSubscriber } from './settle/subscribers/ledger.ts';
import type { Storage } from './storage/open-storage.ts';
import { createConfigReloader, type ConfigReloader } from './config/config-reloader.ts';
import type { Environment } from './config/interpolate.ts';
import { createSecretBox, MIN_SECRET_KEY_LENGTH, type SecretBox } from './stored-providers/secret-box.ts';
import { createStoredProviders } from './stored-providers/stored-providers.ts';
import type { Pricing } from './cost/pricing.ts';
import { createGatewayMetrics, type GatewayMetrics } from './observability/metrics.ts';
import { createGatewayStats, type GatewayStats } from './observability/gateway-stats.ts';
import type { GatewayTracing } from './observability/tracing.ts';
import { addConsoleRoutes } from './routes/console.ts';
import { metricsRoute } from './routes/metrics.ts';
import type { LimiterEvent } from '@gw/ratelimit';
import type { ModelPrice } from '@gw/cost';

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
  /**
   * Where /v1/responses keeps answers for `previous_response_id`; default the database's when `storage` is given,
   * else in memory (see response-store.ts).
   */
  responseStore?: ResponseStore;
  /** For the retry backoff's jitter (tests make it deterministic); default `Math.random`. */
  random?: () => number;
  /** Redis (createServer connects when `redis.url` is set): limits, budgets and key changes shared by processes. */
  redis?: GatewayRedis | undefined;
  /** The database (createServer opens it): the ledger's writer and queries. Without it nothing is recorded. */
  storage?: Storage | undefined;
  /** Prices read from `pricing.catalog` (createServer reads the file). */
  importedPrices?: readonly ModelPrice[] | undefined;
  /** The file `config` was read from: what a reload reads again. */
  configSource?: string | undefined;
  /** For `${VAR}` in a reloaded file; default `process.env`. */
  env?: Environment | undefined;
  /** Reload whenever the file changes (`main.ts` turns it on). */
  watchConfig?: boolean | undefined;
  /** `GW_SECRET_KEY`: what the vendor keys of providers added through the admin API are encrypted with. */
  secretKey?: string | undefined;
  /** OpenTelemetry traces (createServer starts them when `OTEL_EXPORTER_OTLP_ENDPOINT` is set); none by default. */
  tracing?: GatewayTracing | undefined;
  /** The built admin console to serve at `/console` (createServer finds it, see `findConsoleDir`); none by default. */
  consoleDir?: string | undefined;
}

/** Live state of an app, shared with the server (drain) and the health routes. */
export interface AppState {
  /** True once a drain began: /health/ready answers 503. */
  draining: boolean;
  readonly enabledProviders: number;
  /** The current configuration's providers. */
  readonly registry: ProviderRegistry;
  readonly resolver: ModelResolver;
  /** Routers, limiters and their per-deployment state (health views, queues), on the current configuration. */
  readonly routing: GatewayRouting;
  /** The routing as it stands, rebuilt when the configuration changes (reload, stored providers). */
  readonly live: LiveRouting;
  /** Retry and breaker counters since start, for `GET /admin/stats`. */
  readonly stats: GatewayStats;
  /** The Prometheus metrics, when `metrics.enabled`. */
  readonly metrics: GatewayMetrics | undefined;
  /** Retry and breaker per deployment. */
  readonly policies: DeploymentPolicies;
  /** The running configuration, its file and its reloads. */
  readonly config: ConfigReloader;
  /** Reads the stored providers and makes them current in the routing (at start, after each change). */
  refreshProviders(): Promise<void>;
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
  /** Runs the batches of the database (with storage and `batches.enabled`); the server starts and stops it. */
  readonly batches: BatchRunner | undefined;
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

/** The secret box of `GW_SECRET_KEY`, or why there is none (said once at start when it is set but unusable). */
function secretBoxOf(
  secretKey: string | undefined,
  logger: Logger,
): { box: SecretBox | undefined; boxProblem: string } {
  if (secretKey === undefined || secretKey === '') {
    return {
      box: undefined,
      boxProblem: 'GW_SECRET_KEY is not set (e.g. `openssl rand -base64 32`); set it and restart',
    };
  }
  if (secretKey.length < MIN_SECRET_KEY_LENGTH) {
    logger.error(`GW_SECRET_KEY is shorter than ${MIN_SECRET_KEY_LENGTH} characters: provider keys cannot be stored`);
    return { box: undefined, boxProblem: `GW_SECRET_KEY is shorter than ${MIN_SECRET_KEY_LENGTH} characters` };
  }
  return { box: createSecretBox(secretKey), boxProblem: '' };
}

/** The hono app type of the gateway. */
export type GatewayApp = Hono<GatewayEnv>;

const ROUTES: ReadonlyArray<readonly [path: string, allow: string]> = [
  ['/v1/chat/completions', 'POST'],
  ['/v1/messages', 'POST'],
  ['/v1/messages/count_tokens', 'POST'],
  ['/v1/responses', 'POST'],
  ['/v1/responses/:id', 'GET, HEAD'],
  ['/v1/embeddings', 'POST'],
  ['/v1/models', 'GET, HEAD'],
  ['/v1/models/:id{.+}', 'GET, HEAD'],
  ['/health/live', 'GET, HEAD'],
  ['/health/ready', 'GET, HEAD'],
];

// Only with batches on: otherwise these paths are unknown (404), not a wrong method.
const BATCH_ROUTES: ReadonlyArray<readonly [path: string, allow: string]> = [
  ['/v1/files', 'POST'],
  ['/v1/files/:id', 'GET, HEAD, DELETE'],
  ['/v1/files/:id/content', 'GET, HEAD'],
  ['/v1/batches', 'GET, HEAD, POST'],
  ['/v1/batches/:id', 'GET, HEAD'],
  ['/v1/batches/:id/cancel', 'POST'],
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
  const secrets = configSecrets(config);
  const logger = deps.logger ?? createLogger({ level: config.logging.level, secrets });
  const upstream =
    deps.fetch === undefined
      ? createHttpTransport({
          connectTimeoutMs: config.timeouts.connectMs,
          headersTimeoutMs: config.timeouts.firstByteMs,
        })
      : undefined;
  const stats = createGatewayStats();
  // Read at scrape time; `live` and `policies` exist by then.
  const metrics = config.metrics.enabled
    ? createGatewayMetrics(config, {
        breakers: () => policies.breakers(),
        queues: () => queues.snapshot(),
        ledger:
          deps.storage?.writer === undefined
            ? undefined
            : () => deps.storage?.writer?.stats() ?? { buffered: 0, spilled: 0 },
      })
    : undefined;
  const policies = createDeploymentPolicies(config, logger, {
    ...(deps.random === undefined ? {} : { random: deps.random }),
    onRetry: (deployment: RouterDeployment, kind: string) => {
      stats.retried(kind);
      metrics?.retried(deployment.providerId);
    },
    onGiveUp: (_deployment, reason) => stats.gaveUp(reason),
    onBreakerChange: (deployment, change) => stats.breakerChanged(deployment, change.previousState, change.state),
  });
  const queues = createProviderQueues(config.providers, {
    ...(metrics === undefined
      ? {}
      : {
          onEvent: (providerId: string, event: LimiterEvent) => {
            if (event.type === 'started') metrics.queueWaited(providerId, event.waitedMs / 1000);
          },
        }),
  });
  const liveRouting = createLiveRouting(config, {
    logger,
    policies,
    queues,
    fetch: deps.fetch,
    // An injected fetch (tests) serves every call; otherwise the HTTP client does.
    transport: upstream?.transport,
    importedPrices: deps.importedPrices,
    // Limits are built on the live pricing, so they wrap each generation's queues from its first call.
    wrapAcquire: (acquire: AcquireSlot): AcquireSlot => {
      let wrapped: AcquireSlot | undefined;
      return (deployment, options) => (wrapped ??= limits.wrapAcquire(acquire))(deployment, options);
    },
    ...(tracing === undefined ? {} : { wrapAttempt: tracing.wrapAttempt }),
    onRouterEvent: (event: RouterEvent) => {
      tracing?.onRouterEvent(event);
      if (event.type !== 'fallback') return;
      stats.fellBack(event.from, event.to, event.reason);
      metrics?.fellBack(event.from, event.to);
    },
    onApplied: (generation) => {
      // Keys that arrived with stored providers or a reloaded file are scrubbed from the log from now on.
      logger.addSecrets?.(configSecrets(generation.config));
      metrics?.relabel(generation.config);
    },
    ...(deps.now === undefined ? {} : { now: deps.now }),
  });
  const { routing, registry, pricing } = liveRouting;
  const reloader = createConfigReloader(config, {
    source: deps.configSource,
    env: deps.env,
    watch: deps.watchConfig,
    apply: (next) => liveRouting.apply({ file: next }),
    onResult: (result) => {
      stats.reloaded(result.ok);
      metrics?.reloaded(result.ok ? 'ok' : 'error');
      // Another process may have changed the stored providers: a reload reads them again too.
      if (result.ok)
        refreshProviders().catch((error: unknown) => logger.warn('stored providers could not be read', { error }));
    },
    logger,
  });
  const sealing = secretBoxOf(deps.secretKey, logger);
  const storedProviders =
    deps.storage === undefined
      ? undefined
      : createStoredProviders({
          store: deps.storage.providers,
          ...sealing,
          fileIds: () => new Set(reloader.running().providers.map((provider) => provider.id)),
          logger,
        });
  // One read-and-apply at a time, so a slower read never applies an older list over a newer one.
  let refreshing: Promise<void> = Promise.resolve();
  const refreshProviders = (): Promise<void> => {
    const next = refreshing.then(async () => {
      if (storedProviders !== undefined) liveRouting.apply({ stored: await storedProviders.usable() });
    });
    refreshing = next.catch(() => undefined);
    return next;
  };
  // Limits outlive reloads (their section is read at start); they price through the live routing's pricing.
  const limits = createGatewayLimits({
    config,
    pricing,
    logger,
    redis: deps.redis,
    queries: deps.storage?.queries,
    onRefused: metrics?.rateLimited,
    onOutage: metrics?.storeOutage,
  });
  const probes =
    config.health.probeIntervalMs === undefined
      ? undefined
      : startHealthProbes(registry, logger, {
          intervalMs: config.health.probeIntervalMs,
          timeoutMs: config.health.probeTimeoutMs,
        });
  const dispose = (): void => {
    reloader.close();
    probes?.stop();
    queues.stop();
    void upstream?.close();
  };
  const healthView = (): HealthView => ({
    deployments: routing.health(),
    breakers: policies.breakers(),
    queues: queues.snapshot(),
    adaptive: routing.adaptive(),
    probes: probes?.results() ?? [],
  });
  const streams = createOpenStreams();
  const batchStore =
    deps.storage === undefined || !config.batches.enabled ? undefined : createBatchStore(deps.storage.database);
  const batchRunner =
    batchStore === undefined
      ? undefined
      : createBatchRunner({
          store: batchStore,
          keys: deps.storage?.keys,
          // The app's own routes: a line is a request like any other, from auth to the ledger.
          dispatch: async (request, env) => app.fetch(request, env),
          settings: config.batches,
          logger,
          currency: pricing.currency,
          ...(deps.now === undefined ? {} : { now: deps.now }),
          ...(deps.random === undefined ? {} : { random: deps.random }),
        });
  const ledgerHook =
    deps.storage?.writer === undefined ? undefined : ledgerSubscriber(deps.storage.writer, pricing.currency);
  const current = (): RoutingGeneration => liveRouting.current();
  const state: AppState = {
    draining: false,
    streams,
    pricing,
    // eslint-disable-next-line no-restricted-syntax -- one per app, built at start; follows the reloads.
    get enabledProviders() {
      return current().registry.enabled.size;
    },
    // eslint-disable-next-line no-restricted-syntax -- one per app, built at start; follows the reloads.
    get hasUsableRoute() {
      return current().hasUsableRoute;
    },
    // eslint-disable-next-line no-restricted-syntax -- one per app, built at start; follows the reloads.
    get resolver() {
      return current().resolver;
    },
    registry,
    routing,
    live: liveRouting,
    stats,
    metrics,
    policies,
    config: reloader,
    refreshProviders,
    logger,
    healthView,
    probes,
    batches: batchRunner,
    dispose,
  };

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

  app.use(answerHeaders());
  app.use(requestId());
  // Before authentication: a browser's preflight carries no credentials.
  if (config.server.cors !== undefined) app.use('/v1/*', corsMiddleware(config.server.cors));
  if (tracing !== undefined) app.use('/v1/*', tracing.middleware);
  if (config.logging.requests) app.use(accessLog(logger));
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
  const requestBodyLimit = bodyLimit(config.server.bodyLimit);
  // A batch file has its own limit (`batches.maxFileBytes`, with room for the multipart framing).
  const fileBodyLimit = bodyLimit(config.batches.maxFileBytes + 1024 * 1024);
  app.post('/v1/*', (c, next) => (c.req.path === '/v1/files' ? fileBodyLimit(c, next) : requestBodyLimit(c, next)));

  const cacheSection = config.cache;
  // Built on first use: a gateway whose cache is never asked for holds no store.
  const cacheStore = (): CacheStore => {
    if (cacheSection.store === 'redis' && deps.redis !== undefined) {
      return createRedisCacheStore({
        client: deps.redis.client,
        prefix: `${config.redis.prefix}cache:`,
        timeoutMs: config.redis.timeoutMs,
        onOutage: (down, error) => {
          if (down)
            logger.warn('the response cache cannot reach redis: every lookup is a miss until it is back', { error });
          else logger.info('the response cache reaches redis again');
        },
      });
    }
    if (cacheSection.store === 'redis')
      logger.warn('cache.store is redis but redis is not connected: caching in memory');
    return createMemoryCacheStore({ maxBytes: cacheSection.maxBytes });
  };
  const cache = createResponseCache({
    store: cacheStore,
    config: () => current().config,
    logger,
    onLookup: metrics?.cacheLookedUp,
  });
  const routeOptions = {
    cache,
    routing,
    logger,
    pricing,
    maxJsonDepth: config.server.maxJsonDepth,
    streams,
    settle: combineSettleHooks([
      warnUnpriced(logger, pricing),
      stats.settled,
      metrics?.settled,
      config.logging.requests ? accessLogSubscriber(logger, { bodies: config.logging.bodies }) : undefined,
      // A batch line's row is written by the runner, in the transaction that settles the line.
      ledgerHook === undefined
        ? undefined
        : (outcome) => (batchRunner?.takeOutcome(outcome) === true ? undefined : ledgerHook(outcome)),
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
  app.post(
    '/v1/messages/count_tokens',
    countTokens({ routing, registry, logger, maxJsonDepth: config.server.maxJsonDepth }),
  );
  // With a database, Responses outlive a restart and are shared by every gateway on it; in memory otherwise.
  const responseStore =
    deps.responseStore ??
    deps.storage?.responses ??
    createMemoryResponseStore({ retentionMs: config.responses.retentionDays * 86_400_000 });
  app.post('/v1/responses', responses({ ...routeOptions, store: responseStore, now: deps.now ?? Date.now }));
  app.get('/v1/responses/:id', retrieveResponse({ store: responseStore }));
  app.post('/v1/embeddings', embeddings(routeOptions));
  if (batchStore !== undefined && batchRunner !== undefined)
    addBatchRoutes(app, {
      store: batchStore,
      settings: config.batches,
      maxJsonDepth: config.server.maxJsonDepth,
      wake: () => batchRunner.wake(),
      ...(deps.now === undefined ? {} : { now: deps.now }),
    });
  // Each configuration has its list, serialised once; the one current when the request comes answers.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-return -- hono's Handler returns HandlerResponse<any>.
  app.get('/v1/models', (c, next) => current().models.list(c, next));
  // Ids of the provider-id/model form hold a slash (SDKs send it encoded, as %2F; both are read).
  // eslint-disable-next-line @typescript-eslint/no-unsafe-return -- hono's Handler returns HandlerResponse<any>.
  app.get('/v1/models/:id{.+}', (c, next) => current().models.retrieve(c, next));
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
      providers: {
        stored: storedProviders,
        fileProviders: () => reloader.running().providers,
        registry,
        refresh: refreshProviders,
        timeoutMs: config.health.probeTimeoutMs,
      },
      queues: {
        queues,
        providers: () =>
          new Map(current().config.providers.map((provider) => [provider.id, provider.maxConcurrency] as const)),
        adaptive: (providerId) => current().adaptive.steers(providerId),
      },
      stats: { stats, deployments: () => policies.stats() },
      config: reloader,
      batches: { store: batchStore, wake: () => batchRunner?.wake() },
    }),
  );

  if (deps.consoleDir !== undefined) addConsoleRoutes(app, deps.consoleDir);

  // Registered last: only reached when no route above matched the method.
  const routes = [
    ...ROUTES,
    ...(batchStore === undefined ? [] : BATCH_ROUTES),
    ...(metrics === undefined ? [] : [['/metrics', 'GET, HEAD'] as const]),
  ];
  for (const [path, allow] of routes) {
    app.all(path, (c) => {
      throw new GatewayError(`Method ${c.req.method} is not allowed on ${path.replace('{.+}', '')}; use ${allow}.`, {
        status: 405,
        type: 'invalid_request_error',
        code: 'method_not_allowed',
        headers: { allow },
      });
    });
  }

  return { app, state };
}
