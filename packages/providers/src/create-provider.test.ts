import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createProvider } from './create-provider.ts';
import { isProviderError } from './provider-error.ts';
import type { ProviderError } from './provider-error.ts';
import { getProviderKindInfo, PROVIDER_KINDS } from './provider-kinds.ts';
import type { ProviderKind } from './provider-kinds.ts';
import { startStandInUpstream } from './testing/stand-in-upstream.ts';
import type { StandInUpstream } from './testing/stand-in-types.ts';
import type { Transport } from './transport.ts';

let upstream: StandInUpstream;

beforeAll(async () => {
  upstream = await startStandInUpstream();
});
afterEach(() => upstream.reset());
afterAll(async () => {
  await upstream.close();
});

function thrown(run: () => unknown): ProviderError {
  try {
    run();
  } catch (error) {
    if (isProviderError(error)) return error;
    throw error;
  }
  throw new Error('expected a throw');
}

const DEFAULT_URLS: Array<[ProviderKind, string]> = [
  ['openai', 'https://api.openai.com/v1'],
  ['deepseek', 'https://api.deepseek.com'],
  ['moonshot', 'https://api.moonshot.ai/v1'],
  ['zhipu', 'https://open.bigmodel.cn/api/paas/v4'],
  ['dashscope', 'https://dashscope.aliyuncs.com/compatible-mode/v1'],
  ['qianfan', 'https://qianfan.baidubce.com/v2'],
  ['hunyuan', 'https://api.hunyuan.cloud.tencent.com/v1'],
  ['doubao', 'https://ark.cn-beijing.volces.com/api/v3'],
  ['mistral', 'https://api.mistral.ai/v1'],
  ['groq', 'https://api.groq.com/openai/v1'],
  ['ollama', 'http://127.0.0.1:11434/v1'],
  ['vllm', 'http://127.0.0.1:8000/v1'],
];

describe('the kind table', () => {
  it('lists every kind once, every one of them supported', () => {
    expect(new Set(PROVIDER_KINDS).size).toBe(18);
    const unsupported = PROVIDER_KINDS.filter((kind) => !getProviderKindInfo(kind).supported);
    expect(unsupported).toEqual([]);
  });

  it.each(DEFAULT_URLS)('%s defaults to %s', (kind, url) => {
    expect(getProviderKindInfo(kind)).toMatchObject({ kind, defaultBaseUrl: url, supported: true });
  });

  it('supports gemini natively at the public v1beta endpoint', () => {
    expect(getProviderKindInfo('gemini')).toMatchObject({
      defaultBaseUrl: 'https://generativelanguage.googleapis.com/v1beta',
      supported: true,
    });
    expect(createProvider({ kind: 'gemini', apiKey: 'AIza-1234' }).kind).toBe('gemini');
  });

  it('needs an API key except for ollama, vllm, openai-compatible, bedrock (which can sign with AWS keys) and demo', () => {
    const keyless = PROVIDER_KINDS.filter((kind) => !getProviderKindInfo(kind).requiresApiKey);
    expect(keyless).toEqual(['openai-compatible', 'bedrock', 'ollama', 'vllm', 'demo']);
  });
});

describe('createProvider', () => {
  // A fetch that records where the adapter meant to go, then sends the same request to the stand-in instead:
  // the real HTTP exchange still happens, only the host is swapped.
  function redirectingFetch(defaultBaseUrl: string, seen: string[]): typeof globalThis.fetch {
    return async (input, init) => {
      const request = new Request(input, init);
      seen.push(`${request.method} ${request.url}`);
      const target = upstream.baseUrl + request.url.slice(defaultBaseUrl.length);
      const body = request.method === 'GET' ? undefined : await request.text();
      return fetch(target, {
        method: request.method,
        headers: request.headers,
        signal: request.signal,
        ...(body === undefined ? {} : { body }),
      });
    };
  }

  it.each(DEFAULT_URLS)('%s calls %s/chat/completions, /embeddings and /models', async (kind, url) => {
    const seen: string[] = [];
    const provider = createProvider({ kind, apiKey: 'key-for-tests', fetch: redirectingFetch(url, seen) });
    await provider.chat({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    await provider.embed({ model: 'e', input: 'hi' });
    await provider.listModels();
    expect(seen).toEqual([`POST ${url}/chat/completions`, `POST ${url}/embeddings`, `GET ${url}/models`]);
    expect(upstream.requests[0]?.headers['authorization']).toBe('Bearer key-for-tests');
    expect(provider.id).toBe(kind);
    expect(provider.kind).toBe(kind);
  });

  it('sends no Authorization header without a key', async () => {
    const provider = createProvider({ kind: 'ollama', baseUrl: upstream.baseUrl, apiKey: '' });
    await provider.chat({ model: 'llama3', messages: [{ role: 'user', content: 'hi' }] });
    expect(upstream.requests[0]?.headers['authorization']).toBeUndefined();
  });

  it('uses a configured baseUrl over the default, with or without a trailing slash', async () => {
    const provider = createProvider({ kind: 'openai', id: 'mine', baseUrl: `${upstream.baseUrl}/`, apiKey: 'k-1234' });
    await provider.listModels();
    expect(provider.id).toBe('mine');
    expect(upstream.requests[0]?.path).toBe('/v1/models');
  });

  it('creates the native Anthropic adapter for kind anthropic, on its default base URL', () => {
    const provider = createProvider({ kind: 'anthropic', apiKey: 'sk-ant-1234' });
    expect(provider).toMatchObject({ id: 'anthropic', kind: 'anthropic' });
    expect(getProviderKindInfo('anthropic')).toMatchObject({
      supported: true,
      defaultBaseUrl: 'https://api.anthropic.com/v1',
    });
  });

  it('requires a baseUrl for openai-compatible', () => {
    const error = thrown(() => createProvider({ kind: 'openai-compatible' }));
    expect(error.kind).toBe('invalid_request');
    expect(error.message).toContain('baseUrl is required');
  });

  it('refuses an invalid baseUrl and an unknown kind', () => {
    expect(thrown(() => createProvider({ kind: 'openai', baseUrl: 'not a url' })).message).toContain('not a valid URL');
    expect(thrown(() => createProvider({ kind: 'openai', baseUrl: 'ftp://x' })).message).toContain('http(s)');
    const unknownKind = JSON.parse('{"kind":"openia"}');
    expect(thrown(() => createProvider(unknownKind)).message).toContain('Unknown provider kind "openia"');
  });
});

describe('a transport in the config', () => {
  const cases: Array<[ProviderKind, () => string]> = [
    ['openai', () => upstream.baseUrl],
    ['azure-openai', () => upstream.url],
    ['anthropic', () => upstream.baseUrl],
    ['gemini', () => `${upstream.url}/v1beta`],
  ];

  it.each(cases)(
    '%s: carries the chat calls, JSON and streamed, while fetch serves the rest',
    async (kind, baseUrl) => {
      const sent: string[] = [];
      const fetched: string[] = [];
      const transport: Transport = (url, request) => {
        sent.push(`${request.method} ${new URL(url).pathname}`);
        return fetch(url, request);
      };
      const recordingFetch: typeof fetch = (input, init) => {
        fetched.push(String(input instanceof Request ? input.url : input));
        return fetch(input, init);
      };
      const provider = createProvider({
        kind,
        baseUrl: baseUrl(),
        apiKey: 'sk-transport-test-0000',
        transport,
        fetch: recordingFetch,
      });
      const request = { model: 'm-1', messages: [{ role: 'user' as const, content: 'hi' }] };
      upstream.enqueue({ type: 'chat', content: 'Hello from JSON.' });
      expect((await provider.chat(request)).choices[0]?.message.content).toBe('Hello from JSON.');
      upstream.enqueue({ type: 'chat', content: 'Hello from a stream.' });
      let text = '';
      for await (const chunk of provider.chatStream(request)) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe('Hello from a stream.');
      expect(sent).toHaveLength(2);
      expect(sent.every((line) => line.startsWith('POST '))).toBe(true);
      expect(fetched).toEqual([]);
    },
  );
});
