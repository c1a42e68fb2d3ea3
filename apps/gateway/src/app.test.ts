import { describe, expect, it } from 'vitest';
import { chatBody, gatewayPerTest, postJson, TEST_VENDOR_KEY } from './test-helpers.ts';

const start = gatewayPerTest();

const UNSET_KEY = '${NOT_SET_IN_TESTS:-}';

/** One enabled provider on the stand-in, one without key, one not supported yet. */
function mixedProviders(upstream: { baseUrl: string }): Record<string, unknown> {
  return {
    providers: [
      { id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl },
      { id: 'nokey', kind: 'deepseek', apiKey: UNSET_KEY },
      // Bedrock without a region cannot be reached: disabled, with that reason.
      { id: 'claude', kind: 'bedrock', apiKey: 'sk-ant-not-a-real-key-123' },
    ],
    models: [
      {
        name: 'chat',
        targets: [
          { provider: 'up', model: 'gpt-4o-mini' },
          { provider: 'nokey', model: 'deepseek-chat' },
        ],
      },
      { name: 'cheap', targets: [{ provider: 'nokey', model: 'deepseek-chat' }] },
      { name: 'smart', targets: [{ provider: 'claude', model: 'claude-sonnet-4-5' }] },
    ],
  };
}

describe('routes and errors', () => {
  it('answers unknown routes with a 404 envelope', async () => {
    const { url } = await start();
    const response = await fetch(`${url}/v2/whatever`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: {
        message: 'Unknown route: GET /v2/whatever',
        type: 'invalid_request_error',
        code: 'unknown_route',
        param: null,
      },
    });
    expect((await postJson(`${url}/v1/completions`, {})).status).toBe(404);
  });

  it('answers a wrong method with a 405 envelope and Allow', async () => {
    const { url } = await start();
    const get = await fetch(`${url}/v1/chat/completions`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(await get.json()).toMatchObject({ error: { code: 'method_not_allowed', type: 'invalid_request_error' } });
    const post = await postJson(`${url}/v1/models`, {});
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toContain('GET');
  });
});

describe('GET /v1/models', () => {
  it('lists usable aliases and provider-id/model of enabled providers, in the OpenAI list format', async () => {
    const { url } = await start({ config: mixedProviders });
    const response = await fetch(`${url}/v1/models`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      object: string;
      data: Array<{ id: string; object: string; created: number; owned_by: string }>;
    };
    expect(body.object).toBe('list');
    expect(body.data.map((model) => model.id)).toEqual(['chat', 'up/gpt-4o-mini']);
    for (const model of body.data) {
      expect(model).toMatchObject({ object: 'model', owned_by: 'gw' });
      expect(Number.isInteger(model.created)).toBe(true);
    }
  });
});

describe('disabled providers', () => {
  it('reports each disabled provider once at start, with the reason and never the key', async () => {
    const { logs } = await start({ config: mixedProviders });
    const nokey = logs.filter((line) => line.includes('"nokey"'));
    const claude = logs.filter((line) => line.includes('"claude"') && line.includes('disabled'));
    expect(nokey.filter((line) => line.includes('disabled'))).toHaveLength(1);
    expect(nokey.join('')).toContain('apiKey is empty');
    expect(claude).toHaveLength(1);
    expect(claude[0]).toContain('region');
    expect(logs.join('')).not.toContain('sk-ant-not-a-real-key-123');
  });

  it('skips targets on disabled providers', async () => {
    const { url, upstream } = await start({ config: mixedProviders });
    for (let index = 0; index < 4; index++) {
      expect((await postJson(`${url}/v1/chat/completions`, chatBody('chat'))).status).toBe(200);
    }
    expect(upstream.requests).toHaveLength(4);
  });

  it('answers 503 with the reason for a model left without usable targets', async () => {
    const { url, logs } = await start({ config: mixedProviders });
    const response = await postJson(`${url}/v1/chat/completions`, chatBody('cheap'));
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: { message: string; code: string } };
    expect(body.error.code).toBe('model_unavailable');
    expect(body.error.message).toContain('nokey');
    expect(body.error.message).toContain('apiKey is empty');
    expect(logs.some((line) => line.includes('model \\"cheap\\" has no usable target'))).toBe(true);

    const smart = await postJson(`${url}/v1/chat/completions`, chatBody('smart'));
    expect(smart.status).toBe(503);
    expect(await smart.text()).not.toContain('sk-ant-not-a-real-key-123');
  });

  it('answers 503 when a disabled provider is addressed directly', async () => {
    const { url } = await start({ config: mixedProviders });
    const response = await postJson(`${url}/v1/chat/completions`, chatBody('nokey/deepseek-chat'));
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: { code: 'provider_disabled' } });
  });
});

describe('health', () => {
  it('is live and ready with an enabled provider', async () => {
    const { url } = await start();
    const live = await fetch(`${url}/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(200);
  });

  it('is not ready without an enabled provider, and says why', async () => {
    const { url } = await start({ config: { providers: [{ id: 'nokey', kind: 'openai', apiKey: UNSET_KEY }] } });
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ reason: 'no enabled provider' });
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
  });

  it('starts on an empty configuration (embedded defaults)', async () => {
    const { url, logs } = await start({ config: {} });
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    expect((await fetch(`${url}/health/ready`)).status).toBe(503);
    expect(logs.some((line) => line.includes('OPEN DEV MODE'))).toBe(true);
  });
});
