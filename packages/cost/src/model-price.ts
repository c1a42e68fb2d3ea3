import { z } from 'zod';
import { CostError } from './cost-error.ts';
import { toScaledInteger } from './decimal.ts';
import { checkCurrency } from './money.ts';

/** Token rates of one price tier, each in integer millionths of the currency per 1M tokens ($2.50 → 2_500_000). */
export interface TokenRates {
  /** Prompt tokens that were neither cache reads nor cache writes. */
  readonly input: number;
  /** Completion tokens; 0 for embedding models. */
  readonly output: number;
  /** Cache reads (OpenAI `cached_tokens`, Anthropic cache hits). Absent: the vendor bills them as input. */
  readonly cachedInput?: number | undefined;
  /** Cache writes with the default lifetime (Anthropic's 5 minutes). Absent: billed as input. */
  readonly cacheWrite5m?: number | undefined;
  /** Anthropic's 1-hour cache writes. Absent: billed at `cacheWrite5m` (or input). */
  readonly cacheWrite1h?: number | undefined;
  /** Reasoning tokens, only when the vendor prices them apart from the answer. Absent: they are output. */
  readonly reasoning?: number | undefined;
  /**
   * Output price of a request that ran in thinking mode (Qwen3 and Doubao hybrid models bill the whole completion
   * at it). Absent: thinking changes nothing.
   */
  readonly outputThinking?: number | undefined;
}

/** The rates that apply when the prompt has more than `above` tokens. */
export interface PriceTier extends TokenRates {
  readonly above: number;
}

/** Where a price came from, so that a bill can be traced to a page and a day. */
export interface PriceSource {
  readonly url: string;
  /** ISO date (YYYY-MM-DD) the page was read. */
  readonly readOn: string;
  /**
   * - `vendor`: the vendor's own pricing or model page.
   * - `aggregator`: a third-party page that quotes the vendor (no vendor page was at hand).
   * - `litellm`: LiteLLM's `model_prices_and_context_window.json` (imported, or a cross-check).
   * - `unverified`: the vendor's published price as known before this catalog was assembled, not re-read from a
   *   page when it was; confirm it before billing on it.
   * - `override`: given by the caller (configuration).
   */
  readonly basis: 'vendor' | 'aggregator' | 'litellm' | 'unverified' | 'override';
  readonly note?: string | undefined;
}

/** The price of one model at one vendor, with integer rates ready for {@link costOf}. */
export interface ModelPrice extends TokenRates {
  /** Vendor kind (`openai`, `anthropic`, `bedrock`…), or whatever name an override or import gave. */
  readonly vendor: string;
  /** The model id as the vendor's API spells it, without date or version suffix. */
  readonly model: string;
  readonly mode: 'chat' | 'embedding';
  /** ISO 4217 code as the vendor bills: `USD`, `CNY`. */
  readonly currency: string;
  /** Prompt-size tiers in ascending `above` order; the whole request is billed at the tier its prompt falls in. */
  readonly tiers?: readonly PriceTier[] | undefined;
  /** Most tokens (prompt + completion, or prompt alone where the vendor says so) the model accepts. */
  readonly contextWindow?: number | undefined;
  readonly maxOutputTokens?: number | undefined;
  readonly source?: PriceSource | undefined;
}

// A price per 1M tokens as people write it: a number or decimal text of currency units. Six decimals at most,
// which is what integer millionths can hold; the check is in toRate so that the message names the field.
const perMillion = z.union([z.number().nonnegative(), z.string().regex(/^\d+(?:\.\d+)?$/)]);

const rateFields = {
  input: perMillion,
  output: perMillion.optional(),
  cachedInput: perMillion.optional(),
  cacheWrite5m: perMillion.optional(),
  cacheWrite1h: perMillion.optional(),
  reasoning: perMillion.optional(),
  outputThinking: perMillion.optional(),
};

/** Zod schema of a price source (see {@link PriceSource}). */
export const priceSourceSchema = z.strictObject({
  url: z.url(),
  readOn: z.iso.date(),
  basis: z.enum(['vendor', 'aggregator', 'litellm', 'unverified', 'override']),
  note: z.string().min(1).optional(),
});

/**
 * Zod schema of a price as configuration and the bundled catalog write it: decimal currency units per 1M tokens
 * (`input: 2.5` is $2.50 per million input tokens). Validate `pricing.models` entries with it.
 *
 * @example
 * ```ts
 * const entry = priceInputSchema.parse({ model: 'my-finetune', currency: 'USD', input: 3, output: 12 });
 * ```
 */
export const priceInputSchema = z.strictObject({
  /** Vendor kind or provider id the entry is for; absent: any vendor. */
  vendor: z.string().min(1).optional(),
  model: z.string().min(1),
  /** Other ids that mean this model (`claude-opus-4-0` for `claude-opus-4`). */
  aliases: z.array(z.string().min(1)).optional(),
  mode: z.enum(['chat', 'embedding']).optional(),
  currency: z.string().regex(/^[A-Z]{3}$/),
  ...rateFields,
  tiers: z.array(z.strictObject({ above: z.int().positive(), ...rateFields })).optional(),
  contextWindow: z.int().positive().optional(),
  maxOutputTokens: z.int().positive().optional(),
  source: priceSourceSchema.optional(),
});

/** A price as configuration writes it; see {@link priceInputSchema}. */
export type PriceInput = z.input<typeof priceInputSchema>;

function toRate(value: string | number | undefined, field: string, model: string): number | undefined {
  if (value === undefined) return undefined;
  const rate = toScaledInteger(value, 6);
  if (rate === undefined || rate < 0n || rate > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CostError(
      'invalid_price',
      `${model}: ${field} ${JSON.stringify(value)} is not a non-negative price with at most 6 decimals per 1M tokens`,
    );
  }
  return Number(rate);
}

type RateInput = Partial<Record<keyof TokenRates, string | number | undefined>>;

function toRates(input: RateInput, mode: 'chat' | 'embedding', model: string): TokenRates {
  const output = toRate(input.output, 'output', model);
  if (output === undefined && mode === 'chat') {
    throw new CostError('invalid_price', `${model}: a chat model needs an output price`);
  }
  return {
    input: toRate(input.input, 'input', model) ?? 0,
    output: output ?? 0,
    cachedInput: toRate(input.cachedInput, 'cachedInput', model),
    cacheWrite5m: toRate(input.cacheWrite5m, 'cacheWrite5m', model),
    cacheWrite1h: toRate(input.cacheWrite1h, 'cacheWrite1h', model),
    reasoning: toRate(input.reasoning, 'reasoning', model),
    outputThinking: toRate(input.outputThinking, 'outputThinking', model),
  };
}

/**
 * Turns a price as people write it (decimal currency units per 1M tokens) into a {@link ModelPrice} with integer
 * rates. Throws a `CostError` (`invalid_price`) for a price with more than six decimals, a chat model without an
 * output price, or tiers out of order.
 *
 * @example
 * ```ts
 * const price = toModelPrice({ vendor: 'vllm', model: 'llama-3.1-8b', currency: 'USD', input: 0.05, output: 0.08 });
 * price.input; // 50000 (millionths of a dollar per 1M tokens)
 * ```
 */
export function toModelPrice(input: PriceInput, defaults?: { vendor?: string; source?: PriceSource }): ModelPrice {
  const parsed = priceInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new CostError('invalid_price', `invalid price for ${describe(input)}: ${z.prettifyError(parsed.error)}`);
  }
  const entry = parsed.data;
  const mode = entry.mode ?? 'chat';
  let previous = 0;
  const tiers = entry.tiers?.map((tier) => {
    if (tier.above <= previous) {
      throw new CostError('invalid_price', `${entry.model}: tiers must be in ascending order of "above"`);
    }
    previous = tier.above;
    return { above: tier.above, ...toRates(tier, mode, `${entry.model} (above ${tier.above})`) };
  });
  return {
    vendor: entry.vendor ?? defaults?.vendor ?? '*',
    model: entry.model,
    mode,
    currency: checkCurrency(entry.currency),
    ...toRates(entry, mode, entry.model),
    tiers,
    contextWindow: entry.contextWindow,
    maxOutputTokens: entry.maxOutputTokens,
    source: entry.source ?? defaults?.source,
  };
}

function describe(input: unknown): string {
  if (typeof input === 'object' && input !== null && 'model' in input && typeof input.model === 'string') {
    return JSON.stringify(input.model);
  }
  return 'a price entry';
}
