// POST /v1/embeddings over real HTTP: the openai SDK -> gateway -> stand-in upstream.
import OpenAI, { NotFoundError, RateLimitError } from 'openai';
import type { Usage } from '@gw/providers';
import { describe, expect, it } from 'vitest';
import type { RequestOutcome } from '../../settle/settle-once.ts';
import { gatewayPerTest, NO_RETRIES, postJson } from '../../test-helpers.ts';

const start = gatewayPerTest();

function client(url: string): OpenAI {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 10_000 });
}

function embedConfig(upstream: { baseUrl: string }): Record<string, unknown> {
  return {
    providers: [{ id: 'up', kind: 'openai', apiKey: 'sk-test-vendor-key-0123456789abcdef', baseUrl: upstream.baseUrl }],
    models: [{ name: 'embed', targets: [{ provider: 'up', model: 'text-embedding-3-small' }] }],
    ...NO_RETRIES,
  };
}

describe('POST /v1/embeddings', () => {
  it('answers the openai SDK’s embeddings.create, with the upstream model name sent and usage settled', async () => {
    const settled: Array<{ usage: Usage | undefined; outcome: RequestOutcome }> = [];
    const { url, upstream } = await start({
      config: embedConfig,
      settle: (outcome) => void settled.push({ usage: outcome.usage, outcome }),
    });
    const response = await client(url).embeddings.create({
      model: 'embed',
      input: ['first text', 'second one here'],
      encoding_format: 'float',
    });
    expect(response.object).toBe('list');
    expect(response.data.map((item) => item.index)).toEqual([0, 1]);
    expect(response.data[0]?.embedding.length).toBeGreaterThan(0);
    expect(response.usage.prompt_tokens).toBeGreaterThan(0);
    expect(upstream.requests[0]).toMatchObject({
      path: '/v1/embeddings',
      body: { model: 'text-embedding-3-small', input: ['first text', 'second one here'] },
    });
    expect(settled).toHaveLength(1);
    expect(settled[0]?.usage).toMatchObject({
      prompt_tokens: response.usage.prompt_tokens,
      completion_tokens: 0,
      total_tokens: response.usage.total_tokens,
    });
    expect(settled[0]?.outcome).toMatchObject({
      status: 'completed',
      model: 'embed',
      upstreamModel: 'text-embedding-3-small',
      stream: false,
    });
  });

  it('also takes provider-id/model, and the SDK’s default base64 encoding passes through', async () => {
    const { url } = await start({ config: embedConfig });
    const response = await client(url).embeddings.create({ model: 'up/text-embedding-3-small', input: 'hello' });
    // The SDK asked for base64 and decoded it back into floats.
    expect(response.data[0]?.embedding.length).toBeGreaterThan(0);
  });

  it('rejects a request without input with a 400 naming the field, in the OpenAI envelope', async () => {
    const { url, upstream } = await start({ config: embedConfig });
    const response = await postJson(`${url}/v1/embeddings`, { model: 'embed' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: { type: 'invalid_request_error', code: 'invalid_request', param: 'input' },
    });
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 404 for an unknown model and passes an upstream 429 through', async () => {
    const { url, upstream } = await start({ config: embedConfig });
    await expect(client(url).embeddings.create({ model: 'nope', input: 'x' })).rejects.toBeInstanceOf(NotFoundError);
    upstream.enqueue({
      type: 'error',
      status: 429,
      body: { error: { message: 'Slow down', type: 'requests', code: 'rate_limit_exceeded', param: null } },
    });
    await expect(client(url).embeddings.create({ model: 'embed', input: 'x' })).rejects.toBeInstanceOf(RateLimitError);
  });

  it('answers 405 with Allow: POST for GET', async () => {
    const { url } = await start({ config: embedConfig });
    const response = await fetch(`${url}/v1/embeddings`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});
