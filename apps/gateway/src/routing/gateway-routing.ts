import { createRouter } from '@gw/providers';
import type {
  AcquireSlot,
  AttemptWrapper,
  DeploymentHealth,
  ModelAliasConfig,
  ProviderKind,
  Router,
  RouterEvent,
  RouterOptions,
} from '@gw/providers';
import type { AdaptiveConcurrencyEvent, AdaptiveConcurrencySnapshot, LimiterEvent } from '@gw/ratelimit';
import { LRUCache } from 'lru-cache';
import type { GatewayConfig } from '../config/schema.ts';
import type { PricedDeployment } from '../cost/pricing.ts';
import { GatewayError } from '../gateway-error.ts';
import type { Logger } from '../observability/logger.ts';
import { createAdaptiveLimits, type AdaptiveLimits } from './adaptive-limits.ts';
import { createProviderQueues, type ProviderQueues } from './provider-queues.ts';
import type { ModelResolver } from './resolve-model.ts';

/** Where a request goes: the router to call and the `model` to hand it. */
export interface RoutedModel {
  readonly router: Router;
  /** An alias of `router` (the client's alias, or `provider-id/model` for direct addressing). */
  readonly model: string;
  /** The provider kinds that may serve it (its deployments and its fallbacks' deployments). */
  readonly kinds: ReadonlySet<ProviderKind>;
  /** The deployments that may serve it, its fallbacks' included: what a worst-case cost is priced on. */
  readonly deployments: readonly PricedDeployment[];
  /** Its stream idle timeout: the alias's `timeouts.streamIdleMs`, else the global one. */
  readonly streamIdleMs: number;
  /** Its total budget: the alias's `timeouts.totalMs`, else the global one (none when unset). */
  readonly totalMs: number | undefined;
  /** The total budget of a non-streamed request: {@link RoutedModel.totalMs}, else `timeouts.jsonTotalMs`. */
  readonly jsonTotalMs: number;
}

/** The gateway's routing: aliases and direct `provider-id/model` addressing, behind routers. Built once at start. */
export interface GatewayRouting {
  /** The router for what the client named; throws GatewayError 404 / 503 like the resolver. */
  route(model: string): RoutedModel;
  /** Every deployment's state (in flight, cooldown, latency, failures), aliases first. */
  health(): DeploymentHealth[];
  /** Per-provider concurrency limiters (providers with `maxConcurrency`, or a cap set through the admin API). */
  readonly limiters: ProviderQueues;
  /** The adaptive caps of providers with `adaptiveConcurrency`. */
  adaptive(): AdaptiveConcurrencySnapshot[];
  /** How many directly addressed models have state now, and the bytes of their names (bounded by `directModels`). */
  directModels(): { entries: number; bytes: number };
}

/** Options of {@link createGatewayRouting}. */
export interface GatewayRoutingOptions {
  /** Per-deployment call wrapper (retry, breaker); default: call once. */
  attempt?: AttemptWrapper | undefined;
  /** Clock for cooldowns and latencies; default `Date.now`. */
  now?: (() => number) | undefined;
  /**
   * Called with the deployment id of a directly addressed model whose state was dropped (least recently used beyond
   * `directModels`), so per-deployment policies (retry, breaker) can drop theirs.
   */
  onForget?: ((deploymentId: string) => void) | undefined;
  /** Every router event (cooldowns, fallbacks, attempts), besides the log: for metrics. */
  onRouterEvent?: ((event: RouterEvent) => void) | undefined;
  /** Every queue event of a provider's concurrency limiter: for metrics. */
  onLimiterEvent?: ((providerId: string, event: LimiterEvent) => void) | undefined;
  /** Every change of a provider's adaptive concurrency cap: for metrics. */
  onAdaptiveEvent?: ((event: AdaptiveConcurrencyEvent) => void) | undefined;
  /** Puts more in front of a call's slot (per-deployment rate limits) than the providers' concurrency queues. */
  wrapAcquire?: ((acquire: AcquireSlot) => AcquireSlot) | undefined;
  /** What a request costs on a deployment, for aliases with the `cost` strategy; without it they go round-robin. */
  price?: RouterOptions['price'];
  /** The providers' queues, when they outlive this routing (a reload keeps them); default built from the config. */
  queues?: ProviderQueues | undefined;
  /** The adaptive limits over `queues`, when built by the caller; default built from the config. */
  adaptive?: AdaptiveLimits | undefined;
}

// What a directly addressed model's state costs besides its name (router, deployment state, retry policy, breaker),
// counted against `directModels.maxBytes` with the name's UTF-16 bytes (it is held in several of those objects).
const DIRECT_MODEL_OVERHEAD_BYTES = 4096;
const NAME_COPIES = 4;

function logEvent(logger: Logger, event: RouterEvent): void {
  switch (event.type) {
    case 'cooldown-start':
      logger.warn(`deployment "${event.deployment.id}" cools down`, {
        deployment: event.deployment.id,
        until: new Date(event.until).toISOString(),
      });
      return;
    case 'cooldown-end':
      logger.info(`deployment "${event.deployment.id}" is back in rotation`, { deployment: event.deployment.id });
      return;
    case 'fallback':
      logger.info(`model "${event.from}" falls back to "${event.to}" (${event.reason})`, {
        from: event.from,
        to: event.to,
        reason: event.reason,
      });
      return;
    case 'attempt-failed':
    case 'deployment-chosen':
      // Per request: only worth the cost when debugging.
      if (logger.enabled('debug'))
        logger.debug(`router: ${event.type}`, { alias: event.alias, deployment: event.deployment.id });
      return;
  }
}

/**
 * Builds the routers of the gateway from the config: one for every usable alias (its strategy, targets on enabled
 * providers, fallbacks), per-provider concurrency limiters for providers with `maxConcurrency`, and one small
 * router per directly addressed `provider-id/model`. Aliases without a usable target and unknown models keep the
 * resolver's answers (503 / 404).
 *
 * @example
 * const routing = createGatewayRouting(config, resolver, logger);
 * const { router, model } = routing.route('chat');
 * const response = await router.chat({ ...request, model }, { signal });
 */
export function createGatewayRouting(
  config: GatewayConfig,
  resolver: ModelResolver,
  logger: Logger,
  options: GatewayRoutingOptions = {},
): GatewayRouting {
  const limiters = options.queues ?? createProviderQueues(config.providers, { onEvent: options.onLimiterEvent });
  const queued: AcquireSlot = async (deployment, { priority, signal }) =>
    limiters.limits(deployment.providerId)
      ? limiters.get(deployment.providerId).acquire({ priority, signal })
      : noRelease;
  const acquire = options.wrapAcquire === undefined ? queued : options.wrapAcquire(queued);
  const onEvent = (event: RouterEvent): void => {
    logEvent(logger, event);
    options.onRouterEvent?.(event);
  };
  const adaptive = options.adaptive ?? createAdaptiveLimits(config, limiters, logger, options.onAdaptiveEvent);
  const attempt = adaptive.wrap(options.attempt);
  const common = {
    acquire,
    onEvent,
    ...(attempt === undefined ? {} : { attempt }),
    ...(options.now === undefined ? {} : { now: options.now }),
  };

  const usable = new Set(
    [...resolver.routes.values()].filter((route) => route.unavailableReason === undefined).map((route) => route.name),
  );
  const aliases: ModelAliasConfig[] = [];
  for (const model of config.models) {
    const route = resolver.routes.get(model.name);
    if (route === undefined || !usable.has(model.name)) continue;
    aliases.push({
      name: model.name,
      strategy: model.strategy,
      deployments: route.targets.map((target) => ({
        provider: target.provider,
        model: target.model,
        weight: target.weight,
      })),
      // An alias left without usable targets answers 503 by itself; as a fallback it is skipped.
      fallbacks: model.fallbacks.filter((name) => usable.has(name)),
      contextWindowFallbacks: model.contextWindowFallbacks.filter((name) => usable.has(name)),
      contentFilterFallbacks: model.contentFilterFallbacks.filter((name) => usable.has(name)),
    });
  }
  // Only aliases route by price: a directly addressed model has one deployment.
  const main = createRouter({ models: aliases, ...common, price: options.price });
  const globalIdleMs = config.timeouts.streamIdleMs ?? config.server.streamIdleTimeoutMs;
  const modelsByName = new Map(config.models.map((model) => [model.name, model]));
  const timeoutsOf = (name: string): { streamIdleMs: number; totalMs: number | undefined; jsonTotalMs: number } => {
    const own = modelsByName.get(name)?.timeouts;
    const totalMs = own?.totalMs ?? config.timeouts.totalMs;
    return {
      streamIdleMs: own?.streamIdleMs ?? globalIdleMs,
      totalMs,
      jsonTotalMs: totalMs ?? config.timeouts.jsonTotalMs,
    };
  };
  const mainRoutes = new Map<string, RoutedModel>();
  for (const alias of aliases) {
    const names = [
      alias.name,
      ...(alias.fallbacks ?? []),
      ...(alias.contextWindowFallbacks ?? []),
      ...(alias.contentFilterFallbacks ?? []),
    ];
    const deployments = names.flatMap((name) =>
      (resolver.routes.get(name)?.targets ?? []).map((target) => ({
        providerId: target.providerId,
        kind: target.provider.kind,
        model: target.model,
      })),
    );
    const kinds = new Set(deployments.map((deployment) => deployment.kind));
    mainRoutes.set(alias.name, { router: main, model: alias.name, kinds, deployments, ...timeoutsOf(alias.name) });
  }
  // Deployments of the aliases keep their policies whatever happens to a direct route to the same provider/model.
  const configuredDeployments = new Set(main.health().map((deployment) => deployment.id));
  // Direct `provider-id/model` addressing gets a one-deployment router per name, kept for reuse (cooldowns, latency
  // and the breaker belong to it). Clients choose the names, so only the most recently used are kept.
  const direct = new LRUCache<string, RoutedModel>({
    max: config.directModels.maxEntries,
    maxSize: config.directModels.maxBytes,
    sizeCalculation: (_routed, name) => DIRECT_MODEL_OVERHEAD_BYTES + name.length * 2 * NAME_COPIES,
    dispose: (routed) => {
      for (const deployment of routed.router.health()) {
        if (!configuredDeployments.has(deployment.id)) options.onForget?.(deployment.id);
      }
    },
  });
  const maxNameLength = config.server.maxModelNameLength;

  function directRoute(name: string): RoutedModel {
    const known = direct.get(name);
    if (known !== undefined) return known;
    if (name.length > maxNameLength) {
      throw new GatewayError(`model: longer than ${maxNameLength} characters`, {
        status: 400,
        type: 'invalid_request_error',
        code: 'model_name_too_long',
        param: 'model',
      });
    }
    // Throws the resolver's 404 / 503 for unknown models, unusable aliases and disabled providers.
    const target = resolver.resolveDirect(name);
    const router = createRouter({
      models: [{ name, deployments: [{ provider: target.provider, model: target.model }] }],
      ...common,
    });
    const deployment = { providerId: target.providerId, kind: target.provider.kind, model: target.model };
    const routed: RoutedModel = {
      router,
      model: name,
      kinds: new Set([deployment.kind]),
      deployments: [deployment],
      ...timeoutsOf(name),
    };
    direct.set(name, routed);
    return routed;
  }

  return {
    route: (model) => mainRoutes.get(model) ?? directRoute(model),
    health: () => [...main.health(), ...[...direct.values()].flatMap((routed) => routed.router.health())],
    limiters,
    adaptive: () => adaptive.snapshot(),
    directModels: () => ({ entries: direct.size, bytes: direct.calculatedSize }),
  };
}

function noRelease(): void {}
