import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collect, rejection } from './__fixtures__/provider-test-kit.ts';
import type { ChatCompletionRequest } from './chat-api.ts';
import { createProvider } from './create-provider.ts';
import { createHttpTransport, type HttpTransport } from './http-transport.ts';
import type { ProviderConfig } from './provider.ts';
import { startStandInUpstream } from './testing/stand-in-upstream.ts';
import type { StandInUpstream } from './testing/stand-in-types.ts';

// Which calls of which adapter go through the transport (all of them, for every kind), and how the transport's own
// failures reach a provider's caller.

let upstream: StandInUpstream;
let client: HttpTransport;

beforeAll(async () => {
  upstream = await startStandInUpstream();
});
afterEach(async () => {
  upstream.reset();
  upstream.setDefault({ type: 'chat' });
  await client.close();
});
afterAll(async () => {
  await upstream.close();
});

const request = (model: string): ChatCompletionRequest => ({ model, messages: [{ role: 'user', content: 'Hi' }] });

describe('every adapter call goes through the transport', () => {
  const cases: Array<{
    name: string;
    config: () => ProviderConfig;
    calls: Array<'chat' | 'stream' | 'embed' | 'models'>;
  }> = [
    {
      name: 'openai',
      config: () => ({ kind: 'openai', baseUrl: upstream.baseUrl, apiKey: 'sk-test' }),
      calls: ['chat', 'stream', 'embed', 'models'],
    },
    {
      name: 'azure-openai',
      config: () => ({ kind: 'azure-openai', baseUrl: upstream.url, apiKey: 'azure-key' }),
      calls: ['chat', 'stream', 'embed', 'models'],
    },
    {
      name: 'anthropic',
      config: () => ({ kind: 'anthropic', baseUrl: upstream.baseUrl, apiKey: 'anthropic-key' }),
      calls: ['chat', 'stream', 'models'],
    },
    {
      name: 'gemini',
      config: () => ({ kind: 'gemini', baseUrl: `${upstream.url}/v1beta`, apiKey: 'gemini-key' }),
      calls: ['chat', 'stream', 'embed', 'models'],
    },
    {
      name: 'bedrock (signed)',
      config: () => ({
        kind: 'bedrock',
        region: 'us-east-1',
        baseUrl: upstream.url,
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      }),
      calls: ['chat', 'stream'],
    },
  ];

  for (const { name, config, calls } of cases) {
    it(`${name}: ${calls.join(', ')}`, async () => {
      client = createHttpTransport({ proxyEnv: {} });
      const provider = createProvider({ ...config(), transport: client.transport });
      for (const call of calls) {
        if (call === 'chat') await provider.chat(request('m'));
        if (call === 'stream') await collect(provider.chatStream(request('m')));
        if (call === 'embed') await provider.embed({ model: 'e', input: 'hello' });
        if (call === 'models') await provider.listModels();
      }
      expect(client.stats()).toMatchObject({ requests: calls.length, inFlight: 0 });
      expect(upstream.requests).toHaveLength(calls.length);
      if (name.startsWith('bedrock'))
        expect(upstream.requests[0]?.headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIA/);
    });
  }

  it('a fetch of the caller’s own carries the calls when no transport is given', async () => {
    client = createHttpTransport({ proxyEnv: {} });
    const seen: string[] = [];
    const ownFetch: typeof fetch = async (input, init) => {
      seen.push(
        `${init?.method ?? 'GET'} ${typeof input === 'string' ? input : input instanceof URL ? input.href : input.url}`,
      );
      return fetch(input, init);
    };
    const provider = createProvider({ kind: 'openai', baseUrl: upstream.baseUrl, apiKey: 'sk-test', fetch: ownFetch });
    await provider.embed({ model: 'e', input: 'hello' });
    await provider.listModels();
    expect(seen).toEqual([`POST ${upstream.baseUrl}/embeddings`, `GET ${upstream.baseUrl}/models`]);
  });
});

describe('transport failures as provider errors', () => {
  it('a pool timeout is overloaded, code pool_timeout, retryable; nothing reached the upstream', async () => {
    client = createHttpTransport({ connections: 1, poolTimeoutMs: 50, proxyEnv: {} });
    const provider = createProvider({
      kind: 'openai',
      baseUrl: upstream.baseUrl,
      apiKey: 'sk-test',
      transport: client.transport,
    });
    upstream.enqueue({ type: 'chat', stallAfterChunks: 1 });
    // The stalled stream holds the only connection.
    const stream = provider.chatStream(request('m'));
    await stream.next();
    const error = await rejection(provider.chat(request('m')));
    expect([error.kind, error.code, error.retryable, error.provider]).toEqual([
      'overloaded',
      'pool_timeout',
      true,
      'openai',
    ]);
    expect(upstream.requests).toHaveLength(1);
    expect(client.stats()).toMatchObject({ poolTimeouts: 1, inFlight: 1 });
    await stream.return?.();
    for (let tries = 0; client.stats().inFlight > 0 && tries < 200; tries += 1)
      await new Promise((resolve) => setTimeout(resolve, 5));
    expect(client.stats().inFlight).toBe(0);
  });

  it('a refused connection is a connection error that names the code and not the key', async () => {
    client = createHttpTransport({ proxyEnv: {} });
    const closed = await startStandInUpstream();
    await closed.close();
    const provider = createProvider({
      kind: 'openai',
      baseUrl: closed.baseUrl,
      apiKey: 'sk-very-secret',
      transport: client.transport,
    });
    const error = await rejection(provider.chat(request('m')));
    expect([error.kind, error.retryable, error.message]).toEqual([
      'connection',
      true,
      'The connection to the upstream failed (ECONNREFUSED)',
    ]);
    expect(JSON.stringify(error)).not.toContain('sk-very-secret');
  });
});
