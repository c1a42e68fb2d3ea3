import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { CostError } from './cost-error.ts';
import { toRoundedScaledInteger } from './decimal.ts';
import type { ModelPrice, PriceTier, TokenRates } from './model-price.ts';

/**
 * Fewest usable models a LiteLLM file must yield before {@link importLiteLLMPrices} accepts it. LiteLLM's own file
 * lists thousands; a file that yields fewer than this is truncated, an error page saved as JSON, or another file.
 */
export const LITELLM_MIN_MODELS = 50;

// Only the fields we read, each loose: LiteLLM adds fields often and leaves many out. Costs are USD per token.
const cost = z.number().nonnegative().nullish();
const liteLLMEntrySchema = z.looseObject({
  litellm_provider: z.string().nullish(),
  mode: z.string().nullish(),
  input_cost_per_token: cost,
  output_cost_per_token: cost,
  cache_read_input_token_cost: cost,
  cache_creation_input_token_cost: cost,
  cache_creation_input_token_cost_above_1hr: cost,
  output_cost_per_reasoning_token: cost,
  // Numbers, but not always positive integers (moderation entries say 0): read only when they are.
  max_input_tokens: z.number().nullish(),
  max_output_tokens: z.number().nullish(),
  max_tokens: z.number().nullish(),
});

// LiteLLM's `model_prices_and_context_window.json`: model key → entry.
const liteLLMFileSchema = z.record(z.string(), z.unknown());

// LiteLLM's provider names, mapped to gw's vendor kinds; others are kept as LiteLLM spells them.
const VENDOR_BY_LITELLM_PROVIDER: Readonly<Record<string, string>> = {
  openai: 'openai',
  'text-completion-openai': 'openai',
  azure: 'azure-openai',
  anthropic: 'anthropic',
  gemini: 'gemini',
  bedrock: 'bedrock',
  bedrock_converse: 'bedrock',
  deepseek: 'deepseek',
  moonshot: 'moonshot',
  zai: 'zhipu',
  zhipuai: 'zhipu',
  dashscope: 'dashscope',
  volcengine: 'doubao',
  tencent: 'hunyuan',
  mistral: 'mistral',
  groq: 'groq',
};

const CHAT_MODES: ReadonlySet<string> = new Set(['chat', 'completion', 'responses']);
const TIER_FIELD =
  /^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|cache_creation_input_token_cost)_above_(\d{1,4})k_tokens$/;

/** Options of {@link importLiteLLMPrices} and {@link parseLiteLLMPrices}. */
export interface LiteLLMImportOptions {
  /** Refuse a file that yields fewer usable models. Default {@link LITELLM_MIN_MODELS} (50). */
  minModels?: number | undefined;
  /** Aborts reading the file. */
  signal?: AbortSignal | undefined;
  /** The `readOn` of the imported prices' source. Default: today (UTC). */
  readOn?: string | undefined;
}

// LiteLLM's per-token USD floats carry binary noise (3.0000000000000004e-07); read them as decimals and round to
// the catalog's grain, one millionth of a dollar per 1M tokens (10^-12 per token).
function perMillion(value: number | null | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  const rate = toRoundedScaledInteger(value, 12);
  return rate === undefined ? undefined : Number(rate);
}

// Keys carry the provider as a path prefix, sometimes a shorter form of it: `vertex_ai/gemini-2.5-flash` for
// provider `vertex_ai-language-models`. Bedrock keys (`anthropic.claude…`, `us.amazon.nova-pro-v1:0`) have none.
function modelOfKey(key: string, provider: string): string {
  const slash = key.indexOf('/');
  if (slash <= 0 || provider === '') return key;
  const prefix = key.slice(0, slash);
  const matches = provider === prefix || provider.startsWith(`${prefix}-`) || provider.startsWith(`${prefix}_`);
  return matches ? key.slice(slash + 1) : key;
}

function tokenLimit(value: number | null | undefined): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

interface TierRates {
  input?: number | undefined;
  output?: number | undefined;
  cachedInput?: number | undefined;
  cacheWrite5m?: number | undefined;
}

// `input_cost_per_token_above_200k_tokens` and its siblings: the rates of prompts above 200k tokens. A rate the
// tier does not list is the base rate (LiteLLM lists only what changes).
function tiersOf(entry: Readonly<Record<string, unknown>>, base: TokenRates): PriceTier[] | undefined {
  const byThreshold = new Map<number, TierRates>();
  for (const [field, value] of Object.entries(entry)) {
    const match = TIER_FIELD.exec(field);
    if (match === null || typeof value !== 'number' || value < 0) continue;
    const [, name, thousands = '0'] = match;
    const above = Number(thousands) * 1000;
    const tier = byThreshold.get(above) ?? {};
    const rate = perMillion(value);
    if (name === 'input_cost_per_token') tier.input = rate;
    else if (name === 'output_cost_per_token') tier.output = rate;
    else if (name === 'cache_read_input_token_cost') tier.cachedInput = rate;
    else tier.cacheWrite5m = rate;
    byThreshold.set(above, tier);
  }
  if (byThreshold.size === 0) return undefined;
  return [...byThreshold]
    .sort(([a], [b]) => a - b)
    .map(([above, tier]) => ({
      above,
      input: tier.input ?? base.input,
      output: tier.output ?? base.output,
      cachedInput: tier.cachedInput ?? base.cachedInput,
      cacheWrite5m: tier.cacheWrite5m ?? base.cacheWrite5m,
      cacheWrite1h: base.cacheWrite1h,
      reasoning: base.reasoning,
    }));
}

/**
 * Converts the parsed content of LiteLLM's `model_prices_and_context_window.json` into prices (USD, per 1M
 * tokens). Chat-like modes (`chat`, `completion`, `responses`) and `embedding` are kept; image, audio, rerank and
 * moderation entries, `sample_spec`, and entries without an input price (or a chat entry without an output price)
 * are skipped: a missing price stays unknown, never zero.
 *
 * Throws a `CostError`: `import_failed` when the content is not an object of entries, `too_few_models` when fewer
 * than `minModels` (default 50) usable models remain.
 *
 * @example
 * ```ts
 * const prices = parseLiteLLMPrices(JSON.parse(text), { minModels: 1 });
 * ```
 */
export function parseLiteLLMPrices(content: unknown, options?: Omit<LiteLLMImportOptions, 'signal'>): ModelPrice[] {
  const file = liteLLMFileSchema.safeParse(content);
  if (!file.success) {
    throw new CostError('import_failed', 'a LiteLLM price file is a JSON object of model entries');
  }
  const readOn = options?.readOn ?? new Date().toISOString().slice(0, 10);
  const prices: ModelPrice[] = [];
  for (const [key, raw] of Object.entries(file.data)) {
    if (key === 'sample_spec') continue;
    const parsed = liteLLMEntrySchema.safeParse(raw);
    if (!parsed.success) continue;
    const entry = parsed.data;
    const mode = entry.mode ?? 'chat';
    const kind = CHAT_MODES.has(mode) ? 'chat' : mode === 'embedding' ? 'embedding' : undefined;
    const input = perMillion(entry.input_cost_per_token);
    const output = perMillion(entry.output_cost_per_token);
    if (kind === undefined || input === undefined || (kind === 'chat' && output === undefined)) continue;
    const provider = entry.litellm_provider ?? '';
    const model = modelOfKey(key, provider);
    const rates: TokenRates = {
      input,
      output: kind === 'chat' ? (output ?? 0) : 0,
      cachedInput: perMillion(entry.cache_read_input_token_cost),
      cacheWrite5m: perMillion(entry.cache_creation_input_token_cost),
      cacheWrite1h: perMillion(entry.cache_creation_input_token_cost_above_1hr),
      reasoning: perMillion(entry.output_cost_per_reasoning_token),
    };
    prices.push({
      vendor: VENDOR_BY_LITELLM_PROVIDER[provider] ?? (provider || 'unknown'),
      model,
      mode: kind,
      currency: 'USD',
      ...rates,
      tiers: tiersOf(entry, rates),
      contextWindow: tokenLimit(entry.max_input_tokens),
      maxOutputTokens: tokenLimit(entry.max_output_tokens) ?? tokenLimit(entry.max_tokens),
      source: {
        url: 'https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json',
        readOn,
        basis: 'litellm',
        note: `imported from LiteLLM key ${key}`,
      },
    });
  }
  const minModels = options?.minModels ?? LITELLM_MIN_MODELS;
  if (prices.length < minModels) {
    throw new CostError(
      'too_few_models',
      `the LiteLLM price file yielded ${prices.length} usable models, fewer than the ${minModels} required ` +
        `(minModels); refusing it rather than replacing a catalog with a partial one`,
    );
  }
  return prices;
}

/**
 * Reads LiteLLM's `model_prices_and_context_window.json` from `path` and converts it (see
 * {@link parseLiteLLMPrices}). Use the result as a catalog's `prices`, alone or ahead of {@link builtInPrices}.
 *
 * Throws a `CostError`: `import_failed` when the file cannot be read or is not JSON, `too_few_models` when it
 * yields fewer than `minModels` (default 50) usable models. An aborted `signal` rejects with its reason.
 *
 * @example
 * ```ts
 * const imported = await importLiteLLMPrices('./model_prices_and_context_window.json');
 * const catalog = createPriceCatalog({ prices: [...imported, ...builtInPrices()] });
 * ```
 */
export async function importLiteLLMPrices(path: string, options?: LiteLLMImportOptions): Promise<ModelPrice[]> {
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8', signal: options?.signal });
  } catch (error) {
    if (options?.signal?.aborted === true) throw options.signal.reason;
    throw new CostError('import_failed', `cannot read the LiteLLM price file ${path}`, { cause: error });
  }
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch (error) {
    throw new CostError('import_failed', `the LiteLLM price file ${path} is not JSON`, { cause: error });
  }
  return parseLiteLLMPrices(content, options);
}
