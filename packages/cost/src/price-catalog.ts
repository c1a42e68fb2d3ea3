import { type CatalogEntry, loadBuiltInEntries } from './catalog-data.ts';
import { type ModelPrice, type PriceInput, toModelPrice } from './model-price.ts';
import { modelIdCandidates } from './model-id.ts';

/** What to price: the vendor kind (or provider id) and the model as the request named it. */
export interface PriceQuery {
  /** Vendor kind (`openai`, `azure-openai`, `bedrock`, `vllm`…) or a provider id that overrides use. */
  vendor: string;
  /** The model as sent upstream: a dated id, a Bedrock id with region prefix, an Azure deployment name… */
  model: string;
  /**
   * The model a deployment serves, when its name says nothing (Azure deployments, vLLM/Ollama served names).
   * A string is looked up at the same vendor, or at every vendor when `vendor` has no catalog (vllm, ollama,
   * openai-compatible); `{ vendor, model }` names both.
   */
  baseModel?: string | { vendor: string; model: string } | undefined;
}

/** Options of {@link createPriceCatalog}. */
export interface PriceCatalogOptions {
  /**
   * Prices that win over every other, e.g. the gateway's `pricing.models`. Decimal currency units per 1M tokens;
   * an entry without `vendor` applies to every vendor. Invalid entries throw a `CostError` (`invalid_price`).
   */
  overrides?: readonly PriceInput[] | undefined;
  /**
   * The prices under the overrides, first match winning. Default: the bundled catalog ({@link builtInPrices}).
   * Pass `[...imported, ...builtInPrices()]` to prefer prices imported from LiteLLM's file.
   */
  prices?: readonly ModelPrice[] | undefined;
}

/** Finds prices. Create it with {@link createPriceCatalog}; {@link lookupPrice} uses a default one. */
export interface PriceCatalog {
  /**
   * The price of the queried model, or undefined when the catalog has none. Undefined means "unpriced": flag it,
   * never bill it as zero.
   */
  lookup(query: PriceQuery): ModelPrice | undefined;
  /** Every price in the catalog (overrides first), optionally of one vendor: for admin views and `/v1/models`. */
  list(vendor?: string): readonly ModelPrice[];
}

const ANY_VENDOR = '*';

interface Layer {
  /** `vendor\0id` → price, for ids and aliases, lowercased. */
  readonly byVendorAndId: ReadonlyMap<string, ModelPrice>;
  /** id → the first price with that id at any vendor. */
  readonly byId: ReadonlyMap<string, ModelPrice>;
  readonly vendors: ReadonlySet<string>;
  readonly prices: readonly ModelPrice[];
}

function buildLayer(entries: readonly CatalogEntry[]): Layer {
  const byVendorAndId = new Map<string, ModelPrice>();
  const byId = new Map<string, ModelPrice>();
  const vendors = new Set<string>();
  for (const { price, aliases } of entries) {
    vendors.add(price.vendor);
    for (const id of [price.model, ...aliases]) {
      const key = `${price.vendor}\0${id.toLowerCase()}`;
      if (!byVendorAndId.has(key)) byVendorAndId.set(key, price);
      if (!byId.has(id.toLowerCase())) byId.set(id.toLowerCase(), price);
    }
  }
  return { byVendorAndId, byId, vendors, prices: entries.map((entry) => entry.price) };
}

function findIn(
  layer: Layer,
  vendor: string,
  candidates: readonly string[],
  anyVendor: boolean,
): ModelPrice | undefined {
  for (const id of candidates) {
    const price =
      layer.byVendorAndId.get(`${vendor}\0${id}`) ??
      layer.byVendorAndId.get(`${ANY_VENDOR}\0${id}`) ??
      (anyVendor ? layer.byId.get(id) : undefined);
    if (price !== undefined) return price;
  }
  return undefined;
}

let builtIn: readonly CatalogEntry[] | undefined;

function builtInEntries(): readonly CatalogEntry[] {
  builtIn ??= Object.freeze(loadBuiltInEntries());
  return builtIn;
}

/**
 * The bundled catalog's prices: every vendor kind gw supports, chat and embedding models, each with its source
 * page and the day it was read. Built on the first call.
 *
 * @example
 * ```ts
 * builtInPrices().filter((price) => price.vendor === 'deepseek').map((price) => price.model);
 * ```
 */
export function builtInPrices(): readonly ModelPrice[] {
  return builtInEntries().map((entry) => entry.price);
}

/**
 * A price catalog: caller overrides first, then the bundled (or given) prices. Lookups tolerate dated ids,
 * `-latest`, Bedrock region prefixes and versions, and name a deployment's base model with `baseModel`.
 *
 * @example
 * ```ts
 * const catalog = createPriceCatalog({
 *   overrides: [{ vendor: 'vllm', model: 'qwen3-32b-awq', currency: 'USD', input: 0.1, output: 0.3 }],
 * });
 * catalog.lookup({ vendor: 'openai', model: 'gpt-4o-mini-2024-07-18' })?.model; // 'gpt-4o-mini'
 * catalog.lookup({ vendor: 'azure-openai', model: 'prod-chat', baseModel: 'gpt-4.1' })?.input; // 2_000_000
 * ```
 */
export function createPriceCatalog(options?: PriceCatalogOptions): PriceCatalog {
  const overrides = buildLayer(
    (options?.overrides ?? []).map((input) => ({
      price: toModelPrice(input, { vendor: ANY_VENDOR }),
      aliases: input.aliases ?? [],
    })),
  );
  const base = buildLayer(
    options?.prices === undefined
      ? builtInEntries()
      : options.prices.map((price) => ({ price, aliases: [] as readonly string[] })),
  );
  return {
    lookup(query) {
      const target = resolveTarget(query);
      const candidates = modelIdCandidates(target.model);
      // A kind without a catalog of its own (vllm, ollama, openai-compatible) serves somebody else's model.
      const anyVendor = target.anyVendor && !base.vendors.has(target.vendor);
      return (
        findIn(overrides, target.vendor, candidates, anyVendor) ?? findIn(base, target.vendor, candidates, anyVendor)
      );
    },
    list(vendor) {
      const all = [...overrides.prices, ...base.prices];
      return vendor === undefined ? all : all.filter((price) => price.vendor === vendor || price.vendor === ANY_VENDOR);
    },
  };
}

function resolveTarget(query: PriceQuery): { vendor: string; model: string; anyVendor: boolean } {
  const { baseModel } = query;
  // Without a base model, a kind with no catalog stays unpriced: a self-hosted model that happens to share a
  // vendor's id does not cost that vendor's price.
  if (baseModel === undefined) return { vendor: query.vendor, model: query.model, anyVendor: false };
  if (typeof baseModel === 'string') return { vendor: query.vendor, model: baseModel, anyVendor: true };
  return { vendor: baseModel.vendor, model: baseModel.model, anyVendor: false };
}

let defaultCatalog: PriceCatalog | undefined;

/**
 * Looks a price up in the bundled catalog (no overrides). Undefined when the model is unknown: the caller flags
 * the request as unpriced, it never bills it as free.
 *
 * @example
 * ```ts
 * lookupPrice({ vendor: 'anthropic', model: 'claude-3-5-sonnet-20241022' })?.model; // 'claude-3-5-sonnet'
 * lookupPrice({ vendor: 'bedrock', model: 'us.anthropic.claude-sonnet-4-20250514-v1:0' })?.model;
 * // 'anthropic.claude-sonnet-4'
 * ```
 */
export function lookupPrice(query: PriceQuery): ModelPrice | undefined {
  defaultCatalog ??= createPriceCatalog();
  return defaultCatalog.lookup(query);
}
