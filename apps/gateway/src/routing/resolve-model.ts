import type { Provider } from '@gw/providers';
import type { ModelSettings, ProviderSettings, RoutingStrategy } from '../config/schema.ts';
import { GatewayError } from '../gateway-error.ts';
import type { ProviderRegistry } from './provider-registry.ts';

/** Where one request goes: a provider instance and the model name it knows. */
export interface RouteTarget {
  readonly providerId: string;
  readonly provider: Provider;
  /** The upstream model name written into the request. */
  readonly model: string;
  readonly weight: number;
}

/** A model alias clients can name, with the targets that are usable right now. */
export interface ModelRoute {
  readonly name: string;
  readonly strategy: RoutingStrategy;
  readonly targets: readonly RouteTarget[];
  /** Set when no target is usable: why requests for this alias get 503. */
  readonly unavailableReason: string | undefined;
}

/** What the configuration says about the `model` a client may send. Built once at start. */
export interface ModelResolver {
  /**
   * The target of a model the client addresses directly (`provider-id/model`); throws {@link GatewayError} 404 for
   * an unknown model, 503 for an alias without a usable target or a disabled provider. Aliases are routed by their
   * router (gateway-routing.ts), not here.
   */
  resolveDirect(model: string): RouteTarget;
  readonly routes: ReadonlyMap<string, ModelRoute>;
  /** Model ids for `GET /v1/models`: usable aliases, then `provider-id/model` of enabled providers' targets. */
  listModelIds(): string[];
}

// The model name comes from the client; keep error messages short whatever it sent.
function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * Reads the model aliases against the provider registry: targets on disabled providers are skipped, and an alias
 * left without targets answers 503 with the reason.
 *
 * @example
 * const resolver = createModelResolver(config.models, registry, config.providers);
 * const target = resolver.resolveDirect('openai/gpt-4o-mini');
 */
export function createModelResolver(
  models: readonly ModelSettings[],
  registry: ProviderRegistry,
  providers: readonly ProviderSettings[] = [],
): ModelResolver {
  const routes = new Map<string, ModelRoute>();
  const directIds: string[] = [];
  const seenDirect = new Set<string>();

  for (const model of models) {
    const targets: RouteTarget[] = [];
    const skipped: string[] = [];
    for (const target of model.targets) {
      const entry = registry.enabled.get(target.provider);
      if (entry === undefined) {
        const reason = registry.disabled.get(target.provider)?.reason ?? 'unknown provider';
        skipped.push(`provider "${target.provider}" is disabled (${reason})`);
        continue;
      }
      targets.push({ providerId: entry.id, provider: entry.provider, model: target.model, weight: target.weight });
      const direct = `${entry.id}/${target.model}`;
      if (!seenDirect.has(direct)) {
        seenDirect.add(direct);
        directIds.push(direct);
      }
    }
    const unavailableReason =
      targets.length === 0 ? `model "${model.name}" has no usable target: ${skipped.join('; ')}` : undefined;
    routes.set(model.name, { name: model.name, strategy: model.strategy, targets, unavailableReason });
  }

  const modelIds = [
    ...[...routes.values()].filter((route) => route.unavailableReason === undefined).map((route) => route.name),
    ...directIds,
  ];

  // Providers that list their models (`providers[].models`) can be addressed directly for those models only.
  const declared = new Map(
    providers.flatMap((provider) => (provider.models === undefined ? [] : [[provider.id, new Set(provider.models)]])),
  );
  const declares = (providerId: string, upstreamModel: string): boolean =>
    declared.get(providerId)?.has(upstreamModel) ?? true;

  const resolveDirect = (model: string): RouteTarget => {
    const route = routes.get(model);
    if (route?.unavailableReason !== undefined) {
      throw new GatewayError(route.unavailableReason, {
        status: 503,
        type: 'service_unavailable_error',
        code: 'model_unavailable',
        param: 'model',
      });
    }
    const slash = model.indexOf('/');
    if (slash > 0 && slash < model.length - 1) {
      const providerId = model.slice(0, slash);
      const entry = registry.enabled.get(providerId);
      const upstreamModel = model.slice(slash + 1);
      if (entry !== undefined && declares(providerId, upstreamModel)) {
        return { providerId, provider: entry.provider, model: upstreamModel, weight: 1 };
      }
      const disabled = registry.disabled.get(providerId);
      if (disabled !== undefined) {
        throw new GatewayError(`provider "${providerId}" is disabled (${disabled.reason})`, {
          status: 503,
          type: 'service_unavailable_error',
          code: 'provider_disabled',
          param: 'model',
        });
      }
    }
    throw new GatewayError(
      `The model ${JSON.stringify(clip(model))} does not exist; GET /v1/models lists the models this gateway serves.`,
      {
        status: 404,
        type: 'invalid_request_error',
        code: 'model_not_found',
        param: 'model',
      },
    );
  };

  return { resolveDirect, routes, listModelIds: () => [...modelIds] };
}
