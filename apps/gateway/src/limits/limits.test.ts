// Rate limits, max_parallel and budgets through a running gateway, with the limits kept in memory and in Redis:
// what a client sees (429 / 402 / 403 with OpenAI's envelope and headers) and what the upstream does not (no call
// for a refused request).
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { waitFor } from '@gw/test-kit';
import { Redis } from 'ioredis';
import OpenAI, { RateLimitError } from 'openai';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { announceSkip, startTcpProxy, TEST_DIALECTS, type ScratchDatabase } from '../ledger/test-helpers.ts';
import { chatBody, postJson, startTestGateway, TEST_VENDOR_KEY, type TestGateway } from '../test-helpers.ts';

const MASTER_KEY = 'gw-master-key-limits-test-0123456789';
const MASTER = { authorization: `Bearer ${MASTER_KEY}` };
const REDIS_URL = process.env.REDIS_URL;

// Every Redis test gets a prefix of its own; all of them are deleted when the file ends.
const PREFIX_ROOT = `gw-limits-test-${randomUUID().slice(0, 8)}:`;
afterAll(async () => {
  if (REDIS_URL === undefined) return;
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${PREFIX_ROOT}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
});

interface StoreCase {
  readonly name: string;
  readonly skip: boolean;
  readonly redis: () => Record<string, unknown>;
}

const STORES: readonly StoreCase[] = [
  { name: 'memory', skip: false, redis: () => ({}) },
  {
    name: 'redis',
    skip: REDIS_URL === undefined,
    redis: () => ({ redis: { url: REDIS_URL, prefix: `${PREFIX_ROOT}${randomUUID().slice(0, 8)}:` } }),
  },
];

const opened: TestGateway[] = [];
let scratch: ScratchDatabase | undefined;
afterEach(async () => {
  await Promise.all(opened.splice(0).map((gateway) => gateway.close()));
  await scratch?.drop();
  scratch = undefined;
});

type Config = Record<string, unknown>;

async function start(store: StoreCase, extra: Config = {}, base: Partial<Config> = {}): Promise<TestGateway> {
  const redis = store.redis();
  const gateway = await startTestGateway({
    config: (upstream) => ({
      auth: { masterKey: MASTER_KEY },
      logging: { requests: false },
      providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
      models: [
        { name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] },
        { name: 'other', targets: [{ provider: 'up', model: 'gpt-4o' }] },
      ],
      // Every deployment costs $1 per 1,000 tokens, in and out, so a request's cost is easy to count.
      pricing: {
        models: {
          'up/gpt-4o-mini': { input: 1000, output: 1000 },
          'up/gpt-4o': { input: 1000, output: 1000 },
        },
      },
      retry: { maxRetries: 0 },
      breaker: { enabled: false },
      ...redis,
      ...base,
      ...extra,
    }),
  });
  opened.push(gateway);
  // Each request uses 10 prompt and 10 completion tokens: $0.02.
  gateway.upstream.setDefault({ type: 'chat', usage: { prompt_tokens: 10, completion_tokens: 10 } });
  return gateway;
}

async function createKey(url: string, body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const response = await fetch(`${url}/admin/keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...MASTER },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; key: string };
}

function chat(url: string, key: string | undefined, model = 'chat', extra: Record<string, unknown> = {}) {
  return postJson(
    `${url}/v1/chat/completions`,
    chatBody(model, extra),
    key === undefined ? {} : { authorization: `Bearer ${key}` },
  );
}

interface ErrorBody {
  error: { type: string; code: string; message: string; param?: string | null };
}

for (const store of STORES) {
  describe.skipIf(store.skip)(`limits on the ${store.name} store`, () => {
    it('lets rpm 3 through and refuses the 4th with 429 and OpenAI’s headers, on answers too', async () => {
      const t = await start(store);
      const { key } = await createKey(t.url, { name: 'rpm', rpm: 3 });
      const remaining: string[] = [];
      for (let index = 0; index < 3; index += 1) {
        const response = await chat(t.url, key);
        expect(response.status).toBe(200);
        expect(response.headers.get('x-ratelimit-limit-requests')).toBe('3');
        remaining.push(response.headers.get('x-ratelimit-remaining-requests') ?? '');
        expect(response.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+s$/);
        await response.arrayBuffer();
      }
      expect(remaining).toEqual(['2', '1', '0']);

      const refused = await chat(t.url, key);
      expect(refused.status).toBe(429);
      const body = (await refused.json()) as ErrorBody;
      expect(body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expect(refused.headers.get('x-ratelimit-limit-requests')).toBe('3');
      expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
      expect(t.upstream.requests).toHaveLength(3);

      // The openai SDK sees its own RateLimitError.
      const client = new OpenAI({ apiKey: key, baseURL: `${t.url}/v1`, maxRetries: 0 });
      const error = await client.chat.completions
        .create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RateLimitError);

      // Another key has its own count.
      const other = await createKey(t.url, { name: 'other', rpm: 3 });
      expect((await chat(t.url, other.key)).status).toBe(200);
    });

    it('debits a TPM limit with an estimate and corrects it to the real usage', async () => {
      const t = await start(store);
      const { key } = await createKey(t.url, { name: 'tpm', tpm: 200 });
      // Estimate: the prompt (a few tokens) + max_tokens 150; the upstream reports 20 used.
      const first = await chat(t.url, key, 'chat', { max_tokens: 150 });
      expect(first.status).toBe(200);
      expect(first.headers.get('x-ratelimit-limit-tokens')).toBe('200');
      expect(Number(first.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(50);
      // Corrected to 20, so a second request of the same estimate fits (without the correction, 300+ > 200).
      const second = await chat(t.url, key, 'chat', { max_tokens: 150 });
      expect(second.status).toBe(200);
      // 40 used: an estimate over 160 does not fit.
      const refused = await chat(t.url, key, 'chat', { max_tokens: 170 });
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as ErrorBody).error.code).toBe('rate_limit_exceeded');
      expect(refused.headers.get('x-ratelimit-limit-tokens')).toBe('200');
      expect(Number(refused.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThanOrEqual(160);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      // A request larger than the whole limit can never pass: refused without a retry-after.
      const tooLarge = await chat(t.url, key, 'chat', { max_tokens: 500 });
      expect(tooLarge.status).toBe(429);
      expect(tooLarge.headers.get('retry-after')).toBeNull();
      expect(t.upstream.requests).toHaveLength(2);
    });

    it('holds a per-model limit of a key without touching its other models', async () => {
      const t = await start(store);
      const { key } = await createKey(t.url, { name: 'per-model', model_limits: { chat: { rpm: 1 } } });
      expect((await chat(t.url, key)).status).toBe(200);
      const refused = await chat(t.url, key);
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as ErrorBody).error.message).toMatch(/model/i);
      expect((await chat(t.url, key, 'other')).status).toBe(200);
      expect((await chat(t.url, key, 'other')).status).toBe(200);
    });

    it('refuses a request over max_parallel while the others run, and frees the slot when they end', async () => {
      const t = await start(store);
      const { key } = await createKey(t.url, { name: 'parallel', max_parallel: 2 });
      t.upstream.setDefault({ type: 'chat', delayMs: 400, usage: { prompt_tokens: 1, completion_tokens: 1 } });
      const running = [chat(t.url, key), chat(t.url, key)];
      await waitFor(() => t.upstream.inFlight === 2, 5000);
      const refused = await chat(t.url, key);
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as ErrorBody).error.message).toContain('max_parallel');
      expect(refused.headers.get('retry-after')).toBe('1');
      expect((await Promise.all(running)).map((response) => response.status)).toEqual([200, 200]);
      // A stream holds its slot until it ends, then gives it back.
      t.upstream.setDefault({ type: 'chat', chunkDelayMs: 20, usage: { prompt_tokens: 1, completion_tokens: 1 } });
      const streamed = await chat(t.url, key, 'chat', { stream: true });
      expect(streamed.status).toBe(200);
      await streamed.text();
      await waitFor(async () => {
        const [one, two] = await Promise.all([chat(t.url, key), chat(t.url, key)]);
        return one.status === 200 && two.status === 200;
      }, 5000);
      expect(t.upstream.peakInFlight).toBeLessThanOrEqual(2);
    });

    it('applies per-IP limits in open mode (by X-Forwarded-For behind a trusted proxy) and a global limit', async () => {
      const t = await start(store, {
        auth: {},
        server: { trustProxy: true },
        limits: { perIp: { rpm: 2 }, global: { rpm: 5 } },
      });
      const from = (ip: string) =>
        postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), { 'x-forwarded-for': `${ip}, 10.0.0.1` });
      expect((await from('203.0.113.1')).status).toBe(200);
      expect((await from('203.0.113.1')).status).toBe(200);
      const perIp = await from('203.0.113.1');
      expect(perIp.status).toBe(429);
      expect(((await perIp.json()) as ErrorBody).error.message).toMatch(/address|IP/i);
      expect((await from('203.0.113.2')).status).toBe(200);
      expect((await from('203.0.113.3')).status).toBe(200);
      expect((await from('203.0.113.4')).status).toBe(200);
      // Five passed: the global limit refuses whoever comes next.
      const global = await from('203.0.113.5');
      expect(global.status).toBe(429);
      expect(((await global.json()) as ErrorBody).error.code).toBe('rate_limit_exceeded');
      expect(t.upstream.requests).toHaveLength(5);
    });

    it('moves to another target when a deployment is at its own limit, and answers 429 when all are', async () => {
      const t = await start(store, {
        models: [
          { name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }], fallbacks: ['other'] },
          { name: 'other', targets: [{ provider: 'up', model: 'gpt-4o' }] },
        ],
        limits: {
          deployments: [
            { provider: 'up', model: 'gpt-4o-mini', rpm: 1 },
            { provider: 'up', model: 'gpt-4o', rpm: 1 },
          ],
        },
      });
      const { key } = await createKey(t.url, { name: 'deployments' });
      expect((await chat(t.url, key)).status).toBe(200);
      expect((await chat(t.url, key)).status).toBe(200);
      expect(t.upstream.requests.map((request) => (request.body as { model: string }).model)).toEqual([
        'gpt-4o-mini',
        'gpt-4o',
      ]);
      const refused = await chat(t.url, key);
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as ErrorBody).error.code).toBe('rate_limit_exceeded');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(t.upstream.requests).toHaveLength(2);
    });

    it('refuses with 402 before any upstream call once a key’s budget cannot hold the worst case', async () => {
      const t = await start(store);
      // Worst case of a request: (prompt estimate × 1.25 + 16) + max_tokens 10 ≈ 40 tokens = $0.04; each costs $0.02.
      const { id, key } = await createKey(t.url, { name: 'budget', budget: { amount: 0.09, period: 'day' } });
      const remaining: number[] = [];
      let status = 200;
      while (status === 200 && remaining.length < 10) {
        const response = await chat(t.url, key, 'chat', { max_tokens: 10 });
        status = response.status;
        if (status === 200) remaining.push(Number(response.headers.get('x-gw-budget-remaining')));
        else {
          expect(status).toBe(402);
          const body = (await response.json()) as ErrorBody;
          expect(body.error).toMatchObject({ type: 'insufficient_quota', code: 'budget_exceeded' });
          expect(Number(response.headers.get('x-gw-budget-remaining'))).toBeCloseTo(0.09 - 0.02 * remaining.length, 9);
        }
      }
      // $0.09 holds three requests of $0.02 with room for a fourth's worst case ($0.04 > $0.03 left): 3 pass.
      expect(remaining).toHaveLength(3);
      expect(remaining[0]).toBeCloseTo(0.07, 9);
      expect(remaining[2]).toBeCloseTo(0.03, 9);
      expect(t.upstream.requests).toHaveLength(3);
      const shown = (await (await fetch(`${t.url}/admin/keys/${id}`, { headers: MASTER })).json()) as {
        spend: { amount: number; period: string };
      };
      expect(shown.spend.amount).toBeCloseTo(0.06, 9);

      // A model without a price cannot be used under a budget: its cost could not be counted.
      const unpriced = await postJson(`${t.url}/v1/chat/completions`, chatBody('up/some-unpriced-model'), {
        authorization: `Bearer ${key}`,
      });
      expect(unpriced.status).toBe(403);
      expect(((await unpriced.json()) as ErrorBody).error).toMatchObject({ code: 'model_unpriced', param: 'model' });
      expect(t.upstream.requests).toHaveLength(3);
    });

    it('reserves at a model’s dearest rates: a prompt that may be written to the cache', async () => {
      const t = await start(store, {
        pricing: {
          models: {
            'up/gpt-4o-mini': { input: 1000, output: 1000 },
            // Anthropic-style cache writes: $1.25 (5 minutes) and $2 (1 hour) per 1,000 prompt tokens.
            'up/gpt-4o': { input: 1000, output: 1000, cacheWrite: 1250, cacheWrite1h: 2000 },
          },
        },
      });
      const { key } = await createKey(t.url, { name: 'cache-writes', budget: { amount: 0.06, period: 'day' } });
      // ~30 prompt tokens at $2/1,000 + 10 completion tokens at $1/1,000 ≈ $0.07: more than $0.06, refused.
      const refused = await chat(t.url, key, 'other', { max_tokens: 10 });
      expect(refused.status).toBe(402);
      expect(((await refused.json()) as ErrorBody).error.code).toBe('budget_exceeded');
      expect(t.upstream.requests).toHaveLength(0);
      // The same request to a model that bills no cache writes: ≈ $0.04 fits.
      expect((await chat(t.url, key, 'chat', { max_tokens: 10 })).status).toBe(200);
      expect(t.upstream.requests).toHaveLength(1);
    });

    it('settles a streamed request to its real cost, the same the ledger records', async () => {
      const t = await start(store);
      const { id, key } = await createKey(t.url, { name: 'stream-budget', budget: { amount: 1, period: 'month' } });
      const streamed = await chat(t.url, key, 'chat', { stream: true, max_tokens: 10 });
      expect(streamed.status).toBe(200);
      // Before the answer: the worst case is held, so the header shows less than $1 − $0.02.
      expect(Number(streamed.headers.get('x-gw-budget-remaining'))).toBeLessThan(0.98);
      expect(await streamed.text()).toContain('[DONE]');
      const spendOf = async (): Promise<number> =>
        (
          (await (await fetch(`${t.url}/admin/keys/${id}`, { headers: MASTER })).json()) as {
            spend: { amount: number };
          }
        ).spend.amount;
      await waitFor(async () => Math.abs((await spendOf()) - 0.02) < 1e-9, 5000);
      await waitFor(async () => {
        const page = (await (await fetch(`${t.url}/admin/requests?key=${id}`, { headers: MASTER })).json()) as {
          data: Array<{ cost: number | null }>;
        };
        return page.data.length === 1 && page.data[0]?.cost === 0.02;
      }, 5000);
    });

    it('holds a global budget across keys', async () => {
      const t = await start(store, { budgets: { global: { amount: 0.05, period: 'month' } } });
      const one = await createKey(t.url, { name: 'one' });
      const two = await createKey(t.url, { name: 'two' });
      expect((await chat(t.url, one.key, 'chat', { max_tokens: 10 })).status).toBe(200);
      // $0.03 left, a worst case of ~$0.04: refused, whoever asks.
      const refused = await chat(t.url, two.key, 'chat', { max_tokens: 10 });
      expect(refused.status).toBe(402);
      expect(((await refused.json()) as ErrorBody).error.code).toBe('budget_exceeded');
      expect(t.upstream.requests).toHaveLength(1);
    });
  });
}

for (const dialect of TEST_DIALECTS) {
  announceSkip(dialect, 'budgets after a restart');
  describe.skipIf(dialect.skip !== undefined)(`budgets after a restart on ${dialect.dialect}`, () => {
    it('a memory-store budget starts from what the ledger recorded, not from zero', async () => {
      scratch = await dialect.create();
      const storage = {
        url: scratch.url,
        spillPath: join(scratch.folder, 'spill.jsonl'),
        flushIntervalMs: 20,
      };
      const first = await start(STORES[0] as StoreCase, {}, { storage });
      const { id, key } = await createKey(first.url, { name: 'restart', budget: { amount: 0.05, period: 'total' } });
      expect((await chat(first.url, key, 'chat', { max_tokens: 10 })).status).toBe(200);
      // The row is in the database before the first gateway goes.
      await waitFor(async () => {
        const page = (await (await fetch(`${first.url}/admin/requests?key=${id}`, { headers: MASTER })).json()) as {
          data: unknown[];
        };
        return page.data.length === 1;
      }, 5000);
      await first.close();
      opened.splice(opened.indexOf(first), 1);

      const second = await start(STORES[0] as StoreCase, {}, { storage });
      // $0.02 already spent: $0.03 left cannot hold a ~$0.04 worst case.
      const refused = await chat(second.url, key, 'chat', { max_tokens: 10 });
      expect(refused.status).toBe(402);
      expect(Number(refused.headers.get('x-gw-budget-remaining'))).toBeCloseTo(0.03, 9);
      expect(second.upstream.requests).toHaveLength(0);
    });
  });
}

describe('adaptive concurrency per provider', () => {
  interface AdaptiveJson {
    name: string;
    limit: number;
    min: number;
    max: number;
    last_decrease?: string;
  }
  const adaptiveOf = async (url: string): Promise<AdaptiveJson | undefined> => {
    const health = (await (await fetch(`${url}/admin/health`, { headers: MASTER })).json()) as {
      adaptive: AdaptiveJson[];
    };
    return health.adaptive.find((entry) => entry.name === 'up');
  };

  it('halves a provider’s cap on an upstream 429, shows it in /admin/health and /metrics, and raises it on success', async () => {
    const adaptive = await startTestGateway({
      config: (upstream) => ({
        auth: { masterKey: MASTER_KEY },
        logging: { requests: false },
        providers: [
          {
            id: 'up',
            kind: 'openai',
            apiKey: TEST_VENDOR_KEY,
            baseUrl: upstream.baseUrl,
            maxConcurrency: 8,
            adaptiveConcurrency: { min: 2 },
          },
        ],
        models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
        retry: { maxRetries: 0 },
        breaker: { enabled: false },
        metrics: { enabled: true },
      }),
    });
    opened.push(adaptive);
    expect(await adaptiveOf(adaptive.url)).toMatchObject({ limit: 8, min: 2, max: 8 });

    adaptive.upstream.enqueue({
      type: 'error',
      status: 429,
      body: { error: { message: 'slow down', type: 'rate_limit' } },
    });
    const limited = await postJson(`${adaptive.url}/v1/chat/completions`, chatBody('chat'), MASTER);
    expect(limited.status).toBe(429);
    expect(await adaptiveOf(adaptive.url)).toMatchObject({ limit: 4, last_decrease: 'rate_limit' });
    const metrics = await (await fetch(`${adaptive.url}/metrics`)).text();
    expect(metrics).toMatch(/llm_queue_max_concurrency\{deployment="up"\} 4/);
    expect(adaptive.logs.some((line) => line.includes('concurrency lowered to 4'))).toBe(true);

    // A client's bad request says nothing about the upstream's load: the cap stays.
    const bad = await postJson(`${adaptive.url}/v1/chat/completions`, { model: 'chat', messages: 'nope' }, MASTER);
    expect(bad.status).toBe(400);
    expect((await adaptiveOf(adaptive.url))?.limit).toBe(4);

    // Busy and successful: one more call per round of successes, never above max.
    adaptive.upstream.setDefault({ type: 'chat', delayMs: 50 });
    for (let round = 0; round < 6; round += 1) {
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => postJson(`${adaptive.url}/v1/chat/completions`, chatBody('chat'), MASTER)),
      );
      expect(answers.every((answer) => answer.status === 200)).toBe(true);
    }
    const raised = await adaptiveOf(adaptive.url);
    expect(raised?.limit).toBeGreaterThan(4);
    expect(raised?.limit).toBeLessThanOrEqual(8);
  });
});

describe.skipIf(REDIS_URL === undefined)('limits while Redis is away', () => {
  for (const failMode of ['open', 'closed'] as const) {
    it(`fails ${failMode}, logs the outage once, counts it, and applies the limits again when Redis is back`, async () => {
      const target = new URL(REDIS_URL ?? 'redis://127.0.0.1:6379');
      const proxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
      try {
        const t = await start(STORES[0] as StoreCase, {
          redis: { url: `redis://127.0.0.1:${proxy.port}`, prefix: `${PREFIX_ROOT}${randomUUID().slice(0, 8)}:` },
          limits: { failMode },
          budgets: { failMode },
          metrics: { enabled: true },
        });
        const { key } = await createKey(t.url, { name: 'outage', rpm: 2, budget: { amount: 100, period: 'day' } });
        expect((await chat(t.url, key)).status).toBe(200);
        expect((await chat(t.url, key)).status).toBe(200);
        expect((await chat(t.url, key)).status).toBe(429);

        await proxy.cut();
        const during: number[] = [];
        for (let index = 0; index < 5; index += 1) {
          const response = await chat(t.url, key);
          during.push(response.status);
          if (failMode === 'closed') {
            const body = (await response.json()) as ErrorBody;
            expect(body.error.code).toMatch(/^(rate_limits|budgets)_unavailable$/);
            expect(response.headers.get('retry-after')).toBe('1');
          }
        }
        // Open: requests pass uncounted (even over the limit); closed: refused with 503.
        expect(during).toEqual(Array.from({ length: 5 }, () => (failMode === 'open' ? 200 : 503)));
        const outageLines = t.logs.filter((line) => line.includes('cannot reach redis'));
        expect(outageLines.length).toBeGreaterThanOrEqual(1);
        expect(outageLines.length).toBeLessThanOrEqual(2); // once per store, not per request
        const metrics = await (await fetch(`${t.url}/metrics`)).text();
        expect(metrics).toMatch(/llm_limit_store_outages_total\{store="rate_limits"\} 1/);

        await proxy.restore();
        // Back without a restart: the key is over its limit again.
        await waitFor(async () => (await chat(t.url, key)).status === 429, 10_000);
        expect(t.logs.some((line) => line.includes('reach redis again'))).toBe(true);
      } finally {
        await proxy.close();
      }
    });
  }
});
