import { describe, expect, it } from 'vitest';
import { isCostError } from './cost-error.ts';
import { toModelPrice } from './model-price.ts';
import { createPriceCatalog, lookupPrice } from './price-catalog.ts';

function found(vendor: string, model: string): string | undefined {
  const price = lookupPrice({ vendor, model });
  return price === undefined ? undefined : `${price.vendor}/${price.model}`;
}

describe('lookupPrice', () => {
  it.each([
    ['openai', 'gpt-4o-mini-2024-07-18', 'openai/gpt-4o-mini'],
    ['openai', 'gpt-4.1-2025-04-14', 'openai/gpt-4.1'],
    ['openai', 'GPT-4o', 'openai/gpt-4o'],
    ['anthropic', 'claude-3-5-sonnet-20241022', 'anthropic/claude-3-5-sonnet'],
    ['anthropic', 'claude-3-7-sonnet-latest', 'anthropic/claude-3-7-sonnet'],
    ['anthropic', 'claude-sonnet-4-20250514', 'anthropic/claude-sonnet-4'],
    ['anthropic', 'claude-opus-4-0', 'anthropic/claude-opus-4'],
    ['bedrock', 'anthropic.claude-3-5-sonnet-20241022-v2:0', 'bedrock/anthropic.claude-3-5-sonnet'],
    ['bedrock', 'us.anthropic.claude-sonnet-4-20250514-v1:0', 'bedrock/anthropic.claude-sonnet-4'],
    ['bedrock', 'eu.anthropic.claude-haiku-4-5-20251001-v1:0', 'bedrock/anthropic.claude-haiku-4-5'],
    ['bedrock', 'amazon.nova-pro-v1:0', 'bedrock/amazon.nova-pro'],
    ['bedrock', 'amazon.titan-embed-text-v2:0', 'bedrock/amazon.titan-embed-text'],
    ['gemini', 'models/gemini-2.5-flash', 'gemini/gemini-2.5-flash'],
    ['gemini', 'gemini-3-flash-preview', 'gemini/gemini-3-flash-preview'],
    ['doubao', 'doubao-seed-1-6-250615', 'doubao/doubao-seed-1-6'],
    ['hunyuan', 'hunyuan-2.0-thinking-20251109', 'hunyuan/hunyuan-2.0-thinking'],
    ['azure-openai', 'gpt-35-turbo', 'azure-openai/gpt-35-turbo'],
    ['groq', 'openai/gpt-oss-120b', 'groq/openai/gpt-oss-120b'],
  ])('%s %s → %s', (vendor, model, expected) => {
    expect(found(vendor, model)).toBe(expected);
  });

  it('never guesses across model families: a miss is undefined, not a neighbour and not zero', () => {
    expect(found('openai', 'gpt-4o-mini-search-preview')).toBeUndefined();
    expect(found('openai', 'gpt-4o-realtime')).toBeUndefined();
    expect(found('anthropic', 'claude-sonnet-9')).toBeUndefined();
    expect(found('openai', 'claude-3-5-sonnet')).toBeUndefined(); // right model, wrong vendor
  });

  it('leaves kinds without a catalog unpriced unless a base model is named', () => {
    expect(found('vllm', 'deepseek-v4-flash')).toBeUndefined();
    expect(lookupPrice({ vendor: 'vllm', model: 'served-name', baseModel: 'deepseek-v4-flash' })?.vendor).toBe(
      'deepseek',
    );
  });

  it("prices an Azure deployment by its base model and keeps Azure's vendor", () => {
    const price = lookupPrice({ vendor: 'azure-openai', model: 'prod-chat-eastus', baseModel: 'gpt-4.1-2025-04-14' });
    expect(price?.vendor).toBe('azure-openai');
    expect(price?.model).toBe('gpt-4.1');
    expect(price?.input).toBe(lookupPrice({ vendor: 'openai', model: 'gpt-4.1' })?.input);
    expect(lookupPrice({ vendor: 'azure-openai', model: 'prod-chat-eastus' })).toBeUndefined();
  });

  it('takes a base model at another vendor', () => {
    const price = lookupPrice({
      vendor: 'ollama',
      model: 'qwen',
      baseModel: { vendor: 'dashscope', model: 'qwen-plus' },
    });
    expect(price?.currency).toBe('CNY');
  });
});

describe('createPriceCatalog', () => {
  it('lets overrides win over the bundled prices', () => {
    const catalog = createPriceCatalog({
      overrides: [{ vendor: 'openai', model: 'gpt-4o', currency: 'USD', input: '2.00', output: 8 }],
    });
    expect(catalog.lookup({ vendor: 'openai', model: 'gpt-4o-2024-08-06' })?.input).toBe(2_000_000);
    expect(catalog.lookup({ vendor: 'openai', model: 'gpt-4o-mini' })?.input).toBe(150_000);
  });

  it('applies an override without a vendor to every vendor, e.g. a self-hosted model', () => {
    const catalog = createPriceCatalog({
      overrides: [{ model: 'llama3.3', aliases: ['llama3.3:70b'], currency: 'USD', input: 0, output: 0 }],
    });
    expect(catalog.lookup({ vendor: 'ollama', model: 'llama3.3:70b' })?.output).toBe(0);
    expect(catalog.lookup({ vendor: 'vllm', model: 'llama3.3' })?.model).toBe('llama3.3');
  });

  it('refuses an invalid override with a typed error that names the model and field', () => {
    try {
      createPriceCatalog({ overrides: [{ model: 'bad', currency: 'USD', input: 0.0000001, output: 1 }] });
      expect.unreachable();
    } catch (error) {
      expect(isCostError(error) && error.kind).toBe('invalid_price');
      expect(String(error)).toMatch(/bad: input 1e-7 is not a non-negative price with at most 6 decimals/);
    }
    expect(() => createPriceCatalog({ overrides: [{ model: 'chat', currency: 'USD', input: 1 }] })).toThrow(
      /a chat model needs an output price/,
    );
  });

  it('uses the given prices instead of the bundled ones', () => {
    const own = toModelPrice({ vendor: 'openai', model: 'gpt-4o', currency: 'USD', input: 9, output: 9 });
    const catalog = createPriceCatalog({ prices: [own] });
    expect(catalog.lookup({ vendor: 'openai', model: 'gpt-4o' })?.input).toBe(9_000_000);
    expect(catalog.lookup({ vendor: 'openai', model: 'gpt-4o-mini' })).toBeUndefined();
    expect(catalog.list()).toEqual([own]);
  });

  it('lists one vendor with the overrides that apply to it', () => {
    const catalog = createPriceCatalog({ overrides: [{ model: 'x', currency: 'USD', input: 1, output: 1 }] });
    const deepseek = catalog.list('deepseek').map((price) => price.model);
    expect(deepseek).toContain('deepseek-v4-flash');
    expect(deepseek).toContain('x');
    expect(deepseek).not.toContain('gpt-4o');
  });
});
