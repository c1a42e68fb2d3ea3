import { Hono } from 'hono';
import type { GatewayConfig } from './config/schema.ts';
import { configSecrets } from './config/secrets.ts';
import { createErrorHandler } from './error-handler.ts';
import { GatewayError } from './gateway-error.ts';
import { createLogger, type Logger } from './logger.ts';
import { isAnthropicPath, toAnthropicError } from './messages/anthropic-error.ts';
import { accessLog } from './middleware/access-log.ts';
import { masterKeyAuth } from './middleware/auth.ts';
import { bodyLimit } from './middleware/body-limit.ts';
import { requestId } from './middleware/request-id.ts';
import { chatCompletions } from './routes/chat-completions.ts';
import { embeddings } from './routes/embeddings.ts';
import { live, ready } from './routes/health.ts';
import { messages } from './routes/messages.ts';
import { listModels } from './routes/models.ts';
import { createProviderRegistry, type ProviderRegistry } from './routing/provider-registry.ts';
import { createHttpTransport, type DeploymentHealth } from '@gw/providers';
import type { LimiterSnapshot } from '@gw/ratelimit';
import { createDeploymentPolicies, type BreakerSnapshot } from './routing/deployment-policies.ts';
import { startHealthProbes, type HealthProbes, type ProbeResult } from './routing/health-probes.ts';
import { createGatewayRouting, type GatewayRouting } from './routing/gateway-routing.ts';
import { createModelResolver, type ModelResolver } from './routing/resolve-model.ts';
import type { SettleHook } from './settle.ts';
import { reportStartup } from './startup-report.ts';

/** Everything the app is built from. */
export interface AppDeps {
  config: GatewayConfig;
  /** Default: a JSON-lines logger on stderr at `config.logging.level`, scrubbing the config's secrets. */
  logger?: Logger;
  /** Called exactly once per upstream request with its usage; default none. */
  settle?: SettleHook;
  /** `fetch` for the providers; default `@gw/providers`' HTTP client (`createHttpTransport`). */
  fetch?: typeof globalThis.fetch;
  /** Clock in ms, for `created` in /v1/models. */
  now?: () => number;
  /** For the retry backoff's jitter (tests make it deterministic); default `Math.random`. */
  random?: () => number;
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
  /** Releases what the app holds open (pooled upstream sockets); call after the server closed. */
  dispose(): void;
}

/** Per-deployment health, for the admin API and debugging. */
export interface HealthView {
  deployments: DeploymentHealth[];
  breakers: BreakerSnapshot[];
  queues: LimiterSnapshot[];
  probes: ProbeResult[];
}

/** The hono app type of the gateway. */
export type GatewayApp = Hono<{ Variables: { requestId: string } }>;

const ROUTES: ReadonlyArray<readonly [path: string, allow: string]> = [
  ['/v1/chat/completions', 'POST'],
  ['/v1/messages', 'POST'],
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
  const { config } = deps;
  const logger = deps.logger ?? createLogger({ level: config.logging.level, secrets: configSecrets(config) });
  const upstream =
    deps.fetch === undefined ? createHttpTransport({ connectTimeoutMs: config.timeouts.connectMs }) : undefined;
  // An injected fetch (tests) serves every call; otherwise the HTTP client does.
  const registry = createProviderRegistry(config.providers, { fetch: deps.fetch, transport: upstream?.transport });
  const resolver = createModelResolver(config.models, registry);
  const policies = createDeploymentPolicies(config, logger, deps.random === undefined ? {} : { random: deps.random });
  const routing = createGatewayRouting(config, resolver, logger, { attempt: policies.attempt });
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
    probes: probes?.results() ?? [],
  });
  const state: AppState = {
    draining: false,
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
  reportStartup(config, registry, resolver, logger);

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
  if (config.auth.masterKey !== undefined) app.use('/v1/*', masterKeyAuth(config.auth.masterKey));
  app.post('/v1/*', bodyLimit(config.server.bodyLimit));

  const settle = deps.settle === undefined ? {} : { settle: deps.settle };
  app.post('/v1/chat/completions', chatCompletions({ routing, logger, ...settle }));
  app.post('/v1/messages', messages({ routing, logger, ...settle }));
  app.post('/v1/embeddings', embeddings({ routing, logger, ...settle }));
  app.get('/v1/models', listModels(resolver.listModelIds(), Math.floor((deps.now ?? Date.now)() / 1000)));
  app.get('/health/live', live());
  app.get('/health/ready', ready(state));

  // Registered last: only reached when no route above matched the method.
  for (const [path, allow] of ROUTES) {
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
