// What a hostile client can send must cost it a 4xx, never the gateway's time or the deployment's health.
import { waitFor } from '@gw/test-kit';
import { describe, expect, it } from 'vitest';
import { bearerToken } from './middleware/auth.ts';
import { chatBody, gatewayPerTest, postJson, TEST_VENDOR_KEY } from './test-helpers.ts';

const start = gatewayPerTest();
const MASTER_KEY = 'client-input-master-key-0123456789';

/** `[[[…]]]` nested `depth` levels. */
function nested(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

describe('the Authorization header', () => {
  it('is read in time linear in its length (no backtracking pattern)', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer \t abc \t')).toBe('abc');
    expect(bearerToken('Bearer ')).toBeUndefined();
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearerabc')).toBeUndefined();
    // The shape that made the old pattern quadratic: a token, a long run of blanks, one more character.
    expect(bearerToken(`Bearer x${' '.repeat(15_000)}y`)).toBe(`x${' '.repeat(15_000)}y`);
  });

  it('answers 60 crafted 15 KB headers with 401 while /health/live keeps answering', async () => {
    const t = await start({
      config: (upstream) => ({
        auth: { masterKey: MASTER_KEY },
        providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
        models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
      }),
    });
    const crafted = `Bearer x${' \t'.repeat(7_500)}y`;
    // At 0.5 s of CPU each under the old pattern, these alone took half a minute (the test's time limit is 20 s).
    const attacks = Array.from({ length: 60 }, () =>
      postJson(`${t.url}/v1/chat/completions`, chatBody('chat'), { authorization: crafted }),
    );
    const live = await fetch(`${t.url}/health/live`);
    expect(live.status).toBe(200);
    const statuses = await Promise.all(attacks.map(async (response) => (await response).status));
    expect(statuses.every((status) => status === 401)).toBe(true);
    expect(t.upstream.requests).toHaveLength(0);
  });
});

describe('deeply nested bodies', () => {
  it('are refused with 400 json_too_deep on every route, before routing, and never open the breaker', async () => {
    const t = await start({
      config: (upstream) => ({
        providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
        models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
        retry: { maxRetries: 2, baseDelayMs: 1 },
        breaker: { enabled: true, mode: 'consecutive', threshold: 1, halfOpenAfterMs: 60_000 },
      }),
    });
    const deep = nested(5_000);
    const bodies: Array<[string, string]> = [
      ['/v1/chat/completions', `{"model":"chat","messages":[{"role":"user","content":"hi"}],"metadata_extra":${deep}}`],
      [
        '/v1/chat/completions',
        `{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}],"x":${deep}}`,
      ],
      ['/v1/embeddings', `{"model":"chat","input":"hi","x":${deep}}`],
      ['/v1/messages', `{"model":"chat","max_tokens":8,"messages":[{"role":"user","content":"hi"}],"x":${deep}}`],
    ];
    for (const [path, body] of bodies) {
      const response = await fetch(`${t.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(response.status, path).toBe(400);
      const text = await response.text();
      if (path === '/v1/messages') expect(JSON.parse(text)).toMatchObject({ error: { type: 'invalid_request_error' } });
      else expect(JSON.parse(text)).toMatchObject({ error: { code: 'json_too_deep', type: 'invalid_request_error' } });
      // The answer names the field the deep value is in.
      const field = body.includes('metadata_extra') ? 'metadata_extra' : 'x';
      expect(text).toContain(`field \\"${field}\\" nests`);
      if (path !== '/v1/messages') expect(JSON.parse(text)).toMatchObject({ error: { param: field } });
    }
    expect(t.upstream.requests).toHaveLength(0);
    // The deployment is as healthy as before: the next client is served.
    const next = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
    expect(next.status).toBe(200);
    expect(t.gateway.state.healthView().breakers.every((breaker) => breaker.state === 'closed')).toBe(true);
  });

  it('are accepted up to server.maxJsonDepth', async () => {
    const t = await start({
      config: (upstream) => ({
        server: { maxJsonDepth: 12 },
        providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
        models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
      }),
    });
    // The body itself is one level, `x` ten more: eleven in all.
    const ok = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      body: `{"model":"chat","messages":[{"role":"user","content":"hi"}],"x":${nested(10)}}`,
    });
    expect(ok.status).toBe(200);
    const deep = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      body: `{"model":"chat","messages":[{"role":"user","content":"hi"}],"x":${nested(12)}}`,
    });
    expect(deep.status).toBe(400);
    await waitFor(() => t.upstream.requests.length === 1);
  });
});

describe('dot segments in a model name', () => {
  it('never reach the upstream path: `.` and `..` as a deployment or model id are a 400 before any call', async () => {
    const t = await start({
      config: (upstream) => ({
        providers: [
          { id: 'azure', kind: 'azure-openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.url },
          { id: 'aws', kind: 'bedrock', region: 'us-east-1', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.url },
        ],
        retry: { maxRetries: 2, baseDelayMs: 1 },
        breaker: { enabled: true, mode: 'consecutive', threshold: 1, halfOpenAfterMs: 60_000 },
      }),
    });
    for (const model of ['azure/..', 'azure/.', 'aws/..', 'aws/.']) {
      for (const stream of [false, true]) {
        const response = await postJson(`${t.url}/v1/chat/completions`, chatBody(model, { stream }));
        expect(response.status, model).toBe(400);
        expect(await response.json()).toMatchObject({
          error: { type: 'invalid_request_error', code: 'invalid_model_name', param: 'model' },
        });
      }
    }
    expect(t.upstream.requests).toHaveLength(0);
    // The deployments are as healthy as before: a real deployment name is served.
    const served = await postJson(`${t.url}/v1/chat/completions`, chatBody('azure/gpt-4o-mini'));
    expect(served.status).toBe(200);
    expect(t.upstream.requests[0]?.path).toBe('/openai/deployments/gpt-4o-mini/chat/completions');
    expect(t.gateway.state.healthView().breakers.every((breaker) => breaker.state === 'closed')).toBe(true);
  });
});
