// Who served: x-gw-provider, x-gw-model, x-gw-attempts and x-gw-fallback on every /v1 answer that reached an
// upstream, JSON and SSE, success and failure, over real HTTP (client -> gateway -> stand-in).
import { describe, expect, it } from 'vitest';
import { chatBody, gatewayPerTest, postJson, TEST_VENDOR_KEY } from '../../test-helpers.ts';

const start = gatewayPerTest();

const SERVED = ['x-gw-provider', 'x-gw-model', 'x-gw-attempts', 'x-gw-fallback'] as const;

function served(response: Response): Record<string, string | null> {
  return Object.fromEntries(SERVED.map((name) => [name, response.headers.get(name)]));
}

describe('served headers', () => {
  it('a JSON chat answer names the provider and the upstream model, one attempt, no fallback', async () => {
    const t = await start();
    const response = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
    expect(response.status).toBe(200);
    expect(served(response)).toEqual({
      'x-gw-provider': 'up',
      'x-gw-model': 'gpt-4o-mini',
      'x-gw-attempts': '1',
      'x-gw-fallback': null,
    });
  });

  it('a streamed answer carries them in its head, on every ingress format', async () => {
    const t = await start();
    const chat = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat', { stream: true }));
    const messages = await postJson(`${t.url}/v1/messages`, {
      model: 'up/gpt-4o',
      max_tokens: 64,
      stream: true,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    const responses = await postJson(`${t.url}/v1/responses`, { model: 'chat', input: 'Hi', stream: true });
    for (const [response, model] of [
      [chat, 'gpt-4o-mini'],
      [messages, 'gpt-4o'],
      [responses, 'gpt-4o-mini'],
    ] as const) {
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      expect(served(response)).toEqual({
        'x-gw-provider': 'up',
        'x-gw-model': model,
        'x-gw-attempts': '1',
        'x-gw-fallback': null,
      });
      await response.text();
    }
  });

  it('retries and a fallback: the attempts counted from 1, and the fallback alias that served', async () => {
    const t = await start({
      config: (upstream) => ({
        providers: [
          // Nothing listens on port 9: every call fails to connect.
          { id: 'dead', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: 'http://127.0.0.1:9/v1' },
          { id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl },
        ],
        models: [
          { name: 'chat', targets: [{ provider: 'dead', model: 'gpt-4o' }], fallbacks: ['backup'] },
          { name: 'backup', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] },
        ],
        retry: { maxRetries: 1, baseDelayMs: 1 },
        breaker: { enabled: false },
      }),
    });
    const json = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
    expect(json.status).toBe(200);
    expect(served(json)).toEqual({
      'x-gw-provider': 'up',
      'x-gw-model': 'gpt-4o-mini',
      'x-gw-attempts': '3',
      'x-gw-fallback': 'backup',
    });
    const stream = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat', { stream: true }));
    expect(served(stream)).toEqual({
      'x-gw-provider': 'up',
      'x-gw-model': 'gpt-4o-mini',
      'x-gw-attempts': '3',
      'x-gw-fallback': 'backup',
    });
    await stream.text();
  });

  it('an upstream refusal still says who refused; an answer that never reached an upstream has none', async () => {
    const t = await start();
    t.upstream.enqueue({
      type: 'error',
      status: 400,
      body: { error: { message: 'bad', type: 'invalid_request_error' } },
    });
    const refused = await postJson(`${t.url}/v1/chat/completions`, chatBody('chat'));
    expect(refused.status).toBe(400);
    expect(served(refused)).toMatchObject({ 'x-gw-provider': 'up', 'x-gw-model': 'gpt-4o-mini', 'x-gw-attempts': '1' });

    const unknown = await postJson(`${t.url}/v1/chat/completions`, chatBody('no-such-model'));
    expect(unknown.status).toBe(404);
    expect(served(unknown)).toEqual({
      'x-gw-provider': null,
      'x-gw-model': null,
      'x-gw-attempts': null,
      'x-gw-fallback': null,
    });
    expect(t.upstream.requests).toHaveLength(1);
  });

  it('embeddings say who served too', async () => {
    const t = await start({
      config: (upstream) => ({
        providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl }],
        models: [{ name: 'embed', targets: [{ provider: 'up', model: 'text-embedding-3-small' }] }],
      }),
    });
    const response = await postJson(`${t.url}/v1/embeddings`, { model: 'embed', input: 'hello' });
    expect(response.status).toBe(200);
    expect(served(response)).toMatchObject({ 'x-gw-provider': 'up', 'x-gw-model': 'text-embedding-3-small' });
  });
});
