// The operator's admin routes over HTTP: provider queues changed live, statistics since start, the running
// configuration with its secrets masked.
import { describe, expect, it } from 'vitest';
import { chatBody, gatewayPerTest, postJson, TEST_VENDOR_KEY } from '../../test-helpers.ts';

const start = gatewayPerTest();
const MASTER_KEY = 'admin-operations-master-key-0123456789';
const MASTER = { authorization: `Bearer ${MASTER_KEY}` };

async function admin(
  url: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${url}/admin${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...MASTER },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function chats(url: string, count: number, model = 'chat'): Promise<number[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const response = await postJson(`${url}/v1/chat/completions`, chatBody(model), MASTER);
      await response.text();
      return response.status;
    }),
  );
}

describe('admin: queues', () => {
  it('runs calls one at a time after PATCH max_concurrency 1, and side by side again after null', async () => {
    const t = await start({
      config: (upstream) => ({
        auth: { masterKey: MASTER_KEY },
        providers: [{ id: 'glm', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
        models: [{ name: 'chat', targets: [{ provider: 'glm', model: 'gpt-4o-mini' }] }],
        retry: { maxRetries: 0 },
      }),
    });
    t.upstream.setDefault({ type: 'chat', delayMs: 30 });
    expect((await admin(t.url, 'GET', '/queues')).json).toEqual({ data: [] });

    const patched = await admin(t.url, 'PATCH', '/queues/glm', { max_concurrency: 1 });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ provider: 'glm', max_concurrency: 1, configured_max_concurrency: null });
    expect(await chats(t.url, 10)).toEqual(Array(10).fill(200));
    expect(t.upstream.peakInFlight).toBe(1);
    expect((await admin(t.url, 'GET', '/queues')).json).toMatchObject({
      data: [{ provider: 'glm', running: 0, queued: 0, max_concurrency: 1, override: 1 }],
    });

    // Back to the configured value (no cap) while calls wait: none is dropped, and the rest run side by side.
    t.upstream.reset();
    const pending = chats(t.url, 10);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await admin(t.url, 'PATCH', '/queues/glm', { max_concurrency: null })).status).toBe(200);
    expect(await pending).toEqual(Array(10).fill(200));
    t.upstream.reset();
    expect(await chats(t.url, 10)).toEqual(Array(10).fill(200));
    expect(t.upstream.peakInFlight).toBeGreaterThan(1);
    expect((await admin(t.url, 'GET', '/queues')).json).toEqual({ data: [] });
  });

  it('refuses an unknown provider, a bad value, and a provider whose concurrency is adaptive', async () => {
    const t = await start({
      config: (upstream) => ({
        auth: { masterKey: MASTER_KEY },
        providers: [
          {
            id: 'up',
            kind: 'openai',
            apiKey: TEST_VENDOR_KEY,
            baseUrl: upstream.baseUrl,
            maxConcurrency: 4,
            adaptiveConcurrency: { min: 1 },
          },
        ],
      }),
    });
    expect((await admin(t.url, 'PATCH', '/queues/nope', { max_concurrency: 1 })).json).toMatchObject({
      error: { code: 'provider_not_found' },
    });
    const adaptive = await admin(t.url, 'PATCH', '/queues/up', { max_concurrency: 1 });
    expect(adaptive.status).toBe(409);
    expect(adaptive.json).toMatchObject({ error: { code: 'adaptive_concurrency' } });
    expect((await admin(t.url, 'GET', '/queues')).json).toMatchObject({
      data: [{ provider: 'up', max_concurrency: 4, configured_max_concurrency: 4, adaptive: true }],
    });
  });

  it('answers only to the master key', async () => {
    const t = await start({
      config: (upstream) => ({
        auth: { masterKey: MASTER_KEY },
        providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
      }),
    });
    for (const path of ['/queues', '/stats', '/config', '/providers']) {
      expect((await fetch(`${t.url}/admin${path}`)).status).toBe(401);
    }
  });
});

describe('admin: stats', () => {
  it('counts retries by kind, give-ups, breaker transitions, fallbacks and requests since start', async () => {
    const t = await start({
      config: (upstream) => ({
        auth: { masterKey: MASTER_KEY },
        providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
        models: [
          { name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }], fallbacks: ['backup'] },
          { name: 'backup', targets: [{ provider: 'up', model: 'gpt-4o' }] },
        ],
        retry: { maxRetries: 1, baseDelayMs: 0 },
        breaker: { threshold: 2 },
      }),
    });
    t.upstream.enqueue({ type: 'error', status: 500 }, { type: 'error', status: 500 });
    expect(await chats(t.url, 1)).toEqual([200]);

    const { status, json } = await admin(t.url, 'GET', '/stats');
    expect(status).toBe(200);
    expect(json).toMatchObject({
      requests: { total: 1, completed: 1, failed: 0, fallback: 1 },
      retries: { total: 1, by_kind: { server: 1 } },
      give_ups: { total: 1, by_reason: { max_retries: 1 } },
      breaker_transitions: {
        total: 1,
        by_state: { open: 1 },
        by_deployment: [{ deployment: 'up/gpt-4o-mini', from: 'closed', to: 'open', count: 1 }],
      },
      fallbacks: { total: 1, by_reason: { retryable: 1 }, by_pair: [{ from: 'chat', to: 'backup', count: 1 }] },
      reloads: { ok: 0, error: 0 },
    });
    expect(json['deployments']).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          deployment: 'up/gpt-4o-mini',
          retry: expect.objectContaining({ retries: 1, give_ups: 1 }),
          breaker: expect.objectContaining({ state: 'open', opens: 1 }),
        }),
      ]),
    );
  });
});

describe('admin: config', () => {
  it('shows the running configuration with every secret masked, and no reload yet', async () => {
    const t = await start({
      config: (upstream) => ({
        auth: { masterKey: MASTER_KEY },
        metrics: { bearerToken: 'metrics-token-0123456789abcdef' },
        providers: [
          {
            id: 'up',
            kind: 'openai',
            apiKey: TEST_VENDOR_KEY,
            baseUrl: upstream.baseUrl,
            headers: { 'x-extra-key': 'header-secret-0123456789' },
          },
        ],
        models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
      }),
    });
    const { status, json } = await admin(t.url, 'GET', '/config');
    expect(status).toBe(200);
    const text = JSON.stringify(json);
    for (const secret of [MASTER_KEY, TEST_VENDOR_KEY, 'metrics-token-0123456789abcdef', 'header-secret-0123456789']) {
      expect(text).not.toContain(secret);
    }
    expect(json).toMatchObject({
      source: null,
      pending_restart: [],
      last_reload: null,
      config: {
        auth: { masterKey: 'adm…6789' },
        providers: [{ id: 'up', apiKey: 'sk-…cdef', headers: { 'x-extra-key': 'hea…6789' } }],
        models: [{ name: 'chat' }],
      },
    });
  });
});
