// What each answer cost, over real HTTP: the vendor's reported usage × the published price, exactly, on JSON,
// streamed and Anthropic-format answers. Prices here are the vendors' published ones (per 1M tokens), written out by
// hand, so a wrong catalog entry or a token class billed twice fails the test.
import type { StandInChatBehaviour, StandInUpstream } from '@gw/providers/testing';
import { sseData, waitFor } from '@gw/test-kit';
import { describe, expect, it } from 'vitest';
import type { RequestOutcome } from '../settle/settle-once.ts';
import { chatBody, gatewayPerTest, NO_RETRIES, postJson, TEST_VENDOR_KEY } from '../test-helpers.ts';

const start = gatewayPerTest();

/** Decimal text of a price per 1M tokens as integer millionths (exact, no float). */
function millionths(price: string): bigint {
  const [whole = '0', fraction = ''] = price.split('.');
  return BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, '0'));
}

/** Σ tokens × price per 1M, in 10^-12 currency units: exact. */
function cost(lines: Array<[tokens: number, perMillion: string]>): bigint {
  return lines.reduce((sum, [tokens, price]) => sum + BigInt(tokens) * millionths(price), 0n);
}

interface Case {
  name: string;
  provider: (upstream: StandInUpstream) => Record<string, unknown>;
  model: string;
  usage: NonNullable<StandInChatBehaviour['usage']>;
  /** The expected cost in 10^-12 units of the reporting currency. */
  expected: bigint;
  pricing?: Record<string, unknown>;
  /** The vendor puts usage on the finish chunk of a stream, unasked (Zhipu). */
  usageOnFinishChunk?: boolean;
}

const openai = (upstream: StandInUpstream) => ({
  id: 'up',
  kind: 'openai',
  apiKey: TEST_VENDOR_KEY,
  baseUrl: upstream.baseUrl,
});

const CASES: Case[] = [
  {
    name: 'gpt-4o-mini with cached tokens ($0.15 in, $0.075 cached, $0.60 out)',
    provider: openai,
    model: 'gpt-4o-mini',
    usage: { prompt_tokens: 1000, completion_tokens: 200, cached_tokens: 400 },
    expected: cost([
      [600, '0.15'],
      [400, '0.075'],
      [200, '0.60'],
    ]),
  },
  {
    name: 'claude-sonnet-4-5 with cache reads and 5-minute and 1-hour writes ($3, $0.30, $3.75, $6, $15)',
    provider: (upstream) => ({ id: 'up', kind: 'anthropic', apiKey: TEST_VENDOR_KEY, baseUrl: `${upstream.url}/v1` }),
    model: 'claude-sonnet-4-5',
    usage: {
      prompt_tokens: 10_000,
      completion_tokens: 500,
      cached_tokens: 4000,
      cache_write_tokens: 3000,
      cache_write_1h_tokens: 1000,
    },
    expected: cost([
      [3000, '3'],
      [4000, '0.30'],
      [2000, '3.75'],
      [1000, '6'],
      [500, '15'],
    ]),
  },
  {
    name: 'gemini-2.5-pro below its 200k tier ($1.25 in, $10 out)',
    provider: (upstream) => ({ id: 'up', kind: 'gemini', apiKey: TEST_VENDOR_KEY, baseUrl: `${upstream.url}/v1beta` }),
    model: 'gemini-2.5-pro',
    usage: { prompt_tokens: 150_000, completion_tokens: 1000 },
    expected: cost([
      [150_000, '1.25'],
      [1000, '10'],
    ]),
  },
  {
    name: 'gemini-2.5-pro above its 200k tier: the whole request at $2.50 in, $15 out',
    provider: (upstream) => ({ id: 'up', kind: 'gemini', apiKey: TEST_VENDOR_KEY, baseUrl: `${upstream.url}/v1beta` }),
    model: 'gemini-2.5-pro',
    usage: { prompt_tokens: 250_000, completion_tokens: 1000 },
    expected: cost([
      [250_000, '2.50'],
      [1000, '15'],
    ]),
  },
  {
    name: 'deepseek-chat, cache hit ($0.14 miss, $0.0028 hit, $0.28 out)',
    provider: (upstream) => ({ id: 'up', kind: 'deepseek', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }),
    model: 'deepseek-chat',
    usage: { prompt_tokens: 2000, completion_tokens: 100, cached_tokens: 1500 },
    expected: cost([
      [500, '0.14'],
      [1500, '0.0028'],
      [100, '0.28'],
    ]),
  },
  {
    name: 'deepseek-chat, cache miss',
    provider: (upstream) => ({ id: 'up', kind: 'deepseek', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }),
    model: 'deepseek-chat',
    usage: { prompt_tokens: 2000, completion_tokens: 100 },
    expected: cost([
      [2000, '0.14'],
      [100, '0.28'],
    ]),
  },
  {
    name: 'glm-4-plus priced in CNY (¥5 / ¥5) and reported in USD at 7.1 CNY per USD',
    provider: (upstream) => ({ id: 'up', kind: 'zhipu', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }),
    model: 'glm-4-plus',
    usage: { prompt_tokens: 1000, completion_tokens: 1000 },
    pricing: { currency: 'USD', rates: { CNY: 7.1 } },
    usageOnFinishChunk: true,
    // ¥0.01 = 10^10 units of 10^-12; / 7.1 = 1408450704.22… rounded half to even once.
    expected: 1_408_450_704n,
  },
];

function configFor(entry: Case) {
  return (upstream: StandInUpstream) => ({
    providers: [entry.provider(upstream)],
    models: [{ name: 'm', targets: [{ provider: 'up', model: entry.model }] }],
    ...(entry.pricing === undefined ? {} : { pricing: entry.pricing }),
    ...NO_RETRIES,
  });
}

/** Starts a gateway on the case's vendor and collects the settled outcomes. */
async function startCase(entry: Case): Promise<{ url: string; upstream: StandInUpstream; settled: RequestOutcome[] }> {
  const settled: RequestOutcome[] = [];
  const t = await start({ config: configFor(entry), settle: (outcome) => void settled.push(outcome) });
  t.upstream.setDefault({
    type: 'chat',
    content: 'priced words',
    usage: entry.usage,
    ...(entry.usageOnFinishChunk === true ? { usageOnFinishChunk: true } : {}),
  });
  return { url: t.url, upstream: t.upstream, settled };
}

const asNumber = (units: bigint): number => Number(units) / 1e12;

describe('the cost of every answer', () => {
  for (const entry of CASES) {
    describe(entry.name, () => {
      it('JSON: usage.cost and x-gw-cost, and the exact amount settled', async () => {
        const { url, settled } = await startCase(entry);
        const response = await postJson(`${url}/v1/chat/completions`, chatBody('m'));
        expect(response.status).toBe(200);
        const body = (await response.json()) as { usage: { cost: number } };
        await waitFor(() => settled.length === 1);
        const outcome = settled[0];
        expect(outcome?.cost?.total.amount).toBe(entry.expected);
        expect(outcome?.cost?.currency).toBe('USD');
        expect(outcome).toMatchObject({
          unpriced: false,
          estimated: false,
          providerId: 'up',
          upstreamModel: entry.model,
        });
        expect(body.usage.cost).toBeCloseTo(asNumber(entry.expected), 15);
        expect(Number(response.headers.get('x-gw-cost'))).toBeCloseTo(asNumber(entry.expected), 15);
      });

      it('stream: the cost in the final usage chunk, settled exactly', async () => {
        const { url, settled } = await startCase(entry);
        const response = await postJson(
          `${url}/v1/chat/completions`,
          chatBody('m', { stream: true, stream_options: { include_usage: true } }),
        );
        const data = sseData(await response.text());
        expect(data.at(-1)).toBe('[DONE]');
        const usageChunk = JSON.parse(data.at(-2) ?? '{}') as { choices: unknown[]; usage: { cost: number } };
        expect(usageChunk.choices).toEqual([]);
        expect(usageChunk.usage.cost).toBeCloseTo(asNumber(entry.expected), 15);
        await waitFor(() => settled.length === 1);
        expect(settled[0]?.cost?.total.amount).toBe(entry.expected);
      });

      it('/v1/messages: the cost in usage, JSON and message_delta', async () => {
        const { url, settled } = await startCase(entry);
        const message = { model: 'm', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] };
        const response = await postJson(`${url}/v1/messages`, message);
        expect(response.status).toBe(200);
        const body = (await response.json()) as { usage: { cost: number } };
        expect(body.usage.cost).toBeCloseTo(asNumber(entry.expected), 15);
        const stream = await postJson(`${url}/v1/messages`, { ...message, stream: true });
        const delta = sseData(await stream.text())
          .map((data) => JSON.parse(data) as { type: string; usage?: { cost?: number } })
          .find((event) => event.type === 'message_delta');
        expect(delta?.usage?.cost).toBeCloseTo(asNumber(entry.expected), 15);
        await waitFor(() => settled.length === 2);
        expect(settled.map((outcome) => outcome.cost?.total.amount)).toEqual([entry.expected, entry.expected]);
      });
    });
  }
});

describe('models without a price', () => {
  it('are flagged, never free: no usage.cost, x-gw-cost: unpriced, unpriced in the outcome, one warning', async () => {
    const settled: RequestOutcome[] = [];
    const t = await start({
      config: (upstream) => ({
        providers: [openai(upstream)],
        models: [{ name: 'm', targets: [{ provider: 'up', model: 'my-own-finetune' }] }],
        ...NO_RETRIES,
      }),
      settle: (outcome) => void settled.push(outcome),
    });
    for (let index = 0; index < 2; index += 1) {
      const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('m'));
      expect(response.headers.get('x-gw-cost')).toBe('unpriced');
      const body = (await response.json()) as { usage: Record<string, unknown> };
      expect(body.usage).not.toHaveProperty('cost');
    }
    await waitFor(() => settled.length === 2);
    expect(settled.every((outcome) => outcome.unpriced && outcome.cost === undefined)).toBe(true);
    expect(t.logs.filter((line) => line.includes('has no price'))).toHaveLength(1);
  });

  it('are priced by pricing.models, by provider-id/model or a bare model name, and by a target’s baseModel', async () => {
    const settled: RequestOutcome[] = [];
    const t = await start({
      config: (upstream) => ({
        providers: [openai(upstream), { ...openai(upstream), id: 'azure-like', kind: 'openai-compatible' }],
        models: [
          { name: 'own', targets: [{ provider: 'up', model: 'my-own-finetune' }] },
          { name: 'bare', targets: [{ provider: 'up', model: 'another-model' }] },
          { name: 'served', targets: [{ provider: 'azure-like', model: 'prod-deployment', baseModel: 'gpt-4o-mini' }] },
        ],
        pricing: {
          models: {
            'up/my-own-finetune': { input: 1, output: 2 },
            'another-model': { input: '0.5', output: '0.5', currency: 'USD' },
          },
        },
        ...NO_RETRIES,
      }),
      settle: (outcome) => void settled.push(outcome),
    });
    t.upstream.setDefault({ type: 'chat', usage: { prompt_tokens: 1000, completion_tokens: 1000 } });
    for (const model of ['own', 'bare', 'served']) {
      expect((await postJson(`${t.url}/v1/chat/completions`, chatBody(model))).status).toBe(200);
    }
    await waitFor(() => settled.length === 3);
    expect(settled.map((outcome) => outcome.cost?.total.amount)).toEqual([
      cost([
        [1000, '1'],
        [1000, '2'],
      ]),
      cost([[2000, '0.5']]),
      cost([
        [1000, '0.15'],
        [1000, '0.60'],
      ]),
    ]);
  });
});

describe('the demo provider', () => {
  it('is priced at 0, not unpriced, even when given the name of a priced model', async () => {
    const settled: RequestOutcome[] = [];
    const t = await start({
      config: () => ({
        providers: [{ id: 'demo', kind: 'demo' }],
        models: [{ name: 'demo', targets: [{ provider: 'demo', model: 'gpt-4o' }] }],
      }),
      settle: (outcome) => void settled.push(outcome),
    });
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('demo'));
    expect(response.headers.get('x-gw-cost')).toBe('0');
    const body = (await response.json()) as { usage: Record<string, unknown> };
    expect(body.usage['cost']).toBe(0);
    await waitFor(() => settled.length === 1);
    expect(settled[0]?.unpriced).toBe(false);
    expect(settled[0]?.cost?.total.amount).toBe(0n);
    expect(t.logs.filter((line) => line.includes('has no price'))).toEqual([]);
  });
});

describe('answers without usage from the vendor', () => {
  it('a stream the client leaves is billed an estimate of its prompt and of what was relayed, marked estimated', async () => {
    const settled: RequestOutcome[] = [];
    const t = await start({ config: configFor(CASES[0] as Case), settle: (outcome) => void settled.push(outcome) });
    t.upstream.enqueue({ type: 'chat', content: 'one two three four five six seven eight', stallAfterChunks: 4 });
    const controller = new AbortController();
    const response = await postJson(
      `${t.url}/v1/chat/completions`,
      chatBody('m', { stream: true }),
      {},
      controller.signal,
    );
    const reader = response.body?.getReader();
    await reader?.read();
    controller.abort();
    await waitFor(() => settled.length === 1);
    const outcome = settled[0];
    expect(outcome).toMatchObject({ status: 'cancelled', estimated: true, unpriced: false });
    expect(outcome?.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(outcome?.usage?.completion_tokens).toBeGreaterThan(0);
    expect(outcome?.cost?.total.amount).toBeGreaterThan(0n);
  });
});
