// pricing.catalog over real HTTP: a LiteLLM model_prices_and_context_window.json read at start, preferred over the
// bundled catalog, and a file too small to be LiteLLM's refused before the gateway listens.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { builtInPrices } from '@gw/cost';
import { waitFor } from '@gw/test-kit';
import { describe, expect, it } from 'vitest';
import type { RequestOutcome } from '../settle/settle-once.ts';
import {
  chatBody,
  gatewayPerTest,
  NO_RETRIES,
  postJson,
  startTestGateway,
  TEST_VENDOR_KEY,
  testDirectory,
} from '../test-helpers.ts';

const start = gatewayPerTest();

const VENDORS: ReadonlySet<string> = new Set(['openai', 'anthropic', 'gemini', 'deepseek']);

/** Some bundled prices as LiteLLM's file writes them: USD per token, provider, mode, limits, capability flags. */
function bundledAsLiteLLM(): Record<string, Record<string, unknown>> {
  const entries: Record<string, Record<string, unknown>> = {};
  for (const price of builtInPrices()) {
    if (!VENDORS.has(price.vendor)) continue;
    entries[price.vendor === 'openai' ? price.model : `${price.vendor}/${price.model}`] = {
      litellm_provider: price.vendor,
      mode: price.mode,
      input_cost_per_token: price.input / 1e12,
      ...(price.mode === 'chat' ? { output_cost_per_token: price.output / 1e12 } : {}),
      ...(price.cachedInput === undefined ? {} : { cache_read_input_token_cost: price.cachedInput / 1e12 }),
      max_input_tokens: price.contextWindow,
      max_output_tokens: price.maxOutputTokens,
      supports_function_calling: price.mode === 'chat',
    };
  }
  return entries;
}

async function writeCatalog(name: string, entries: Record<string, unknown>): Promise<string> {
  const path = join(testDirectory(), name);
  await writeFile(path, JSON.stringify(entries, null, 4));
  return path;
}

describe('pricing.catalog: a LiteLLM price file', () => {
  it('prices answers by the file, ahead of the bundled catalog; what it does not list keeps the bundled price', async () => {
    const catalog = await writeCatalog('prices.json', {
      sample_spec: { litellm_provider: 'one of https://docs.litellm.ai/docs/providers', mode: 'one of: chat, …' },
      ...bundledAsLiteLLM(),
      // A price the bundled catalog has differently (the file is newer), and a model only the file knows.
      'gpt-4o': {
        litellm_provider: 'openai',
        mode: 'chat',
        input_cost_per_token: 2e-6,
        output_cost_per_token: 8e-6,
        cache_read_input_token_cost: 1e-6,
      },
      'ft:gpt-4o-mini-2024-07-18': {
        litellm_provider: 'openai',
        mode: 'chat',
        input_cost_per_token: 3e-7,
        output_cost_per_token: 1.2e-6,
        cache_read_input_token_cost: 1.5e-7,
      },
      'dall-e-3': { litellm_provider: 'openai', mode: 'image_generation', output_cost_per_image: 0.04 },
    });
    const settled: RequestOutcome[] = [];
    const t = await start({
      config: (upstream) => ({
        providers: [
          { id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl },
          { id: 'fast', kind: 'groq', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl },
        ],
        models: [
          { name: 'newer', targets: [{ provider: 'up', model: 'gpt-4o' }] },
          { name: 'tuned', targets: [{ provider: 'up', model: 'ft:gpt-4o-mini-2024-07-18' }] },
          { name: 'same', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] },
          { name: 'bundled', targets: [{ provider: 'fast', model: 'llama-3.1-8b-instant' }] },
        ],
        pricing: { catalog },
        ...NO_RETRIES,
      }),
      settle: (outcome) => void settled.push(outcome),
    });
    t.upstream.setDefault({ type: 'chat', usage: { prompt_tokens: 1000, completion_tokens: 100, cached_tokens: 400 } });
    const headers: string[] = [];
    for (const model of ['newer', 'tuned', 'same', 'bundled']) {
      const response = await postJson(`${t.url}/v1/chat/completions`, chatBody(model));
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      headers.push(response.headers.get('x-gw-cost') ?? '');
    }
    // 600 input, 400 cached and 100 output tokens at the per-1M rates, in 10^-12 dollars.
    const expected = [
      2_400_000_000n, // the file's $2 / $1 / $8 for gpt-4o, not the bundled $2.50 / $1.25 / $10
      360_000_000n, // $0.30 / $0.15 / $1.20: only the file knows the fine-tune
      180_000_000n, // $0.15 / $0.075 / $0.60, the same in both
      58_000_000n, // Groq, not in the file: the bundled $0.05 / $0.08, cache reads billed as input
    ];
    expect(headers).toEqual(expected.map((amount) => String(Number(amount) / 1e12)));
    await waitFor(() => settled.length === 4);
    expect(settled.map((outcome) => outcome.cost?.total.amount)).toEqual(expected);
  });

  it('refuses to start on a file that is not LiteLLM’s whole price list, saying why', async () => {
    const catalog = await writeCatalog('truncated.json', {
      'gpt-4o': { litellm_provider: 'openai', mode: 'chat', input_cost_per_token: 2.5e-6, output_cost_per_token: 1e-5 },
    });
    await expect(startTestGateway({ config: { pricing: { catalog } } })).rejects.toThrow(
      /yielded 1 usable models, fewer than the 50 required/,
    );
    const missing = join(testDirectory(), 'missing.json');
    await expect(startTestGateway({ config: { pricing: { catalog: missing } } })).rejects.toThrow(
      /cannot read the LiteLLM price file/,
    );
  });
});
