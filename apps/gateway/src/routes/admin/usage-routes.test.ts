import { waitFor } from '@gw/test-kit';
import { describe, expect, it } from 'vitest';
import { chatBody, gatewayPerTest, postJson, TEST_VENDOR_KEY } from '../../test-helpers.ts';

const start = gatewayPerTest();
const MASTER_KEY = 'admin-usage-master-key-0123456789';
const admin = { authorization: `Bearer ${MASTER_KEY}` };

interface Row {
  request_id: string;
  key_id: string | null;
  model: string;
  provider: string;
  upstream_model: string;
  status: string;
  stream: boolean;
  input_tokens: number;
  output_tokens: number;
  cost: number | null;
  currency: string | null;
  cost_breakdown: Record<string, string> | null;
  estimated: boolean;
  unpriced: boolean;
}

async function startWithLedger() {
  const t = await start({
    config: (upstream) => ({
      auth: { masterKey: MASTER_KEY },
      storage: { url: 'sqlite::memory:', flushIntervalMs: 20 },
      providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
      models: [
        { name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] },
        { name: 'own', targets: [{ provider: 'up', model: 'my-finetune' }] },
      ],
      retry: { maxRetries: 0 },
      breaker: { enabled: false },
    }),
  });
  t.upstream.setDefault({ type: 'chat', usage: { prompt_tokens: 1000, completion_tokens: 100, cached_tokens: 400 } });
  return t;
}

async function rows(url: string, query = ''): Promise<{ data: Row[]; next: string | null }> {
  const response = await fetch(`${url}/admin/requests${query}`, { headers: admin });
  expect(response.status).toBe(200);
  return (await response.json()) as { data: Row[]; next: string | null };
}

describe('admin: the ledger', () => {
  it('lists requests newest first with their cost, filters them, pages them, and shows one by id', async () => {
    const t = await startWithLedger();
    const sent: string[] = [];
    for (const model of ['chat', 'own', 'chat']) {
      const response = await postJson(`${t.url}/v1/chat/completions`, chatBody(model), {
        authorization: `Bearer ${MASTER_KEY}`,
      });
      await response.text();
      sent.push(response.headers.get('x-gw-request-id') ?? '');
    }
    t.upstream.enqueue({ type: 'error', status: 500 });
    await (
      await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), { authorization: `Bearer ${MASTER_KEY}` })
    ).text();
    await waitFor(async () => (await rows(t.url)).data.length === 4, 5000);

    const all = await rows(t.url);
    expect(all.data.map((row) => row.request_id).slice(1)).toEqual([...sent].reverse());
    const first = all.data.find((row) => row.request_id === sent[0]);
    expect(first).toMatchObject({
      model: 'chat',
      provider: 'up',
      upstream_model: 'gpt-4o-mini',
      status: 'completed',
      stream: false,
      input_tokens: 1000,
      output_tokens: 100,
      currency: 'USD',
      estimated: false,
      unpriced: false,
    });
    // 600 × $0.15 + 400 × $0.075 + 100 × $0.60 per 1M tokens, exactly.
    expect(first?.cost_breakdown).toEqual({
      input: '0.00009',
      cached_input: '0.00003',
      cache_write: '0',
      output: '0.00006',
      reasoning: '0',
      total: '0.00018',
    });
    expect(all.data.find((row) => row.request_id === sent[1])).toMatchObject({ unpriced: true, cost: null });

    expect((await rows(t.url, '?status=failed')).data).toHaveLength(1);
    expect((await rows(t.url, '?model=own')).data).toHaveLength(1);
    const page = await rows(t.url, '?limit=3');
    expect(page.data).toHaveLength(3);
    expect(page.next).not.toBeNull();
    const rest = await rows(t.url, `?limit=3&before=${page.next ?? ''}`);
    expect(rest.data.map((row) => row.request_id)).toEqual([sent[0]]);

    // The usage view says how many requests it could not price: their cost is unknown, not $0.
    const byModel = (await (await fetch(`${t.url}/admin/usage?group_by=model`, { headers: admin })).json()) as {
      data: Array<Record<string, unknown>>;
    };
    expect(byModel.data).toEqual([
      expect.objectContaining({ model: 'chat', requests: 3, unpriced_requests: 0, estimated_requests: 0 }),
      expect.objectContaining({ model: 'own', requests: 1, unpriced_requests: 1, cost_exact: '0' }),
    ]);

    const one = await fetch(`${t.url}/admin/requests/${sent[2] ?? ''}`, { headers: admin });
    expect(await one.json()).toMatchObject({ request_id: sent[2], model: 'chat' });
    const missing = await fetch(`${t.url}/admin/requests/nope`, { headers: admin });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'request_not_found' } });
  });

  it('sums usage by day, model and provider in the reporting currency', async () => {
    const t = await startWithLedger();
    for (let index = 0; index < 3; index += 1) {
      await (
        await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), { authorization: `Bearer ${MASTER_KEY}` })
      ).text();
    }
    await waitFor(async () => (await rows(t.url)).data.length === 3, 5000);
    const byModel = (await (await fetch(`${t.url}/admin/usage?group_by=model`, { headers: admin })).json()) as {
      currency: string;
      data: Array<Record<string, unknown>>;
    };
    expect(byModel).toMatchObject({
      currency: 'USD',
      data: [{ model: 'chat', requests: 3, input_tokens: 3000, output_tokens: 300, cost_exact: '0.00054' }],
    });
    const byDay = (await (await fetch(`${t.url}/admin/usage?group_by=day`, { headers: admin })).json()) as {
      data: Array<{ day: string; requests: number }>;
    };
    expect(byDay.data).toHaveLength(1);
    expect(byDay.data[0]?.day).toBe(`${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`);
    const bad = await fetch(`${t.url}/admin/usage?group_by=week`, { headers: admin });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { param: 'group_by' } });
  });

  it('tells the virtual keys apart: key_id on each row, usage per key, and one key’s requests and usage', async () => {
    const t = await startWithLedger();
    const keys: Record<string, string> = {};
    const ids: Record<string, string> = {};
    for (const name of ['team-a', 'team-b']) {
      const created = await fetch(`${t.url}/admin/keys`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
      });
      expect(created.status).toBe(201);
      const json = (await created.json()) as { id: string; key: string };
      keys[name] = json.key;
      ids[name] = json.id;
    }
    const send = async (key: string) => {
      const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), {
        authorization: `Bearer ${key}`,
      });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    };
    for (const key of [keys['team-a'], keys['team-a'], keys['team-b'], MASTER_KEY]) await send(key ?? '');
    await waitFor(async () => (await rows(t.url)).data.length === 4, 5000);

    const teamA = await rows(t.url, `?key=${ids['team-a'] ?? ''}`);
    expect(teamA.data.map((row) => row.key_id)).toEqual([ids['team-a'], ids['team-a']]);
    const usage = async (query: string) =>
      (
        (await (await fetch(`${t.url}/admin/usage?${query}`, { headers: admin })).json()) as {
          data: Array<Record<string, unknown>>;
        }
      ).data;
    // Each request: 600 input, 400 cached, 100 output tokens of gpt-4o-mini, $0.00018. The master key's is `null`.
    expect(await usage('group_by=key')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key_id: ids['team-a'], requests: 2, cost_exact: '0.00036' }),
        expect.objectContaining({ key_id: ids['team-b'], requests: 1, cost_exact: '0.00018' }),
        expect.objectContaining({ key_id: null, requests: 1, cost_exact: '0.00018' }),
      ]),
    );
    expect(await usage(`group_by=model&key=${ids['team-b'] ?? ''}`)).toEqual([
      expect.objectContaining({
        model: 'chat',
        requests: 1,
        input_tokens: 1000,
        output_tokens: 100,
        cost_exact: '0.00018',
      }),
    ]);
  });

  it('answers the usage of the last 24 hours per hour bucket and model, and p50/p95 latency per model', async () => {
    const t = await startWithLedger();
    for (const model of ['chat', 'chat', 'own']) {
      await (
        await postJson(`${t.url}/v1/chat/completions`, chatBody(model), { authorization: `Bearer ${MASTER_KEY}` })
      ).text();
    }
    t.upstream.enqueue({ type: 'error', status: 500 });
    await (
      await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), { authorization: `Bearer ${MASTER_KEY}` })
    ).text();
    await waitFor(async () => (await rows(t.url)).data.length === 4, 5000);

    const get = async (query: string) => {
      const response = await fetch(`${t.url}/admin/usage/${query}`, { headers: admin });
      return {
        status: response.status,
        json: (await response.json()) as { data: unknown; from: string; to: string; group_by: unknown },
      };
    };
    const series = await get('timeseries?bucket=hour&group_by=model');
    expect(series.status).toBe(200);
    const hour = `${new Date().toISOString().slice(0, 13)}:00:00.000Z`;
    expect(series.json).toMatchObject({ currency: 'USD', bucket: 'hour', group_by: 'model' });
    // The default range: the 24 hours before now, from the start of the first hour.
    expect(Date.parse(series.json.to) - Date.parse(series.json.from)).toBeGreaterThan(24 * 3_600_000);
    expect(Date.parse(series.json.from) % 3_600_000).toBe(0);
    expect(series.json.data).toEqual([
      expect.objectContaining({ bucket: hour, model: 'chat', requests: 3, errors: 1, cost_exact: '0.00036' }),
      expect.objectContaining({ bucket: hour, model: 'own', requests: 1, errors: 0, unpriced_requests: 1 }),
    ]);
    const total = await get('timeseries?bucket=day');
    expect(total.json.group_by).toBeNull();
    expect(total.json.data).toEqual([
      expect.objectContaining({ bucket: `${hour.slice(0, 10)}T00:00:00.000Z`, requests: 4, errors: 1 }),
    ]);

    const tooWide = await get('timeseries?bucket=hour&from=2020-01-01');
    expect(tooWide.status).toBe(400);
    expect(tooWide.json).toMatchObject({ error: { code: 'invalid_range', type: 'invalid_request_error' } });
    expect((await get('timeseries?bucket=week')).json).toMatchObject({ error: { param: 'bucket' } });
    expect((await get('timeseries?from=2026-12-03&to=2026-12-02')).status).toBe(400);

    const latency = await get('latency');
    expect(latency.status).toBe(200);
    // Only completed requests count: the failed one is left out of chat's samples.
    expect(latency.json.data).toEqual([
      {
        model: 'chat',
        latency_ms: { samples: 2, p50: expect.any(Number), p95: expect.any(Number) },
        ttft_ms: { samples: 0, p50: null, p95: null },
      },
      expect.objectContaining({ model: 'own', latency_ms: expect.objectContaining({ samples: 1 }) }),
    ]);
    expect((await fetch(`${t.url}/admin/usage/latency`)).status).toBe(401);
  });

  it('answers only to the master key', async () => {
    const t = await startWithLedger();
    expect((await fetch(`${t.url}/admin/requests`)).status).toBe(401);
    expect((await fetch(`${t.url}/admin/usage`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
  });
});
