import type { GatewayConfig } from './config/schema.ts';
import type { Pricing } from './cost/pricing.ts';
import type { Logger } from './observability/logger.ts';
import type { ProviderRegistry } from './routing/provider-registry.ts';
import type { ModelResolver } from './routing/resolve-model.ts';

/**
 * Says at start what an operator must know: open dev mode, demo providers and the models they serve, disabled
 * providers (one line each, with the reason, never the key), aliases left without targets, targets whose cost cannot
 * be reported (no rate for their price's currency) or that a `cost` alias cannot rank (no price), and sections that
 * are accepted but not acted on yet.
 *
 * @example
 * reportStartup(config, registry, resolver, pricing, logger);
 */
export function reportStartup(
  config: GatewayConfig,
  registry: ProviderRegistry,
  resolver: ModelResolver,
  pricing: Pricing,
  logger: Logger,
): void {
  if (config.auth.masterKey === undefined) {
    logger.warn(
      'OPEN DEV MODE: auth.masterKey is not set, so anyone who can reach this port can use every provider. Set GW_MASTER_KEY before exposing the gateway.',
    );
  }
  for (const { id, kind } of registry.enabled.values()) {
    if (kind !== 'demo') continue;
    const aliases = config.models.filter((model) => model.targets.some((target) => target.provider === id));
    logger.info(
      `provider "${id}" is a DEMO: canned answers that begin with "[demo]", priced at 0, no model is called` +
        (aliases.length === 0 ? '' : ` (models: ${aliases.map((model) => model.name).join(', ')})`),
      { provider: id, kind },
    );
  }
  for (const { id, kind, reason } of registry.disabled.values()) {
    logger.warn(`provider "${id}" disabled: ${reason}`, { provider: id, kind, reason });
  }
  if (registry.enabled.size === 0)
    logger.warn('no provider is enabled: /health/ready answers 503 and every model request fails');
  for (const route of resolver.routes.values()) {
    if (route.unavailableReason !== undefined)
      logger.warn(`${route.unavailableReason}; requests for it get 503`, { model: route.name });
  }
  const withoutRate = new Map<string, Set<string>>();
  for (const route of resolver.routes.values()) {
    const unpriced: string[] = [];
    for (const target of route.targets) {
      const deployment = { providerId: target.providerId, kind: target.provider.kind, model: target.model };
      const name = `${target.providerId}/${target.model}`;
      const currency = pricing.missingRate(deployment);
      if (currency !== undefined) withoutRate.set(currency, (withoutRate.get(currency) ?? new Set()).add(name));
      if (pricing.priceOf(deployment) === undefined) unpriced.push(name);
    }
    if (route.strategy === 'cost' && unpriced.length > 0) {
      logger.warn(
        `model "${route.name}" routes by cost, but ${unpriced.join(', ')} has no price: it gets requests only when no priced target can take them`,
        { model: route.name, unpriced },
      );
    }
  }
  for (const [currency, models] of withoutRate) {
    logger.warn(
      `pricing.rates has no ${currency} rate, so ${[...models].join(', ')} (priced in ${currency}) cannot be reported in ${pricing.currency}: their requests are flagged unpriced; add pricing.rates.${currency} (${currency} per 1 ${pricing.currency})`,
      { currency, models: [...models] },
    );
  }
}
