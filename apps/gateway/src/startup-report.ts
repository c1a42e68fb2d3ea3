import { NOT_YET_ENFORCED_SECTIONS, type GatewayConfig } from './config/schema.ts';
import type { Logger } from './observability/logger.ts';
import type { ProviderRegistry } from './routing/provider-registry.ts';
import type { ModelResolver } from './routing/resolve-model.ts';

/**
 * Says at start what an operator must know: open dev mode, demo providers and the models they serve, disabled
 * providers (one line each, with the reason, never the key), aliases left without targets, strategies and sections
 * that are accepted but not acted on yet.
 *
 * @example
 * reportStartup(config, registry, resolver, logger);
 */
export function reportStartup(
  config: GatewayConfig,
  registry: ProviderRegistry,
  resolver: ModelResolver,
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
  const costAliases = config.models.filter((model) => model.strategy === 'cost').map((model) => model.name);
  if (costAliases.length > 0) {
    logger.warn(
      `strategy "cost" has no price catalogue yet, so it spreads requests round-robin for: ${costAliases.join(', ')}`,
    );
  }
  const pending: string[] = NOT_YET_ENFORCED_SECTIONS.filter((section) => config[section] !== undefined);
  if (pending.length > 0) logger.warn(`configuration accepted but not enforced yet: ${pending.join(', ')}`);
}
