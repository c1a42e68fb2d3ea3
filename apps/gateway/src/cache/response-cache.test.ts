// The response cache through a running gateway in front of the stand-in upstream, whose recorded requests say
// whether an answer came from upstream or from the cache.
import { randomUUID } from 'node:crypto';
import { waitFor } from '@gw/test-kit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { chatBody, gatewayPerTest, postJson, TEST_VENDOR_KEY } from '../test-helpers.ts';

const start = gatewayPerTest();
const MASTER_KEY = 'cache-test-master-key-0123456789abcdef';
const admin = { authorization: `Bearer ${MASTER_KEY}` };
const REDIS_URL = process.env['REDIS_URL'] ?? '';
const PREFIX = `gw-test-cache-${randomUUID().slice(0, 8)}:`;

afterAll(async () => {
  if (REDIS_URL === '') return;
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const keys = await client.keys(`${PREFIX}*`);
  if (keys.length > 0) await client.del(...keys);
  client.disconnect();
});

interface CacheSettings {
  cache?: Record<string, unknown>;
  alias?: Record<string, unknown>;
  redis?: Record<string, unknown>;
}

async function startCached(settings: CacheSettings = {}) {
  const t = await start({
    config: (upstream) => ({
      auth: { masterKey: MASTER_KEY },
      storage: { url: 'sqlite::memory:', flushIntervalMs: 20 },
      ...(settings.redis === undefined ? {} : { redis: settings.redis }),
      cache: settings.cache ?? { enabled: true },
      providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
      models: [
        {
          name: 'chat',
          targets: [{ provider: 'up', model: 'gpt-4o-mini' }],
          ...(settings.alias === undefined ? {} : { cache: settings.alias }),
        },
        { name: 'other', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] },
        { name: 'embed', targets: [{ provider: 'up', model: 'text-embedding-3-small' }] },
      ],
      retry: { maxRetries: 0 },
      breaker: { enabled: false },
    }),
  });
  // 1000 prompt tokens (400 of them cache reads) and 100 output tokens of gpt-4o-mini: $0.00018 a request.
  t.upstream.setDefault({ type: 'chat', usage: { prompt_tokens: 1000, completion_tokens: 100, cached_tokens: 400 } });
  return t;
}

const deterministic = (extra: Record<string, unknown> = {}) => chatBody('chat', { temperature: 0, ...extra });

async function send(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await postJson(`${url}/v1/chat/completions`, body, { ...admin, ...headers });
  const text = await response.text();
  return { response, status: response.status, cache: response.headers.get('x-gw-cache'), text };
}

interface ChatJson {
  id: string;
  choices: Array<{ message: { content: string | null } }>;
  usage: { prompt_tokens: number; completion_tokens: number; cost?: number };
}

/** The `data:` payloads of an SSE body, `[DONE]` left out. */
function events(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
    .map((line) => JSON.parse(line.slice('data: '.length)) as unknown);
}

function streamedText(text: string): string {
  let answer = '';
  for (const event of events(text)) {
    const choices = (event as { choices?: Array<{ delta?: { content?: string | null } }> }).choices ?? [];
    for (const choice of choices) answer += choice.delta?.content ?? '';
  }
  return answer;
}

interface LedgerRowJson {
  request_id: string;
  status: string;
  cost: number | null;
  cache_hit: boolean;
  cost_saved: number;
  provider: string;
  input_tokens: number;
}

async function ledgerRows(url: string): Promise<LedgerRowJson[]> {
  const response = await fetch(`${url}/admin/requests`, { headers: admin });
  return ((await response.json()) as { data: LedgerRowJson[] }).data;
}

describe('the response cache, JSON answers', () => {
  it('answers a second identical request from the cache, without an upstream call, billed 0', async () => {
    const t = await startCached();
    const first = await send(t.url, deterministic());
    expect(first.status).toBe(200);
    expect(first.cache).toBe('miss');
    expect(Number(first.response.headers.get('x-gw-cost'))).toBeGreaterThan(0);
    // Written after the answer: wait until the store has it (the memory store has it at once).
    const second = await send(t.url, deterministic());
    expect(second.status).toBe(200);
    expect(second.cache).toBe('hit');
    expect(t.upstream.requests).toHaveLength(1);
    const [a, b] = [JSON.parse(first.text) as ChatJson, JSON.parse(second.text) as ChatJson];
    expect(b.id).toBe(a.id);
    expect(b.choices[0]?.message.content).toBe(a.choices[0]?.message.content);
    expect(b.usage.prompt_tokens).toBe(1000);
    expect(b.usage.cost).toBe(0);
    expect(second.response.headers.get('x-gw-cost')).toBe('0');
    expect(second.response.headers.get('x-gw-cost-saved')).toBe(first.response.headers.get('x-gw-cost'));
  });

  it('keys on every parameter that changes the answer, not on spelling order or fields that do not', async () => {
    const t = await startCached();
    await send(t.url, deterministic());
    for (const extra of [
      { seed: 7 },
      { max_tokens: 20 },
      { stop: ['\n'] },
      { response_format: { type: 'json_object' } },
      { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] },
      { messages: [{ role: 'user', content: 'Say goodbye' }] },
    ]) {
      const answer = await send(t.url, deterministic(extra));
      expect(answer.cache, JSON.stringify(extra)).toBe('miss');
    }
    expect((await send(t.url, chatBody('other', { temperature: 0 }))).cache).toBe('miss');
    expect(t.upstream.requests).toHaveLength(8);
    // Same request, keys in another order, plus fields that do not change the answer.
    const reordered = { temperature: 0, messages: [{ content: 'Say hello', role: 'user' }], model: 'chat' };
    expect((await send(t.url, { ...reordered, user: 'someone', metadata: { a: 'b' } })).cache).toBe('hit');
    expect(t.upstream.requests).toHaveLength(8);
  });

  it('does not cache sampled answers unless cacheSampled is on', async () => {
    const t = await startCached();
    for (const body of [chatBody('chat'), deterministic({ top_p: 0.5 }), deterministic({ n: 2 })]) {
      expect((await send(t.url, body)).cache).toBe('skip');
      expect((await send(t.url, body)).cache).toBe('skip');
    }
    expect(t.upstream.requests).toHaveLength(6);

    const sampled = await startCached({ cache: { enabled: true, cacheSampled: true } });
    expect((await send(sampled.url, chatBody('chat', { temperature: 0.7 }))).cache).toBe('miss');
    expect((await send(sampled.url, chatBody('chat', { temperature: 0.7 }))).cache).toBe('hit');
    expect(sampled.upstream.requests).toHaveLength(1);
  });

  it('never caches an error', async () => {
    const t = await startCached();
    t.upstream.enqueue({ type: 'error', status: 500 });
    // The upstream's 500 reaches the client as a 502.
    expect((await send(t.url, deterministic())).status).toBe(502);
    const retried = await send(t.url, deterministic());
    expect(retried.status).toBe(200);
    expect(retried.cache).toBe('miss');
    expect((await send(t.url, deterministic())).cache).toBe('hit');
    expect(t.upstream.requests).toHaveLength(2);
  });

  it('forgets an answer after its TTL', async () => {
    const t = await startCached({ cache: { enabled: true, ttlSeconds: 3600 }, alias: { ttlSeconds: 1 } });
    expect((await send(t.url, deterministic())).cache).toBe('miss');
    expect((await send(t.url, deterministic())).cache).toBe('hit');
    // Polled: the entry expires a second after it was stored; then the request goes upstream again.
    await waitFor(async () => (await send(t.url, deterministic())).cache === 'miss', 10_000);
    expect(t.upstream.requests).toHaveLength(2);
  });

  it('takes x-gw-cache: on and off per request, and refuses a bad header value with a 400', async () => {
    const t = await startCached({ cache: { enabled: false } });
    expect((await send(t.url, deterministic())).cache).toBeNull();
    expect((await send(t.url, deterministic(), { 'x-gw-cache': 'on' })).cache).toBe('miss');
    expect((await send(t.url, deterministic(), { 'x-gw-cache': 'on' })).cache).toBe('hit');
    // Off: neither read nor written.
    expect((await send(t.url, deterministic(), { 'x-gw-cache': 'off' })).cache).toBeNull();
    expect(t.upstream.requests).toHaveLength(3);
    for (const [header, value] of [
      ['x-gw-cache', 'maybe'],
      ['x-gw-cache-ttl', '-5'],
      ['x-gw-cache-ttl', 'soon'],
    ] as const) {
      const refused = await send(t.url, deterministic(), { 'x-gw-cache': 'on', [header]: value });
      expect(refused.status, `${header}: ${value}`).toBe(400);
      expect(JSON.parse(refused.text)).toMatchObject({
        error: { type: 'invalid_request_error', code: 'invalid_header', param: header },
      });
    }
    expect(t.upstream.requests).toHaveLength(3);
  });

  it('follows models[].cache.enabled over the default, both ways', async () => {
    const off = await startCached({ cache: { enabled: true }, alias: { enabled: false } });
    expect((await send(off.url, deterministic())).cache).toBeNull();
    expect((await send(off.url, chatBody('other', { temperature: 0 }))).cache).toBe('miss');

    const on = await startCached({ cache: { enabled: false }, alias: { enabled: true } });
    expect((await send(on.url, deterministic())).cache).toBe('miss');
    expect((await send(on.url, deterministic())).cache).toBe('hit');
    expect((await send(on.url, chatBody('other', { temperature: 0 }))).cache).toBeNull();
  });

  it('keeps each virtual key’s cache its own, unless scope is global', async () => {
    for (const scope of ['key', 'global'] as const) {
      const t = await startCached({ cache: { enabled: true, scope } });
      const keys: string[] = [];
      for (const name of ['team-a', 'team-b']) {
        const created = await fetch(`${t.url}/admin/keys`, {
          method: 'POST',
          headers: { ...admin, 'content-type': 'application/json' },
          body: JSON.stringify({ name }),
        });
        keys.push(((await created.json()) as { key: string }).key);
      }
      const as = (key: string | undefined) => ({ authorization: `Bearer ${key ?? ''}` });
      expect((await send(t.url, deterministic(), as(keys[0]))).cache).toBe('miss');
      expect((await send(t.url, deterministic(), as(keys[0]))).cache).toBe('hit');
      expect((await send(t.url, deterministic(), as(keys[1]))).cache).toBe(scope === 'key' ? 'miss' : 'hit');
      expect(t.upstream.requests).toHaveLength(scope === 'key' ? 2 : 1);
      await t.close();
    }
  });

  it('records a hit in the ledger as a cache hit billed 0 with the cost saved, and sums hits in /admin/usage', async () => {
    const t = await startCached();
    const first = await send(t.url, deterministic());
    const second = await send(t.url, deterministic());
    await waitFor(async () => (await ledgerRows(t.url)).length === 2, 5000);
    const [hit, miss] = await ledgerRows(t.url);
    expect(miss).toMatchObject({ cache_hit: false, cost: 0.00018, cost_saved: 0, status: 'completed' });
    expect(hit).toMatchObject({
      request_id: second.response.headers.get('x-gw-request-id'),
      status: 'completed',
      cache_hit: true,
      cost: 0,
      cost_saved: 0.00018,
      provider: 'up',
      input_tokens: 0,
    });
    expect(miss?.request_id).toBe(first.response.headers.get('x-gw-request-id'));
    const accessLine = t.logs.find((line) => line.includes(`"requestId":"${hit?.request_id ?? ''}"`));
    expect(accessLine).toContain('"cache":"hit"');
    expect(accessLine).toContain('"costSaved":"0.00018"');
    const usage = (await (await fetch(`${t.url}/admin/usage?group_by=model`, { headers: admin })).json()) as {
      data: unknown[];
    };
    expect(usage.data).toEqual([
      expect.objectContaining({
        model: 'chat',
        requests: 2,
        cache_hits: 1,
        cost_exact: '0.00018',
        cost_saved: 0.00018,
        cost_saved_exact: '0.00018',
      }),
    ]);
  });

  it('does not count a hit against the key’s budget', async () => {
    const t = await startCached();
    const created = await fetch(`${t.url}/admin/keys`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'budgeted', budget: { amount: 1, period: 'total' } }),
    });
    expect(created.status).toBe(201);
    const { id, key } = (await created.json()) as { id: string; key: string };
    const auth = { authorization: `Bearer ${key}` };
    expect((await send(t.url, deterministic(), auth)).cache).toBe('miss');
    for (let index = 0; index < 3; index += 1) expect((await send(t.url, deterministic(), auth)).cache).toBe('hit');
    const spent = async () => {
      const shown = (await (await fetch(`${t.url}/admin/keys/${id}`, { headers: admin })).json()) as {
        spend: { amount: number } | null;
      };
      return shown.spend?.amount;
    };
    // One upstream call's cost, not four.
    await waitFor(async () => (await spent()) === 0.00018, 5000);
  });

  it('does not count a hit against the key’s rpm, and says nothing of the cache on a refusal', async () => {
    const t = await startCached();
    const created = await fetch(`${t.url}/admin/keys`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'slow', rpm: 1 }),
    });
    const auth = { authorization: `Bearer ${((await created.json()) as { key: string }).key}` };
    expect((await send(t.url, deterministic(), auth)).cache).toBe('miss');
    for (let index = 0; index < 3; index += 1) {
      const hit = await send(t.url, deterministic(), auth);
      expect(hit.status).toBe(200);
      expect(hit.cache).toBe('hit');
    }
    const refused = await send(t.url, deterministic({ seed: 1 }), auth);
    expect(refused.status).toBe(429);
    expect(refused.cache).toBeNull();
    expect(t.upstream.requests).toHaveLength(1);
  });

  it('counts hits and misses in /metrics', async () => {
    const t = await startCached();
    await send(t.url, deterministic());
    await send(t.url, deterministic());
    await send(t.url, deterministic());
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain('llm_cache_hits_total{model="chat"} 2');
    expect(metrics).toContain('llm_cache_misses_total{model="chat"} 1');
  });
});

describe('the response cache, streams', () => {
  const streamed = (extra: Record<string, unknown> = {}) => deterministic({ stream: true, ...extra });

  it('stores a completed stream and serves it again as a stream and as JSON, without an upstream call', async () => {
    const t = await startCached();
    const first = await send(t.url, streamed());
    expect(first.cache).toBe('miss');
    const answer = streamedText(first.text);
    expect(answer).not.toBe('');
    await waitFor(async () => (await send(t.url, streamed())).cache === 'hit', 5000);
    const again = await send(t.url, streamed({ stream_options: { include_usage: true } }));
    expect(again.cache).toBe('hit');
    expect(again.response.headers.get('content-type')).toContain('text/event-stream');
    expect(streamedText(again.text)).toBe(answer);
    expect(again.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const usage = events(again.text).at(-1) as {
      choices: unknown[];
      usage: { completion_tokens: number; cost: number };
    };
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toMatchObject({ completion_tokens: 100, cost: 0 });
    // Without include_usage no usage chunk is sent.
    const plain = await send(t.url, streamed());
    expect(events(plain.text).every((event) => (event as { choices: unknown[] }).choices.length > 0)).toBe(true);
    const json = await send(t.url, deterministic());
    expect(json.cache).toBe('hit');
    expect((JSON.parse(json.text) as ChatJson).choices[0]?.message.content).toBe(answer);
    expect(t.upstream.requests).toHaveLength(1);
  });

  it('serves tool calls from the cache as they were streamed', async () => {
    const t = await startCached();
    t.upstream.setDefault({ type: 'chat', toolCalls: [{ name: 'lookup', arguments: '{"city":"Paris","days":3}' }] });
    const first = await send(t.url, streamed());
    expect(first.status).toBe(200);
    await waitFor(async () => (await send(t.url, deterministic())).cache === 'hit', 5000);
    const json = JSON.parse((await send(t.url, deterministic())).text) as {
      choices: Array<{ finish_reason: string; message: { tool_calls: Array<{ function: unknown }> } }>;
    };
    expect(json.choices[0]?.finish_reason).toBe('tool_calls');
    expect(json.choices[0]?.message.tool_calls[0]?.function).toEqual({
      name: 'lookup',
      arguments: '{"city":"Paris","days":3}',
    });
    expect(t.upstream.requests).toHaveLength(1);
  });

  it('does not store a stream cut short or left by the client', async () => {
    const t = await startCached();
    t.upstream.enqueue({ type: 'chat', content: 'one two three four five six', cutAfterChunks: 3 });
    await send(t.url, streamed());
    const controller = new AbortController();
    t.upstream.enqueue({ type: 'chat', content: 'one two three four five six', chunkDelayMs: 200 });
    const left = await postJson(`${t.url}/v1/chat/completions`, streamed(), admin, controller.signal);
    const reader = left.body?.getReader();
    await reader?.read();
    controller.abort();
    await waitFor(() => t.upstream.requests[1]?.aborted === true, 5000);
    expect((await send(t.url, streamed())).cache).toBe('miss');
    expect(t.upstream.requests).toHaveLength(3);
  });
});

describe('the response cache, other routes', () => {
  it('caches embeddings', async () => {
    const t = await startCached();
    const body = { model: 'embed', input: ['cache me'] };
    const first = await postJson(`${t.url}/v1/embeddings`, body, admin);
    expect(first.headers.get('x-gw-cache')).toBe('miss');
    const a = (await first.json()) as { data: Array<{ embedding: number[] }> };
    const second = await postJson(`${t.url}/v1/embeddings`, body, admin);
    expect(second.headers.get('x-gw-cache')).toBe('hit');
    const b = (await second.json()) as { data: Array<{ embedding: number[] }>; usage: { cost: number } };
    expect(b.data[0]?.embedding).toEqual(a.data[0]?.embedding);
    expect(b.usage.cost).toBe(0);
    const other = await postJson(`${t.url}/v1/embeddings`, { ...body, dimensions: 8 }, admin);
    expect(other.headers.get('x-gw-cache')).toBe('miss');
    expect(t.upstream.requests).toHaveLength(2);
  });

  it('caches Anthropic messages, served again as a message and as Anthropic’s event stream', async () => {
    const t = await startCached();
    const body = {
      model: 'chat',
      max_tokens: 100,
      temperature: 0,
      messages: [{ role: 'user', content: 'Say hello' }],
    };
    const headers = { 'x-api-key': MASTER_KEY };
    const first = await postJson(`${t.url}/v1/messages`, body, headers);
    expect(first.headers.get('x-gw-cache')).toBe('miss');
    const message = (await first.json()) as { content: Array<{ text: string }> };
    const second = await postJson(`${t.url}/v1/messages`, body, headers);
    expect(second.headers.get('x-gw-cache')).toBe('hit');
    const cached = (await second.json()) as { content: Array<{ text: string }>; usage: { output_tokens: number } };
    expect(cached.content[0]?.text).toBe(message.content[0]?.text);
    expect(cached.usage.output_tokens).toBe(100);
    const stream = await postJson(`${t.url}/v1/messages`, { ...body, stream: true }, headers);
    expect(stream.headers.get('x-gw-cache')).toBe('hit');
    const text = await stream.text();
    expect(text).toContain('event: message_start');
    expect(text).toContain('event: message_stop');
    expect(text).toContain(JSON.stringify(message.content[0]?.text).slice(1, -1));
    expect(t.upstream.requests).toHaveLength(1);
  });
});

describe.skipIf(REDIS_URL === '')('the response cache in Redis', () => {
  it('shares answers through Redis and expires them with the TTL', async () => {
    const redis = { url: REDIS_URL, prefix: PREFIX };
    const t = await startCached({ cache: { enabled: true, store: 'redis', ttlSeconds: 1 }, redis });
    expect((await send(t.url, deterministic())).cache).toBe('miss');
    await waitFor(async () => (await send(t.url, deterministic())).cache === 'hit', 5000);
    await waitFor(async () => (await send(t.url, deterministic())).cache === 'miss', 10_000);
  });

  it('answers from upstream when Redis cannot be reached, and says so once in the log', async () => {
    const redis = { url: 'redis://127.0.0.1:1', prefix: PREFIX, timeoutMs: 50 };
    const t = await startCached({ cache: { enabled: true, store: 'redis' }, redis });
    for (let index = 0; index < 3; index += 1) {
      const answer = await send(t.url, deterministic());
      expect(answer.status).toBe(200);
      expect(answer.cache).toBe('miss');
    }
    expect(t.upstream.requests).toHaveLength(3);
    expect(t.logs.filter((line) => line.includes('the response cache cannot reach redis'))).toHaveLength(1);
  });
});
