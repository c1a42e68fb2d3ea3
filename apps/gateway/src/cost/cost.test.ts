// What each answer cost, over real HTTP: the vendor's reported usage × the published price, exactly, on JSON,
// streamed and Anthropic-format answers. Prices here are the vendors' published ones (per 1M tokens), written out by
// hand, so a wrong catalog entry or a token class billed twice fails the test.
import type { RecordedRequest, StandInBehaviour, StandInChatBehaviour, StandInUpstream } from '@gw/providers/testing';
import { join } from 'node:path';
import { sseData, waitFor } from '@gw/test-kit';
import { describe, expect, it } from 'vitest';
import type { RequestOutcome } from '../settle/settle-once.ts';
import {
  chatBody,
  errorLines,
  gatewayPerTest,
  NO_RETRIES,
  postJson,
  TEST_VENDOR_KEY,
  testDirectory,
} from '../test-helpers.ts';

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

/** An amount in another currency divided by its rate (units per 1 USD, one decimal), rounded half to even once. */
function inUsd(units: bigint, rateTimesTen: bigint): bigint {
  const numerator = units * 10n;
  const quotient = numerator / rateTimesTen;
  const twice = (numerator % rateTimesTen) * 2n;
  return twice > rateTimesTen || (twice === rateTimesTen && quotient % 2n === 1n) ? quotient + 1n : quotient;
}

/** 10^-12 units as the exact decimal text the ledger shows (`cost_breakdown`). */
function decimal(units: bigint): string {
  const fraction = (units % 10n ** 12n).toString().padStart(12, '0').replace(/0+$/, '');
  return `${units / 10n ** 12n}${fraction === '' ? '' : `.${fraction}`}`;
}

/** What a client reads in `usage.cost` and `x-gw-cost`: the exact decimal, as a JSON number. */
const asNumber = (units: bigint): number => Number(decimal(units));

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

const gemini = (upstream: StandInUpstream) => ({
  id: 'up',
  kind: 'gemini',
  apiKey: TEST_VENDOR_KEY,
  baseUrl: `${upstream.url}/v1beta`,
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
    name: 'gemini-2.5-pro at its tier boundary, 200,000 prompt tokens: base rates ($1.25 in, $0.125 cached, $10 out)',
    provider: gemini,
    model: 'gemini-2.5-pro',
    usage: { prompt_tokens: 200_000, completion_tokens: 1000, cached_tokens: 50_000 },
    expected: cost([
      [150_000, '1.25'],
      [50_000, '0.125'],
      [1000, '10'],
    ]),
  },
  {
    name: 'gemini-2.5-pro one token past it: the whole request at $2.50 in, $0.25 cached, $15 out',
    provider: gemini,
    model: 'gemini-2.5-pro',
    usage: { prompt_tokens: 200_001, completion_tokens: 1000, cached_tokens: 50_000 },
    expected: cost([
      [150_001, '2.50'],
      [50_000, '0.25'],
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
  {
    name: 'glm-4.6 above its 32k tier with cache reads (¥3 in, ¥0.6 cached, ¥14 out), reported in USD at 7.1',
    provider: (upstream) => ({ id: 'up', kind: 'zhipu', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }),
    model: 'glm-4.6',
    usage: { prompt_tokens: 40_000, completion_tokens: 2000, cached_tokens: 10_000 },
    pricing: { currency: 'USD', rates: { CNY: 7.1 } },
    usageOnFinishChunk: true,
    expected: inUsd(
      cost([
        [30_000, '3'],
        [10_000, '0.6'],
        [2000, '14'],
      ]),
      71n,
    ),
  },
];

function configFor(entry: Case) {
  return (upstream: StandInUpstream) => ({
    providers: [entry.provider(upstream)],
    models: [{ name: 'm', targets: [{ provider: 'up', model: entry.model }] }],
    // The ledger in memory, flushed at once: each answer's row is read back through the admin API.
    storage: { url: 'sqlite::memory:', flushIntervalMs: 10, spillPath: join(testDirectory(), 'cost-spill.jsonl') },
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

interface LedgerRowJson {
  upstream_model: string;
  currency: string | null;
  cost: number | null;
  cost_breakdown: { total: string } | null;
  estimated: boolean;
  unpriced: boolean;
}

/** The ledger row of a request, by the `x-gw-request-id` of its answer, once it is written. */
async function ledgerRow(url: string, response: Response): Promise<LedgerRowJson> {
  const id = response.headers.get('x-gw-request-id') ?? '';
  let row: LedgerRowJson | undefined;
  await waitFor(async () => {
    const answer = await fetch(`${url}/admin/requests/${id}`);
    if (answer.status === 200) row = (await answer.json()) as LedgerRowJson;
    return row !== undefined;
  });
  return row as LedgerRowJson;
}

describe('the cost of every answer', () => {
  for (const entry of CASES) {
    describe(entry.name, () => {
      it('JSON: usage.cost and x-gw-cost, the exact amount settled and in the ledger', async () => {
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
        expect(body.usage.cost).toBe(asNumber(entry.expected));
        expect(response.headers.get('x-gw-cost')).toBe(String(asNumber(entry.expected)));
        expect(await ledgerRow(url, response)).toMatchObject({
          upstream_model: entry.model,
          currency: 'USD',
          cost: asNumber(entry.expected),
          cost_breakdown: { total: decimal(entry.expected) },
          estimated: false,
          unpriced: false,
        });
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
        expect(usageChunk.usage.cost).toBe(asNumber(entry.expected));
        await waitFor(() => settled.length === 1);
        expect(settled[0]?.cost?.total.amount).toBe(entry.expected);
        expect((await ledgerRow(url, response)).cost_breakdown).toEqual(
          expect.objectContaining({ total: decimal(entry.expected) }),
        );
      });

      it('/v1/messages: the cost in usage and x-gw-cost (JSON) and in message_delta (stream)', async () => {
        const { url, settled } = await startCase(entry);
        const message = { model: 'm', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] };
        const response = await postJson(`${url}/v1/messages`, message);
        expect(response.status).toBe(200);
        const body = (await response.json()) as { usage: { cost: number } };
        expect(body.usage.cost).toBe(asNumber(entry.expected));
        expect(response.headers.get('x-gw-cost')).toBe(String(asNumber(entry.expected)));
        const stream = await postJson(`${url}/v1/messages`, { ...message, stream: true });
        const delta = sseData(await stream.text())
          .map((data) => JSON.parse(data) as { type: string; usage?: { cost?: number } })
          .find((event) => event.type === 'message_delta');
        expect(delta?.usage?.cost).toBe(asNumber(entry.expected));
        await waitFor(() => settled.length === 2);
        expect(settled.map((outcome) => outcome.cost?.total.amount)).toEqual([entry.expected, entry.expected]);
      });
    });
  }
});

describe('deepseek-chat as DeepSeek writes its usage', () => {
  // DeepSeek reports cache hits and misses as prompt_cache_hit_tokens / prompt_cache_miss_tokens (its answers
  // before prompt_tokens_details existed have nothing else); streams carry the usage on the finish chunk.
  const usage = { prompt_tokens: 2000, completion_tokens: 100, total_tokens: 2100 };
  const hit = { ...usage, prompt_cache_hit_tokens: 1500, prompt_cache_miss_tokens: 500 };
  const miss = { ...usage, prompt_cache_hit_tokens: 0, prompt_cache_miss_tokens: 2000 };
  const head = { id: 'ds-1', created: 1763825700, model: 'deepseek-chat', system_fingerprint: 'fp_ds' };
  const message = { role: 'assistant', content: 'priced words' };

  function answer(request: RecordedRequest, wireUsage: Record<string, number>): StandInBehaviour {
    if ((request.body as { stream?: boolean }).stream !== true) {
      const choice = { index: 0, message, logprobs: null, finish_reason: 'stop' };
      return {
        type: 'raw',
        body: JSON.stringify({ ...head, object: 'chat.completion', choices: [choice], usage: wireUsage }),
      };
    }
    const chunk = (delta: unknown, finish: string | null, extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ ...head, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra })}\n\n`;
    return {
      type: 'raw',
      headers: { 'content-type': 'text/event-stream' },
      body:
        chunk({ role: 'assistant', content: '' }, null) +
        chunk({ content: 'priced words' }, null) +
        chunk({ content: '' }, 'stop', { usage: wireUsage }) +
        'data: [DONE]\n\n',
    };
  }

  for (const [name, wireUsage, expected] of [
    [
      'cache hit',
      hit,
      cost([
        [500, '0.14'],
        [1500, '0.0028'],
        [100, '0.28'],
      ]),
    ],
    [
      'cache miss',
      miss,
      cost([
        [2000, '0.14'],
        [100, '0.28'],
      ]),
    ],
  ] as const) {
    it(`${name}: JSON, stream and /v1/messages cost the hits at the cache price`, async () => {
      const settled: RequestOutcome[] = [];
      const t = await start({
        config: (upstream) => ({
          providers: [{ id: 'up', kind: 'deepseek', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
          models: [{ name: 'm', targets: [{ provider: 'up', model: 'deepseek-chat' }] }],
          ...NO_RETRIES,
        }),
        settle: (outcome) => void settled.push(outcome),
      });
      t.upstream.setDefault((request) => answer(request, wireUsage));
      const json = await postJson(`${t.url}/v1/chat/completions`, chatBody('m'));
      expect(((await json.json()) as { usage: { cost: number } }).usage.cost).toBe(asNumber(expected));
      expect(json.headers.get('x-gw-cost')).toBe(String(asNumber(expected)));
      const stream = await postJson(
        `${t.url}/v1/chat/completions`,
        chatBody('m', { stream: true, stream_options: { include_usage: true } }),
      );
      const usageChunk = sseData(await stream.text())
        .filter((data) => data !== '[DONE]')
        .map((data) => JSON.parse(data) as { usage?: { cost?: number } })
        .find((chunk) => chunk.usage != null);
      expect(usageChunk?.usage?.cost).toBe(asNumber(expected));
      const messages = await postJson(`${t.url}/v1/messages`, {
        model: 'm',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'Hi' }],
      });
      expect(((await messages.json()) as { usage: { cost: number } }).usage.cost).toBe(asNumber(expected));
      await waitFor(() => settled.length === 3);
      expect(settled.map((outcome) => outcome.cost?.total.amount)).toEqual([expected, expected, expected]);
    });
  }
});

describe('models without a price', () => {
  it('are flagged, never free: no cost on JSON, streams or /v1/messages, x-gw-cost: unpriced, one warning', async () => {
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
    const stream = await postJson(
      `${t.url}/v1/chat/completions`,
      chatBody('m', { stream: true, stream_options: { include_usage: true } }),
    );
    const usageChunk = JSON.parse(sseData(await stream.text()).at(-2) ?? '{}') as { usage: Record<string, unknown> };
    expect(usageChunk.usage).toMatchObject({ prompt_tokens: expect.any(Number) });
    expect(usageChunk.usage).not.toHaveProperty('cost');
    const message = { model: 'm', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] };
    const anthropic = await postJson(`${t.url}/v1/messages`, message);
    expect(anthropic.headers.get('x-gw-cost')).toBe('unpriced');
    expect(((await anthropic.json()) as { usage: Record<string, unknown> }).usage).not.toHaveProperty('cost');
    const delta = sseData(await (await postJson(`${t.url}/v1/messages`, { ...message, stream: true })).text())
      .map((data) => JSON.parse(data) as { type: string; usage?: Record<string, unknown> })
      .find((event) => event.type === 'message_delta');
    expect(delta?.usage).toMatchObject({ output_tokens: expect.any(Number) });
    expect(delta?.usage).not.toHaveProperty('cost');
    await waitFor(() => settled.length === 5);
    expect(settled.every((outcome) => outcome.unpriced && outcome.cost === undefined)).toBe(true);
    expect(t.logs.filter((line) => line.includes('has no price'))).toHaveLength(1);
  });

  it('include a model priced in a currency pricing.rates cannot convert: answered, flagged, told at start', async () => {
    const settled: RequestOutcome[] = [];
    const t = await start({
      config: (upstream) => ({
        providers: [{ id: 'glm', kind: 'zhipu', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
        models: [{ name: 'm', targets: [{ provider: 'glm', model: 'glm-4-plus' }] }],
        ...NO_RETRIES,
      }),
      settle: (outcome) => void settled.push(outcome),
    });
    const startup = t.logs.filter((line) => line.includes('pricing.rates has no CNY rate'));
    expect(startup).toHaveLength(1);
    expect(startup[0]).toContain('glm/glm-4-plus');
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('m'));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-gw-cost')).toBe('unpriced');
    const stream = await postJson(`${t.url}/v1/chat/completions`, chatBody('m', { stream: true }));
    expect(sseData(await stream.text()).at(-1)).toBe('[DONE]');
    await waitFor(() => settled.length === 2);
    expect(settled.map((outcome) => [outcome.status, outcome.unpriced])).toEqual([
      ['completed', true],
      ['completed', true],
    ]);
    const warned = t.logs.filter((line) => line.includes('is priced in CNY'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain('add pricing.rates.CNY (CNY per 1 USD)');
    expect(errorLines(t.logs)).toEqual([]);
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
