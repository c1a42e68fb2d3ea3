import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costOf } from './cost-of.ts';
import { isCostError } from './cost-error.ts';
import { importLiteLLMPrices, LITELLM_MIN_MODELS, parseLiteLLMPrices } from './litellm-import.ts';
import { moneyToNumber } from './money.ts';
import type { ModelPrice, PriceTier } from './model-price.ts';
import { builtInPrices, createPriceCatalog } from './price-catalog.ts';

// A file in LiteLLM's format, written by hand: real entries' shapes plus the odd ones (sample_spec, non-chat modes,
// missing and null prices, tiered_pricing, a non-object entry, float noise).
const FIXTURE = fileURLToPath(new URL('./__fixtures__/litellm-prices.json', import.meta.url));

async function kindOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isCostError(error) ? error.kind : `not a CostError: ${String(error)}`;
  }
  return undefined;
}

// gw's vendor kinds as LiteLLM names its providers (the importer maps them back); others keep their name.
const LITELLM_PROVIDER: Readonly<Record<string, string>> = {
  'azure-openai': 'azure',
  zhipu: 'zai',
  doubao: 'volcengine',
};

/**
 * A price as LiteLLM's file writes it: USD per token as a float, its provider and mode, the prompt-size tiers as
 * `…_above_<N>k_tokens` fields, plus the capability flags real entries carry. The key is `provider/model` except for
 * OpenAI, as in LiteLLM's file.
 */
function toLiteLLMEntry(price: ModelPrice): [key: string, entry: Record<string, unknown>] {
  const provider = LITELLM_PROVIDER[price.vendor] ?? price.vendor;
  const perToken = (rate: number | undefined) => (rate === undefined ? undefined : rate / 1e12);
  const entry: Record<string, unknown> = {
    litellm_provider: provider,
    mode: price.mode,
    input_cost_per_token: perToken(price.input),
    output_cost_per_token: price.mode === 'chat' ? perToken(price.output) : undefined,
    cache_read_input_token_cost: perToken(price.cachedInput),
    cache_creation_input_token_cost: perToken(price.cacheWrite5m),
    cache_creation_input_token_cost_above_1hr: perToken(price.cacheWrite1h),
    output_cost_per_reasoning_token: perToken(price.reasoning),
    max_input_tokens: price.contextWindow,
    max_output_tokens: price.maxOutputTokens,
    max_tokens: price.maxOutputTokens,
    supports_function_calling: price.mode === 'chat',
    supports_prompt_caching: price.cachedInput !== undefined,
  };
  for (const tier of price.tiers ?? []) {
    const above = `above_${tier.above / 1000}k_tokens`;
    entry[`input_cost_per_token_${above}`] = perToken(tier.input);
    entry[`output_cost_per_token_${above}`] = perToken(tier.output);
    entry[`cache_read_input_token_cost_${above}`] = perToken(tier.cachedInput);
    entry[`cache_creation_input_token_cost_${above}`] = perToken(tier.cacheWrite5m);
  }
  return [provider === 'openai' ? price.model : `${provider}/${price.model}`, JSON.parse(JSON.stringify(entry))];
}

// What LiteLLM's format can say about a price (it has no thinking-mode output price, and a tier lists only input,
// output, cache reads and 5-minute writes).
function expressible(price: ModelPrice) {
  const tier = (t: PriceTier) => [t.above, t.input, t.output, t.cachedInput, t.cacheWrite5m];
  return {
    id: `${price.vendor}/${price.model}`,
    mode: price.mode,
    rates: [price.input, price.output, price.cachedInput, price.cacheWrite5m, price.cacheWrite1h, price.reasoning],
    tiers: price.tiers?.map(tier),
    limits: [price.contextWindow, price.maxOutputTokens],
  };
}

describe('importLiteLLMPrices', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'gw-cost-litellm-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it(`refuses a file with fewer than ${LITELLM_MIN_MODELS} usable models by default, saying so`, async () => {
    await expect(importLiteLLMPrices(FIXTURE)).rejects.toThrow(
      /yielded 26 usable models, fewer than the 50 required \(minModels\)/,
    );
    expect(await kindOf(importLiteLLMPrices(FIXTURE))).toBe('too_few_models');
  });

  it('keeps chat, completion, responses and embedding entries with prices, and skips the rest', async () => {
    const prices = await importLiteLLMPrices(FIXTURE, { minModels: 20, readOn: '2026-12-03' });
    const ids = prices.map((price) => `${price.vendor}/${price.model}`);
    expect(ids).toHaveLength(26);
    expect(ids).toEqual(
      expect.arrayContaining([
        'openai/gpt-4o',
        'openai/o3-pro', // mode responses
        'openai/gpt-3.5-turbo-instruct', // mode completion, text-completion-openai
        'azure-openai/gpt-4o',
        'anthropic/claude-sonnet-4-5',
        'gemini/gemini-2.5-pro',
        'bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0',
        'bedrock/us.amazon.nova-pro-v1:0',
        'deepseek/deepseek-chat',
        'zhipu/glm-4.6',
        'xai/grok-4', // unknown providers keep LiteLLM's name
        'ollama/llama3.1', // zero is a price when LiteLLM says zero
      ]),
    );
    for (const skipped of [
      'sample_spec',
      'dall-e-3',
      'whisper-1',
      'tts-1',
      'omni-moderation-latest',
      'rerank-english-v3.0',
    ]) {
      expect(
        ids.some((id) => id.endsWith(`/${skipped}`)),
        skipped,
      ).toBe(false);
    }
    // No price is invented: missing or null prices, and tiered_pricing (Qwen), are left out.
    expect(ids).not.toContain('openrouter/some-model-without-output-price');
    expect(ids).not.toContain('together_ai/null-prices');
    expect(ids).not.toContain('dashscope/qwen-plus');
    const embedding = prices.find((price) => price.model === 'mistral-embed');
    expect(embedding).toMatchObject({ mode: 'embedding', input: 100_000, output: 0 });
    expect(prices[0]?.source).toMatchObject({ basis: 'litellm', readOn: '2026-12-03' });
  });

  it('converts per-token USD to per-1M rates, tiers and cache writes included', async () => {
    const prices = await importLiteLLMPrices(FIXTURE, { minModels: 1 });
    const sonnet = prices.find((price) => price.model === 'claude-sonnet-4-5');
    expect(sonnet).toMatchObject({
      currency: 'USD',
      input: 3_000_000,
      output: 15_000_000,
      cachedInput: 300_000,
      cacheWrite5m: 3_750_000,
      cacheWrite1h: 6_000_000,
      contextWindow: 200_000,
      maxOutputTokens: 64_000,
    });
    expect(sonnet?.tiers).toEqual([
      {
        above: 200_000,
        input: 6_000_000,
        output: 22_500_000,
        cachedInput: 600_000,
        cacheWrite5m: 7_500_000,
        cacheWrite1h: 6_000_000,
        reasoning: undefined,
      },
    ]);
    // 3.0000000000000004e-6 per token is float noise for $3 per million.
    expect(prices.find((price) => price.model === 'grok-4')?.input).toBe(3_000_000);
    expect(prices.find((price) => price.model === 'gemini-2.5-flash')?.reasoning).toBe(2_500_000);
  });

  it('round-trips: the imported prices cost what LiteLLM per-token numbers imply', async () => {
    const raw: Record<string, Record<string, unknown>> = JSON.parse(await readFile(FIXTURE, 'utf8'));
    const prices = await importLiteLLMPrices(FIXTURE, { minModels: 1 });
    const usage = {
      prompt_tokens: 123_457,
      completion_tokens: 9_876,
      prompt_tokens_details: { cached_tokens: 23_456 },
    };
    for (const price of prices) {
      const entry = Object.entries(raw).find(([key]) => key === price.model || key.endsWith(`/${price.model}`))?.[1];
      if (entry === undefined) throw new Error(`no fixture entry for ${price.model}`);
      const perToken = (field: string): number => (typeof entry[field] === 'number' ? entry[field] : 0);
      const inputRate = perToken('input_cost_per_token');
      const cachedRate =
        typeof entry.cache_read_input_token_cost === 'number' ? entry.cache_read_input_token_cost : inputRate;
      const outputRate = price.mode === 'embedding' ? 0 : perToken('output_cost_per_token');
      // Picodollars from LiteLLM's floats, rounded once: an independent path to the same integers.
      const pico = (rate: number, tokens: number): bigint => BigInt(Math.round(rate * 1e12)) * BigInt(tokens);
      const completion = price.mode === 'embedding' ? 0 : usage.completion_tokens;
      const expected =
        pico(inputRate, usage.prompt_tokens - usage.prompt_tokens_details.cached_tokens) +
        pico(cachedRate, usage.prompt_tokens_details.cached_tokens) +
        pico(outputRate, completion);
      const cost = costOf(usage, price);
      expect(cost.total.amount, price.model).toBe(expected);
      const floatCost =
        (usage.prompt_tokens - usage.prompt_tokens_details.cached_tokens) * inputRate +
        usage.prompt_tokens_details.cached_tokens * cachedRate +
        completion * outputRate;
      expect(moneyToNumber(cost.total), price.model).toBeCloseTo(floatCost, 10);
    }
  });

  it('round-trips the bundled catalog: every USD price written as a LiteLLM file imports to the same rates', async () => {
    const bundled = builtInPrices().filter(
      (price) =>
        price.currency === 'USD' &&
        price.outputThinking === undefined &&
        (price.tiers ?? []).every((tier) => tier.above % 1000 === 0 && tier.cacheWrite1h === price.cacheWrite1h),
    );
    expect(bundled.length).toBeGreaterThan(LITELLM_MIN_MODELS);
    const file = join(directory, 'model_prices_and_context_window.json');
    const sampleSpec = { litellm_provider: 'one of https://docs.litellm.ai/docs/providers', mode: 'one of: chat, …' };
    const image = { litellm_provider: 'openai', mode: 'image_generation', output_cost_per_image: 0.04 };
    await writeFile(
      file,
      JSON.stringify(
        { sample_spec: sampleSpec, ...Object.fromEntries(bundled.map(toLiteLLMEntry)), 'dall-e-3': image },
        null,
        4,
      ),
    );
    const imported = await importLiteLLMPrices(file);
    expect(imported.map(expressible)).toEqual(bundled.map(expressible));
    // And they cost the same, to the unit, for a usage that touches every token class.
    const usage = {
      prompt_tokens: 250_000,
      completion_tokens: 4_000,
      prompt_tokens_details: { cached_tokens: 100_000, cache_creation_tokens: 20_000, cache_creation_1h_tokens: 5_000 },
      completion_tokens_details: { reasoning_tokens: 1_000 },
    };
    imported.forEach((price, index) => {
      const original = bundled[index] as ModelPrice;
      expect(costOf(usage, price).total, `${price.vendor}/${price.model}`).toEqual(costOf(usage, original).total);
    });
  });

  it('feeds a catalog, ahead of the bundled prices or instead of them', async () => {
    const imported = await importLiteLLMPrices(FIXTURE, { minModels: 1 });
    const catalog = createPriceCatalog({ prices: imported });
    expect(catalog.lookup({ vendor: 'bedrock', model: 'anthropic.claude-3-5-sonnet-20241022-v2:0' })?.input).toBe(
      3_000_000,
    );
    expect(catalog.lookup({ vendor: 'openai', model: 'gpt-4o-mini-2024-07-18' })?.model).toBe('gpt-4o-mini-2024-07-18');
  });

  it('refuses files that are not LiteLLM price files with a typed error', async () => {
    const notJson = join(directory, 'not.json');
    await writeFile(notJson, '<html>502 Bad Gateway</html>');
    expect(await kindOf(importLiteLLMPrices(notJson))).toBe('import_failed');
    const array = join(directory, 'array.json');
    await writeFile(array, '[1, 2, 3]');
    expect(await kindOf(importLiteLLMPrices(array))).toBe('import_failed');
    expect(await kindOf(importLiteLLMPrices(join(directory, 'missing.json')))).toBe('import_failed');
    expect(() => parseLiteLLMPrices({}, { minModels: 1 })).toThrow(
      /yielded 0 usable models, fewer than the 1 required/,
    );
  });

  it('stops reading when the signal aborts', async () => {
    const controller = new AbortController();
    const reason = new Error('shutting down');
    controller.abort(reason);
    await expect(importLiteLLMPrices(FIXTURE, { signal: controller.signal })).rejects.toBe(reason);
  });
});
