import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { costOf, type UsageLike, worstCaseCost } from './cost-of.ts';
import { isCostError } from './cost-error.ts';
import { type ModelPrice, toModelPrice } from './model-price.ts';
import { addMoney, formatMoney, moneyToNumber, zeroMoney } from './money.ts';
import { lookupPrice } from './price-catalog.ts';

function price(input: Parameters<typeof toModelPrice>[0]): ModelPrice {
  return toModelPrice(input);
}

const claude = price({
  vendor: 'anthropic',
  model: 'claude-like',
  currency: 'USD',
  input: 3,
  output: 15,
  cachedInput: 0.3,
  cacheWrite5m: 3.75,
  cacheWrite1h: 6,
});

function invalidUsageMessage(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isCostError(error) && error.kind === 'invalid_usage' ? error.message : 'wrong error';
  }
  return undefined;
}

// A usage whose parts fit its whole: cache reads and writes within the prompt, reasoning within the completion.
const usages = fc
  .record({
    prompt: fc.nat({ max: 2_000_000 }),
    completion: fc.nat({ max: 200_000 }),
    cachedShare: fc.double({ min: 0, max: 1, noNaN: true }),
    writeShare: fc.double({ min: 0, max: 1, noNaN: true }),
    hourShare: fc.double({ min: 0, max: 1, noNaN: true }),
    reasoningShare: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ prompt, completion, cachedShare, writeShare, hourShare, reasoningShare }) => {
    const cached = Math.floor(prompt * cachedShare);
    const writes = Math.floor((prompt - cached) * writeShare);
    return {
      prompt_tokens: prompt,
      completion_tokens: completion,
      prompt_tokens_details: {
        cached_tokens: cached,
        cache_creation_tokens: writes,
        cache_creation_1h_tokens: Math.floor(writes * hourShare),
      },
      completion_tokens_details: { reasoning_tokens: Math.floor(completion * reasoningShare) },
    };
  });

describe('costOf', () => {
  it('bills each token class once: input = prompt - cache reads - cache writes', () => {
    // gw's canonical usage of an Anthropic answer: input 100 + cache read 1000 + cache write 400 (100 of them 1h).
    const usage: UsageLike = {
      prompt_tokens: 1500,
      completion_tokens: 200,
      prompt_tokens_details: { cached_tokens: 1000, cache_creation_tokens: 400, cache_creation_1h_tokens: 100 },
    };
    const cost = costOf(usage, claude);
    expect(cost.tokens).toEqual({
      input: 100,
      cachedInput: 1000,
      cacheWrite5m: 300,
      cacheWrite1h: 100,
      output: 200,
      reasoning: 0,
    });
    expect(formatMoney(cost.input)).toBe('0.0003'); // 100 × $3 / 1M
    expect(formatMoney(cost.cachedInput)).toBe('0.0003'); // 1000 × $0.30
    expect(formatMoney(cost.cacheWrite5m)).toBe('0.001125'); // 300 × $3.75
    expect(formatMoney(cost.cacheWrite1h)).toBe('0.0006'); // 100 × $6
    expect(formatMoney(cost.output)).toBe('0.003'); // 200 × $15
    expect(cost.reasoning).toBeUndefined();
    expect(formatMoney(cost.total)).toBe('0.005325');
    expect(cost.currency).toBe('USD');
  });

  it("accepts gw's canonical usage object as it is, null details included", () => {
    const canonical = {
      prompt_tokens: 12,
      completion_tokens: 30,
      total_tokens: 42,
      prompt_tokens_details: null,
      completion_tokens_details: { reasoning_tokens: null, audio_tokens: 0 },
      prompt_cache_hit_tokens: 0, // a vendor extra, passed through by the canonical schema
    };
    expect(formatMoney(costOf(canonical, claude).total)).toBe('0.000486'); // 12 × 3 + 30 × 15, per million
  });

  it('bills reasoning tokens at the output price, inside completion_tokens, never twice', () => {
    const o = price({ model: 'o-like', currency: 'USD', input: 1, output: 4 });
    const cost = costOf(
      { prompt_tokens: 0, completion_tokens: 1000, completion_tokens_details: { reasoning_tokens: 800 } },
      o,
    );
    expect(cost.tokens.output).toBe(1000);
    expect(cost.reasoning).toBeUndefined();
    expect(formatMoney(cost.total)).toBe('0.004');
  });

  it('moves reasoning tokens to their own line when the price lists reasoning apart', () => {
    const apart = price({ model: 'r-like', currency: 'USD', input: 1, output: 4, reasoning: 2 });
    const cost = costOf({ completion_tokens: 1000, completion_tokens_details: { reasoning_tokens: 800 } }, apart);
    expect(cost.tokens).toMatchObject({ output: 200, reasoning: 800 });
    expect(formatMoney(cost.output)).toBe('0.0008');
    expect(cost.reasoning && formatMoney(cost.reasoning)).toBe('0.0016');
    expect(formatMoney(cost.total)).toBe('0.0024');
  });

  it('bills the whole request at the tier its prompt size falls in (Gemini 2.5 Pro above 200k)', () => {
    const gemini = lookupPrice({ vendor: 'gemini', model: 'gemini-2.5-pro' });
    if (gemini === undefined) throw new Error('gemini-2.5-pro is in the catalog');
    const small = costOf({ prompt_tokens: 200_000, completion_tokens: 1000 }, gemini);
    expect(small.tier).toBe(0);
    expect(formatMoney(small.total)).toBe('0.26'); // 200k × 1.25 + 1k × 10
    const large = costOf(
      { prompt_tokens: 200_001, completion_tokens: 1000, prompt_tokens_details: { cached_tokens: 1 } },
      gemini,
    );
    expect(large.tier).toBe(200_000);
    // every token at the upper tier, output included: 200k × 2.50 + 1 cached × 0.25 + 1k × 15
    expect(formatMoney(large.total)).toBe('0.51500025');
  });

  it("bills Qwen's thinking mode at its thinking output price, on the tier of the prompt", () => {
    const qwen = lookupPrice({ vendor: 'dashscope', model: 'qwen-plus' });
    if (qwen === undefined) throw new Error('qwen-plus is in the catalog');
    expect(qwen.currency).toBe('CNY');
    const plain = costOf({ prompt_tokens: 1000, completion_tokens: 1000 }, qwen);
    expect(formatMoney(plain.total)).toBe('0.0028'); // 1000 × 0.8 + 1000 × 2 CNY per million
    const thinking = costOf(
      { prompt_tokens: 1000, completion_tokens: 1000, completion_tokens_details: { reasoning_tokens: 600 } },
      qwen,
    );
    expect(formatMoney(thinking.total)).toBe('0.0088'); // 1000 × 0.8 + 1000 × 8
    const forced = costOf({ prompt_tokens: 300_000, completion_tokens: 10 }, qwen, { thinking: true });
    expect(forced.tier).toBe(256_000);
    expect(formatMoney(forced.total)).toBe('1.44064'); // 300k × 4.8 + 10 × 64
  });

  it('bills embeddings for input only', () => {
    const embedding = lookupPrice({ vendor: 'openai', model: 'text-embedding-3-small' });
    if (embedding === undefined) throw new Error('text-embedding-3-small is in the catalog');
    const cost = costOf({ prompt_tokens: 1_000_000, completion_tokens: 5 }, embedding);
    expect(formatMoney(cost.total)).toBe('0.02');
    expect(cost.tokens.output).toBe(0);
  });

  it('falls back to the input price for cache classes the vendor does not price, and 1h writes to 5m writes', () => {
    const plain = price({ model: 'no-cache', currency: 'USD', input: 2, output: 8 });
    const cost = costOf(
      {
        prompt_tokens: 100,
        prompt_tokens_details: { cached_tokens: 50, cache_creation_tokens: 30, cache_creation_1h_tokens: 10 },
      },
      plain,
    );
    expect(formatMoney(cost.total)).toBe('0.0002'); // all 100 prompt tokens at $2
    const fiveMinuteOnly = price({ model: 'w', currency: 'USD', input: 2, output: 8, cacheWrite5m: 2.5 });
    expect(
      formatMoney(
        costOf(
          { prompt_tokens: 10, prompt_tokens_details: { cache_creation_tokens: 10, cache_creation_1h_tokens: 10 } },
          fiveMinuteOnly,
        ).cacheWrite1h,
      ),
    ).toBe('0.000025');
  });

  it('treats missing counts as zero', () => {
    expect(costOf({}, claude).total.amount).toBe(0n);
  });

  it('refuses usage that cannot be billed with a typed error', () => {
    expect(invalidUsageMessage(() => costOf({ prompt_tokens: -1 }, claude))).toMatch(
      /prompt_tokens must be a non-negative integer/,
    );
    expect(invalidUsageMessage(() => costOf({ prompt_tokens: 1.5 }, claude))).toMatch(/non-negative integer/);
    expect(
      invalidUsageMessage(() =>
        costOf({ prompt_tokens: 10, prompt_tokens_details: { cached_tokens: 8, cache_creation_tokens: 3 } }, claude),
      ),
    ).toMatch(/exceed prompt_tokens/);
    expect(
      invalidUsageMessage(() =>
        costOf(
          { prompt_tokens: 10, prompt_tokens_details: { cache_creation_tokens: 3, cache_creation_1h_tokens: 4 } },
          claude,
        ),
      ),
    ).toMatch(/1-hour cache writes/);
    expect(
      invalidUsageMessage(() =>
        costOf({ completion_tokens: 1, completion_tokens_details: { reasoning_tokens: 2 } }, claude),
      ),
    ).toMatch(/reasoning_tokens/);
  });

  it('sums a million requests to exactly the price times the token sums', () => {
    const gpt = lookupPrice({ vendor: 'openai', model: 'gpt-4o-mini' });
    if (gpt === undefined) throw new Error('gpt-4o-mini is in the catalog');
    // A deterministic pseudo-random stream (xorshift), so a failure can be replayed.
    let state = 0x2545f491;
    const next = (bound: number): number => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) % bound;
    };
    let total = zeroMoney('USD');
    let floatTotal = 0;
    let fresh = 0n;
    let cached = 0n;
    let output = 0n;
    for (let request = 0; request < 1_000_000; request += 1) {
      const prompt = next(5000);
      const hit = next(prompt + 1);
      const completion = next(800);
      const cost = costOf(
        { prompt_tokens: prompt, completion_tokens: completion, prompt_tokens_details: { cached_tokens: hit } },
        gpt,
      );
      total = addMoney(total, cost.total);
      floatTotal += moneyToNumber(cost.total);
      fresh += BigInt(prompt - hit);
      cached += BigInt(hit);
      output += BigInt(completion);
    }
    const expected = fresh * BigInt(gpt.input) + cached * BigInt(gpt.cachedInput ?? 0) + output * BigInt(gpt.output);
    expect(total.amount).toBe(expected);
    // The float sum of the same numbers drifts; that is the point of summing Money.
    expect(moneyToNumber(total)).toBeCloseTo(floatTotal, 6);
  });

  it('keeps every line equal to tokens × rate and the total equal to the lines (property)', () => {
    const prices = [
      claude,
      price({ model: 'apart', currency: 'USD', input: 0.5, output: 2, reasoning: 1.5, cachedInput: 0.05 }),
    ];
    fc.assert(
      fc.property(usages, fc.constantFrom(...prices), (request, modelPrice) => {
        const cost = costOf(request, modelPrice);
        const lines = [
          cost.input,
          cost.cachedInput,
          cost.cacheWrite5m,
          cost.cacheWrite1h,
          cost.output,
          cost.reasoning ?? zeroMoney('USD'),
        ];
        expect(lines.reduce(addMoney, zeroMoney('USD'))).toEqual(cost.total);
        const { tokens } = cost;
        expect(tokens.input + tokens.cachedInput + tokens.cacheWrite5m + tokens.cacheWrite1h).toBe(
          request.prompt_tokens,
        );
        expect(tokens.output + tokens.reasoning).toBe(request.completion_tokens);
        expect(cost.input.amount).toBe(BigInt(tokens.input) * BigInt(modelPrice.input));
        expect(cost.output.amount).toBe(BigInt(tokens.output) * BigInt(modelPrice.output));
      }),
    );
  });
});

describe('worstCaseCost', () => {
  const qwen = price({
    vendor: 'qwen',
    model: 'hybrid-like',
    currency: 'CNY',
    input: 2,
    output: 8,
    outputThinking: 20,
    tiers: [{ above: 128_000, input: 6, output: 24, outputThinking: 60 }],
  });
  const o1 = price({ vendor: 'x', model: 'reasoner', currency: 'USD', input: 1, output: 4, reasoning: 12 });

  it('prices the prompt at the dearest prompt rate and the output at the dearest output rate', () => {
    // Claude: 1-hour cache writes ($6/M) are the dearest way to bill a prompt token.
    expect(formatMoney(worstCaseCost(claude, 1_000_000, 1_000_000))).toBe('21');
    // A hybrid billed in thinking mode: the whole completion at 20/M.
    expect(formatMoney(worstCaseCost(qwen, 100_000, 1_000_000))).toBe('20.2');
    // The tier the prompt's size falls in (strictly above 128k).
    expect(formatMoney(worstCaseCost(qwen, 200_000, 1_000_000))).toBe('61.2');
    // Reasoning priced apart above output.
    expect(formatMoney(worstCaseCost(o1, 0, 1_000_000))).toBe('12');
  });

  it('is never below costOf of any usage within those tokens', () => {
    fc.assert(
      fc.property(fc.constantFrom(claude, qwen, o1), usages, fc.boolean(), (model, usage, thinking) => {
        const actual = costOf(usage, model, { thinking }).total.amount;
        expect(worstCaseCost(model, usage.prompt_tokens, usage.completion_tokens).amount).toBeGreaterThanOrEqual(
          actual,
        );
      }),
    );
  });

  it('counts no output for an embedding model, and refuses counts that are not token counts', () => {
    const embedding = price({ vendor: 'openai', model: 'embed-like', currency: 'USD', input: 0.02, mode: 'embedding' });
    expect(worstCaseCost(embedding, 1_000_000, 4_096)).toEqual({ amount: 20_000_000_000n, currency: 'USD' });
    expect(invalidUsageMessage(() => worstCaseCost(claude, -1, 10))).toMatch(/promptTokens/);
    expect(invalidUsageMessage(() => worstCaseCost(claude, 10, 1.5))).toMatch(/outputTokens/);
  });
});
