import { describe, expect, it } from 'vitest';
import { CATALOG_FILES, catalogFileSchema } from './catalog-data.ts';
import { builtInPrices } from './price-catalog.ts';

// Every vendor kind gw has an adapter for that bills per token (ollama, vllm and openai-compatible are the
// caller's own servers: they get prices through overrides).
const VENDOR_KINDS = [
  'openai',
  'azure-openai',
  'anthropic',
  'gemini',
  'bedrock',
  'deepseek',
  'moonshot',
  'zhipu',
  'dashscope',
  'qianfan',
  'hunyuan',
  'doubao',
  'mistral',
  'groq',
];

describe('the bundled catalog', () => {
  it.each(CATALOG_FILES.map((file, index) => [index, file] as const))(
    'file %i matches the catalog schema',
    (_, file) => {
      const parsed = catalogFileSchema.safeParse(file);
      expect(parsed.success ? 'valid' : parsed.error.message).toBe('valid');
    },
  );

  it('has one file per vendor kind', () => {
    const vendors = CATALOG_FILES.map((file) => catalogFileSchema.parse(file).vendor);
    expect(vendors.toSorted()).toEqual(VENDOR_KINDS.toSorted());
  });

  it('converts every entry, with a source page and the day it was read', () => {
    const prices = builtInPrices();
    expect(prices.length).toBeGreaterThan(100);
    for (const price of prices) {
      expect(price.source?.url, `${price.vendor}/${price.model}`).toMatch(/^https:\/\//);
      expect(price.source?.readOn, `${price.vendor}/${price.model}`).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });

  it('holds chat and embedding models, in USD and CNY as the vendors publish', () => {
    const prices = builtInPrices();
    expect(prices.filter((price) => price.mode === 'embedding').length).toBeGreaterThanOrEqual(8);
    const currencies = new Map(prices.map((price) => [price.vendor, price.currency]));
    expect(Object.fromEntries(currencies)).toMatchObject({
      openai: 'USD',
      anthropic: 'USD',
      deepseek: 'USD',
      zhipu: 'CNY',
      dashscope: 'CNY',
      qianfan: 'CNY',
      hunyuan: 'CNY',
      doubao: 'CNY',
    });
  });

  it('lists Anthropic 5-minute and 1-hour cache writes and cache reads for every Claude model', () => {
    for (const price of builtInPrices().filter((entry) => entry.vendor === 'anthropic')) {
      expect(price.cacheWrite5m, price.model).toBeGreaterThan(price.input);
      expect(price.cacheWrite1h, price.model).toBeGreaterThan(price.cacheWrite5m ?? 0);
      expect(price.cachedInput, price.model).toBeLessThan(price.input);
    }
  });

  it('has the prompt-size tiers the vendors publish', () => {
    const tiersOf = (vendor: string, model: string): number[] | undefined =>
      builtInPrices()
        .find((price) => price.vendor === vendor && price.model === model)
        ?.tiers?.map((tier) => tier.above);
    expect(tiersOf('gemini', 'gemini-2.5-pro')).toEqual([200_000]);
    expect(tiersOf('dashscope', 'qwen-plus')).toEqual([128_000, 256_000]);
    expect(tiersOf('doubao', 'doubao-seed-1-6')).toEqual([32_000, 128_000]);
    expect(tiersOf('anthropic', 'claude-haiku-5-5')).toEqual([100_000]);
  });

  it('includes the widely used older models gateways still see', () => {
    const ids = new Set(builtInPrices().map((price) => `${price.vendor}/${price.model}`));
    for (const id of [
      'openai/gpt-4o',
      'openai/gpt-4o-mini',
      'openai/gpt-4.1',
      'openai/gpt-4.1-mini',
      'openai/o3',
      'openai/o4-mini',
      'openai/text-embedding-3-small',
      'openai/text-embedding-3-large',
      'anthropic/claude-3-5-sonnet',
      'anthropic/claude-3-7-sonnet',
      'anthropic/claude-sonnet-4-5',
      'gemini/gemini-2.0-flash',
      'gemini/gemini-2.5-flash',
      'gemini/gemini-2.5-pro',
      'deepseek/deepseek-chat',
      'deepseek/deepseek-reasoner',
      'zhipu/glm-4-flash',
      'zhipu/glm-4.5',
      'dashscope/qwen-turbo',
      'dashscope/qwen-plus',
      'dashscope/qwen-max',
    ]) {
      expect(ids.has(id), id).toBe(true);
    }
  });
});
