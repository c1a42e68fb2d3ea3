import type { ModelPrice } from '@gw/cost';
import type { AcquireSlot, AttemptWrapper, RouterEvent, Transport } from '@gw/providers';
import type { AdaptiveConcurrencyEvent } from '@gw/ratelimit';
import type { GatewayConfig, ProviderSettings } from '../config/schema.ts';
import { createPricing, type Pricing } from '../cost/pricing.ts';
import { routePrice, unpricedCostRoutes } from '../cost/route-price.ts';
import { ConfigError } from '../config/config-error.ts';
import { configSecrets } from '../config/secrets.ts';
import type { Logger } from '../observability/logger.ts';
import { modelsRoutes, type ModelsRoutes } from '../routes/v1/models.ts';
import { reportStartup } from '../startup-report.ts';
import { createAdaptiveLimits, type AdaptiveLimits } from './adaptive-limits.ts';
import type { DeploymentPolicies } from './deployment-policies.ts';
import { createGatewayRouting, type GatewayRouting } from './gateway-routing.ts';
import type { ProviderQueues } from './provider-queues.ts';
import { createProviderRegistry, type ProviderRegistry } from './provider-registry.ts';
import { createModelResolver, type ModelResolver } from './resolve-model.ts';

/** Everything built from one configuration that requests are routed with. Never changed once built. */
export interface RoutingGeneration {
  /** The configuration it was built from: the file's, with the stored providers the file does not shadow. */
  readonly config: GatewayConfig;
  readonly registry: ProviderRegistry;
  readonly resolver: ModelResolver;
  readonly routing: GatewayRouting;
  readonly pricing: Pricing;
  readonly adaptive: AdaptiveLimits;
  /** False when model aliases are configured but none has a usable target. */
  readonly hasUsableRoute: boolean;
  /** `GET /v1/models` and `GET /v1/models/{id}` for this configuration. */
  readonly models: ModelsRoutes;
}

/**
 * The gateway's routing as it stands: one {@link RoutingGeneration} at a time, replaced whole when the configuration
 * changes (a reload, a provider added through the admin API). A request routes once, on the generation current then,
 * and finishes on it; the facades below always read the current one.
 */
export interface LiveRouting {
  current(): RoutingGeneration;
  /** Routes on the current generation; its limiters outlive generations. */
  readonly routing: GatewayRouting;
  /** The current generation's providers. */
  readonly registry: ProviderRegistry;
  /** The current generation's prices (the reporting currency never changes while running). */
  readonly pricing: Pricing;
  /** The providers stored in the database whose id the file also defines: the file's wins, these are not used. */
  shadowed(): string[];
  /**
   * Builds a generation from the file's configuration and the stored providers (either left as it is when not
   * given) and makes it current. Breakers and queues of deployments whose settings did not change are kept.
   */
  apply(change: { file?: GatewayConfig; stored?: readonly ProviderSettings[] }): RoutingGeneration;
}

/** What {@link createLiveRouting} builds generations with: the long-lived parts they share. */
export interface LiveRoutingOptions {
  logger: Logger;
  /** Retry and breaker per deployment, kept across generations. */
  policies: DeploymentPolicies;
  /** The providers' queues, kept across generations. */
  queues: ProviderQueues;
  /** `fetch` for the providers (tests), else `transport`. */
  fetch?: typeof globalThis.fetch | undefined;
  transport?: Transport | undefined;
  importedPrices?: readonly ModelPrice[] | undefined;
  wrapAcquire?: ((acquire: AcquireSlot) => AcquireSlot) | undefined;
  /** Puts more around each attempt than the policies' retries and breakers (tracing spans). */
  wrapAttempt?: ((attempt: AttemptWrapper) => AttemptWrapper) | undefined;
  onRouterEvent?: ((event: RouterEvent) => void) | undefined;
  onAdaptiveEvent?: ((event: AdaptiveConcurrencyEvent) => void) | undefined;
  /** Told after every swap (metrics labels). */
  onApplied?: ((generation: RoutingGeneration) => void) | undefined;
  now?: (() => number) | undefined;
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

/**
 * Builds the first generation from `file` and keeps the routing current as the configuration changes.
 *
 * @example
 * const live = createLiveRouting(config, { logger, policies, queues });
 * live.apply({ stored: await providerStore.list() });
 * app.post('/v1/chat/completions', chatCompletions({ routing: live.routing, pricing: live.pricing, … }));
 */
export function createLiveRouting(file: GatewayConfig, options: LiveRoutingOptions): LiveRouting {
  const { logger, policies, queues } = options;
  const now = options.now ?? Date.now;
  let fileConfig = file;
  let stored: readonly ProviderSettings[] = [];

  const merged = (): GatewayConfig => {
    const ids = new Set(fileConfig.providers.map((provider) => provider.id));
    const extra = stored.filter((provider) => !ids.has(provider.id));
    return extra.length === 0 ? fileConfig : { ...fileConfig, providers: [...fileConfig.providers, ...extra] };
  };

  const build = (config: GatewayConfig, previous: RoutingGeneration | undefined): RoutingGeneration => {
    const registry = createProviderRegistry(config.providers, {
      fetch: options.fetch,
      transport: options.transport,
      limits: {
        maxResponseBytes: config.upstream.maxResponseBytes,
        maxEventSize: config.upstream.maxEventSize,
        bodyIdleTimeoutMs: config.timeouts.bodyIdleMs,
      },
      // Whatever a vendor sends back is scrubbed of every key the gateway holds, not only that vendor's own.
      secrets: configSecrets(config),
    });
    const resolver = createModelResolver(config.models, registry, config.providers);
    const pricing = createPricing(config, { imported: options.importedPrices, baseModels: baseModelsOf(config) });
    const unpriced = unpricedCostRoutes(config, resolver, pricing);
    if (unpriced.length > 0) throw new ConfigError(unpriced);
    const adaptive = createAdaptiveLimits(config, queues, logger, options.onAdaptiveEvent, previous?.adaptive);
    const routing = createGatewayRouting(config, resolver, logger, {
      attempt: options.wrapAttempt === undefined ? policies.attempt : options.wrapAttempt(policies.attempt),
      onForget: policies.forget,
      wrapAcquire: options.wrapAcquire,
      onRouterEvent: options.onRouterEvent,
      queues,
      adaptive,
      price: routePrice(pricing),
    });
    // Without aliases, clients address provider-id/model directly: any enabled provider will do.
    const usableRoutes = [...resolver.routes.values()].filter((route) => route.unavailableReason === undefined);
    const hasUsableRoute = config.models.length === 0 ? registry.enabled.size > 0 : usableRoutes.length > 0;
    const models = modelsRoutes(resolver.listModelIds(), Math.floor(now() / 1000));
    reportStartup(config, registry, resolver, pricing, logger);
    return { config, registry, resolver, routing, pricing, adaptive, hasUsableRoute, models };
  };

  queues.configure(file.providers);
  let current = build(file, undefined);

  const live: LiveRouting = {
    current: () => current,
    routing: {
      route: (model) => current.routing.route(model),
      health: () => current.routing.health(),
      limiters: queues,
      adaptive: () => current.routing.adaptive(),
      directModels: () => current.routing.directModels(),
    },
    registry: {
      // eslint-disable-next-line no-restricted-syntax -- one per app: the providers of the current generation.
      get enabled() {
        return current.registry.enabled;
      },
      // eslint-disable-next-line no-restricted-syntax -- one per app: the providers of the current generation.
      get disabled() {
        return current.registry.disabled;
      },
    },
    pricing: {
      currency: current.pricing.currency,
      priceOf: (deployment) => current.pricing.priceOf(deployment),
      missingRate: (deployment) => current.pricing.missingRate(deployment),
      costOf: (usage, deployment) => current.pricing.costOf(usage, deployment),
      toNumber: (cost) => current.pricing.toNumber(cost),
      toReporting: (amount) => current.pricing.toReporting(amount),
    },
    shadowed: () => {
      const ids = new Set(fileConfig.providers.map((provider) => provider.id));
      return stored.filter((provider) => ids.has(provider.id)).map((provider) => provider.id);
    },
    apply(change) {
      // Nothing to rebuild (at start with no stored provider, a refresh that found the same rows).
      if (change.file === undefined && JSON.stringify(change.stored) === JSON.stringify(stored)) return current;
      const before = { file: fileConfig, stored, generation: current };
      if (change.file !== undefined) fileConfig = change.file;
      if (change.stored !== undefined) stored = change.stored;
      const config = merged();
      queues.configure(config.providers);
      let next: RoutingGeneration;
      try {
        next = build(config, current);
      } catch (error) {
        ({ file: fileConfig, stored } = before);
        queues.configure(before.generation.config.providers);
        throw error;
      }
      // Only the aliases' deployments keep their policies: directly addressed models start afresh on the new
      // generation (its routing has none yet), and deployments no longer configured are dropped.
      policies.configure(config, new Set(next.routing.health().map((deployment) => deployment.id)));
      current = next;
      options.onApplied?.(next);
      return next;
    },
  };
  return live;
}
