import {
  builtInPrices,
  convert,
  costOf,
  createPriceCatalog,
  moneyToNumber,
  type CostBreakdown,
  type ExchangeRates,
  type ModelPrice,
  type Money,
  type PriceInput,
  toModelPrice,
  type UsageLike,
} from '@gw/cost';
import type { ProviderKind, Usage } from '@gw/providers';
import { LRUCache } from 'lru-cache';
import type { GatewayConfig } from '../config/schema.ts';

/** Which deployment answered: what its price is looked up by (never the alias the client named). */
export interface PricedDeployment {
  readonly providerId: string;
  readonly kind: ProviderKind;
  /** The model sent upstream. */
  readonly model: string;
}

/** A request's cost in the reporting currency, line by line. */
export interface RequestCost {
  readonly currency: string;
  readonly input: Money;
  readonly cachedInput: Money;
  readonly cacheWrite: Money;
  readonly output: Money;
  /** Present when the model prices reasoning apart from output. */
  readonly reasoning: Money | undefined;
  readonly total: Money;
  /** The tokens of each class the cost is made of. */
  readonly tokens: CostBreakdown['tokens'];
}

/** Prices the gateway's requests: the catalog, the config's overrides, the reporting currency. Built once at start. */
export interface Pricing {
  /** The reporting currency (`pricing.currency`). */
  readonly currency: string;
  /**
   * The price of a deployment's model, `undefined` when it has none (unpriced: flagged, never free). A price in a
   * currency `pricing.rates` cannot convert counts as none: see {@link Pricing.missingRate}.
   */
  priceOf(deployment: PricedDeployment): ModelPrice | undefined;
  /** The currency of a deployment's price when `pricing.rates` has no rate for it (the model is then unpriced). */
  missingRate(deployment: PricedDeployment): string | undefined;
  /** The cost of `usage` on a deployment in the reporting currency, `undefined` when the model is unpriced. */
  costOf(usage: Usage, deployment: PricedDeployment): RequestCost | undefined;
  /** A cost as the number clients see (`usage.cost`, `x-gw-cost`): currency units, for display only. */
  toNumber(cost: RequestCost): number;
  /** An amount in the reporting currency (`pricing.rates` converts the others). */
  toReporting(amount: Money): Money;
}

/** Options of {@link createPricing}. */
export interface PricingOptions {
  /** Prices read from `pricing.catalog` (a LiteLLM-format file), preferred over the bundled catalog. */
  imported?: readonly ModelPrice[] | undefined;
  /** `targets[].baseModel` of the config, by `provider-id/model`. */
  baseModels?: ReadonlyMap<string, string> | undefined;
}

// What a deployment's lookup found: its price, or why it has none that can be reported.
interface PriceLookup {
  readonly price: ModelPrice | undefined;
  readonly missingRate: string | undefined;
}

// Prices are looked up per deployment; directly addressed models are client-chosen, so the memo is bounded.
const MAX_MEMO = 4096;

/**
 * `pricing.models` as price entries: a key `provider-id/model` is that provider's (matched by provider id), a bare
 * model name any provider's.
 */
function overridesOf(pricing: GatewayConfig['pricing'], providerIds: ReadonlySet<string>): PriceInput[] {
  return Object.entries(pricing.models).map(([key, price]) => {
    const slash = key.indexOf('/');
    const vendor = slash > 0 && providerIds.has(key.slice(0, slash)) ? key.slice(0, slash) : undefined;
    const model = vendor === undefined ? key : key.slice(slash + 1);
    const { cacheWrite, currency, ...rates } = price;
    return {
      ...(vendor === undefined ? {} : { vendor }),
      model,
      currency: currency ?? pricing.currency,
      ...rates,
      ...(cacheWrite === undefined ? {} : { cacheWrite5m: cacheWrite }),
    };
  });
}

// DeepSeek reports cache hits as `prompt_cache_hit_tokens` (newer answers also carry `cached_tokens`).
function withCacheHits(usage: Usage): UsageLike {
  const hits: unknown = usage['prompt_cache_hit_tokens'];
  if (typeof hits !== 'number' || usage.prompt_tokens_details?.cached_tokens != null) return usage;
  return { ...usage, prompt_tokens_details: { ...usage.prompt_tokens_details, cached_tokens: hits } };
}

/**
 * The gateway's pricing from the `pricing:` section: overrides (`pricing.models`) over the imported catalog
 * (`pricing.catalog`) over the bundled one. A deployment is priced by the model that answered: the provider id
 * first (overrides), then the vendor kind with its base model when the config names one (Azure deployments,
 * vLLM/Ollama served names). Costs in another currency are converted with `pricing.rates`. Providers of kind `demo`
 * are priced at 0 whatever the model name.
 *
 * @example
 * const pricing = createPricing(config);
 * const cost = pricing.costOf(response.usage, { providerId: 'openai', kind: 'openai', model: 'gpt-4o-mini' });
 */
export function createPricing(config: GatewayConfig, options: PricingOptions = {}): Pricing {
  const { pricing } = config;
  const providerIds = new Set(config.providers.map((provider) => provider.id));
  const catalog = createPriceCatalog({
    overrides: overridesOf(pricing, providerIds),
    prices: [...(options.imported ?? []), ...builtInPrices()],
  });
  const rates: ExchangeRates = { base: pricing.currency, rates: pricing.rates };
  const memo = new LRUCache<string, PriceLookup>({ max: MAX_MEMO });

  // Demo answers cost nothing, and say so: priced at 0 rather than unpriced, and never by the catalog's price of a
  // real model whose name the demo was given.
  const demoLookup: PriceLookup = {
    price: toModelPrice({ vendor: 'demo', model: '*', currency: pricing.currency, input: 0, output: 0 }),
    missingRate: undefined,
  };
  const lookup = (deployment: PricedDeployment): PriceLookup => {
    if (deployment.kind === 'demo') return demoLookup;
    const key = `${deployment.providerId}/${deployment.model}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const baseModel = options.baseModels?.get(key);
    const price =
      catalog.lookup({ vendor: deployment.providerId, model: deployment.model }) ??
      catalog.lookup({
        vendor: deployment.kind,
        model: deployment.model,
        ...(baseModel === undefined ? {} : { baseModel }),
      });
    // Without a rate the cost cannot be reported: the model is unpriced (flagged, warned about) rather than the
    // answer failing after the vendor has billed it.
    const convertible =
      price === undefined || price.currency === pricing.currency || Object.hasOwn(pricing.rates, price.currency);
    const found = convertible ? { price, missingRate: undefined } : { price: undefined, missingRate: price.currency };
    memo.set(key, found);
    return found;
  };
  const priceOf = (deployment: PricedDeployment): ModelPrice | undefined => lookup(deployment).price;

  const toReporting = (amount: Money): Money => convert(amount, pricing.currency, rates);

  return {
    currency: pricing.currency,
    priceOf,
    missingRate: (deployment) => lookup(deployment).missingRate,
    costOf(usage, deployment) {
      const price = priceOf(deployment);
      if (price === undefined) return undefined;
      const breakdown = costOf(withCacheHits(usage), price);
      return {
        currency: pricing.currency,
        input: toReporting(breakdown.input),
        cachedInput: toReporting(breakdown.cachedInput),
        cacheWrite: toReporting({
          amount: breakdown.cacheWrite5m.amount + breakdown.cacheWrite1h.amount,
          currency: breakdown.currency,
        }),
        output: toReporting(breakdown.output),
        reasoning: breakdown.reasoning === undefined ? undefined : toReporting(breakdown.reasoning),
        total: toReporting(breakdown.total),
        tokens: breakdown.tokens,
      };
    },
    toNumber: (cost) => moneyToNumber(cost.total),
    toReporting,
  };
}
