import { CostError } from './cost-error.ts';
import type { ModelPrice, TokenRates } from './model-price.ts';
import type { Money } from './money.ts';

/**
 * Token usage in OpenAI's shape, as gw's canonical usage carries it. `prompt_tokens` INCLUDES cached and
 * cache-write tokens; `completion_tokens` INCLUDES reasoning tokens. Missing or null counts are 0.
 */
export interface UsageLike {
  prompt_tokens?: number | null | undefined;
  completion_tokens?: number | null | undefined;
  prompt_tokens_details?:
    | {
        /** Cache reads. */
        cached_tokens?: number | null | undefined;
        /** Cache writes (gw's name for Anthropic's `cache_creation_input_tokens`). */
        cache_creation_tokens?: number | null | undefined;
        /**
         * How many of `cache_creation_tokens` were 1-hour writes (Anthropic's
         * `cache_creation.ephemeral_1h_input_tokens`); the rest are 5-minute writes.
         */
        cache_creation_1h_tokens?: number | null | undefined;
      }
    | null
    | undefined;
  completion_tokens_details?: { reasoning_tokens?: number | null | undefined } | null | undefined;
}

/** Options of {@link costOf}. */
export interface CostOptions {
  /**
   * Whether the request ran in thinking mode, for prices with `outputThinking` (Qwen3, Doubao hybrids).
   * Default: true when the usage reports reasoning tokens.
   */
  thinking?: boolean | undefined;
}

/** Tokens of each class, each counted once. */
export interface TokenBreakdown {
  /** Prompt tokens that were neither cache reads nor cache writes. */
  readonly input: number;
  readonly cachedInput: number;
  readonly cacheWrite5m: number;
  readonly cacheWrite1h: number;
  /** Completion tokens billed as output: all of them, or those that were not reasoning when reasoning is priced apart. */
  readonly output: number;
  /** Reasoning tokens billed on their own line (0 unless the price lists reasoning apart). */
  readonly reasoning: number;
}

/** What one request cost, line by line, in the price's currency. */
export interface CostBreakdown {
  readonly currency: string;
  readonly input: Money;
  readonly cachedInput: Money;
  readonly cacheWrite5m: Money;
  readonly cacheWrite1h: Money;
  readonly output: Money;
  /** Present only when the price lists reasoning apart from output. */
  readonly reasoning: Money | undefined;
  readonly total: Money;
  readonly tokens: TokenBreakdown;
  /** The prompt-size tier billed: its `above` threshold, 0 for the base rates. */
  readonly tier: number;
}

function count(value: number | null | undefined, field: string): number {
  if (value === undefined || value === null) return 0;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new CostError('invalid_usage', `${field} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

function ratesFor(price: ModelPrice, promptTokens: number): { rates: TokenRates; tier: number } {
  let rates: TokenRates = price;
  let tier = 0;
  for (const candidate of price.tiers ?? []) {
    if (promptTokens > candidate.above) {
      rates = candidate;
      tier = candidate.above;
    }
  }
  return { rates, tier };
}

/**
 * What a request cost: each token class billed once at its rate, exactly (integer 10^-12 currency units).
 *
 * - input = prompt − cache reads − cache writes (OpenAI's and gw's convention: prompt_tokens includes both);
 *   cache reads at `cachedInput`, 5-minute writes at `cacheWrite5m`, 1-hour writes at `cacheWrite1h`, each
 *   falling back to the input rate (the 1-hour one to the 5-minute one first) when the vendor does not price it.
 * - Reasoning tokens are part of completion_tokens: output rate, unless the price lists `reasoning` apart, in
 *   which case they move to their own line. Never both.
 * - Tiers: the whole request is billed at the tier its prompt size (prompt_tokens) falls in, as Gemini, Qwen,
 *   Doubao and Anthropic's long-context prices do.
 * - Embedding prices (`mode: 'embedding'`) bill input only.
 *
 * Throws a `CostError` (`invalid_usage`) for negative or fractional counts, or parts larger than their whole.
 *
 * @example
 * ```ts
 * const price = lookupPrice({ vendor: 'openai', model: 'gpt-4o-mini' })!;
 * const cost = costOf({ prompt_tokens: 1200, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 1000 } }, price);
 * moneyToNumber(cost.total); // 0.000285 (200 × 0.15 + 1000 × 0.075 + 300 × 0.60, per million)
 * ```
 */
export function costOf(usage: UsageLike, price: ModelPrice, options?: CostOptions): CostBreakdown {
  const prompt = count(usage.prompt_tokens, 'prompt_tokens');
  const completion = price.mode === 'embedding' ? 0 : count(usage.completion_tokens, 'completion_tokens');
  const details = usage.prompt_tokens_details ?? undefined;
  const cached = count(details?.cached_tokens, 'prompt_tokens_details.cached_tokens');
  const writes = count(details?.cache_creation_tokens, 'prompt_tokens_details.cache_creation_tokens');
  const writes1h = count(details?.cache_creation_1h_tokens, 'prompt_tokens_details.cache_creation_1h_tokens');
  const reasoningTokens =
    price.mode === 'embedding'
      ? 0
      : count(usage.completion_tokens_details?.reasoning_tokens, 'completion_tokens_details.reasoning_tokens');
  if (cached + writes > prompt) {
    throw new CostError(
      'invalid_usage',
      `cached (${cached}) + cache-write (${writes}) tokens exceed prompt_tokens (${prompt}); prompt_tokens must include them`,
    );
  }
  if (writes1h > writes) {
    throw new CostError('invalid_usage', `1-hour cache writes (${writes1h}) exceed cache writes (${writes})`);
  }
  if (reasoningTokens > completion) {
    throw new CostError(
      'invalid_usage',
      `reasoning_tokens (${reasoningTokens}) exceed completion_tokens (${completion})`,
    );
  }

  const { rates, tier } = ratesFor(price, prompt);
  const thinking = options?.thinking ?? reasoningTokens > 0;
  const outputRate = thinking && rates.outputThinking !== undefined ? rates.outputThinking : rates.output;
  const cacheWrite5mRate = rates.cacheWrite5m ?? rates.input;
  const apart = rates.reasoning !== undefined;
  const tokens: TokenBreakdown = {
    input: prompt - cached - writes,
    cachedInput: cached,
    cacheWrite5m: writes - writes1h,
    cacheWrite1h: writes1h,
    output: apart ? completion - reasoningTokens : completion,
    reasoning: apart ? reasoningTokens : 0,
  };
  const { currency } = price;
  const line = (tokenCount: number, rate: number): Money => ({ amount: BigInt(tokenCount) * BigInt(rate), currency });
  const input = line(tokens.input, rates.input);
  const cachedInput = line(tokens.cachedInput, rates.cachedInput ?? rates.input);
  const cacheWrite5m = line(tokens.cacheWrite5m, cacheWrite5mRate);
  const cacheWrite1h = line(tokens.cacheWrite1h, rates.cacheWrite1h ?? cacheWrite5mRate);
  const output = line(tokens.output, outputRate);
  const reasoning = rates.reasoning === undefined ? undefined : line(tokens.reasoning, rates.reasoning);
  const total =
    input.amount +
    cachedInput.amount +
    cacheWrite5m.amount +
    cacheWrite1h.amount +
    output.amount +
    (reasoning?.amount ?? 0n);
  return {
    currency,
    input,
    cachedInput,
    cacheWrite5m,
    cacheWrite1h,
    output,
    reasoning,
    total: { amount: total, currency },
    tokens,
    tier,
  };
}

/**
 * The most a request can cost before it is known how it will be billed: every prompt token at the highest prompt
 * rate of the tier its size falls in (input, or a cache write, which costs more on Anthropic), and `outputTokens` at
 * the highest output rate (the answer's, thinking mode's, reasoning's). What a budget reserves before a call, so that
 * the real cost never comes out above it.
 *
 * @example
 * ```ts
 * const price = toModelPrice({ vendor: 'openai', model: 'gpt-4o-mini', currency: 'USD', input: 0.15, output: 0.6 });
 * worstCaseCost(price, 1_000, 4_096); // prompt at $0.15/M + 4,096 output tokens at $0.60/M
 * ```
 */
export function worstCaseCost(price: ModelPrice, promptTokens: number, outputTokens: number): Money {
  const prompt = count(promptTokens, 'promptTokens');
  const output = price.mode === 'embedding' ? 0 : count(outputTokens, 'outputTokens');
  const { rates } = ratesFor(price, prompt);
  const promptRate = Math.max(rates.input, rates.cacheWrite5m ?? 0, rates.cacheWrite1h ?? 0);
  const outputRate = Math.max(rates.output, rates.outputThinking ?? 0, rates.reasoning ?? 0);
  return {
    amount: BigInt(prompt) * BigInt(promptRate) + BigInt(output) * BigInt(outputRate),
    currency: price.currency,
  };
}
