import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProvider } from '../create-provider.ts';
import { PROVIDER_KINDS } from '../provider-kinds.ts';
import type { StandInKind, StandInUpstream } from './stand-in-types.ts';
import { startStandInUpstream } from './stand-in-upstream.ts';

let upstream: StandInUpstream;

beforeAll(async () => {
  upstream = await startStandInUpstream();
});
afterAll(async () => {
  await upstream.close();
});

const kinds = PROVIDER_KINDS.filter((kind): kind is StandInKind => kind !== 'demo');

describe('urlFor', () => {
  it('gives the vendor paths: /v1beta for Gemini, /v1 for Anthropic and OpenAI, the root for Azure and Bedrock', () => {
    expect(upstream.urlFor('gemini')).toBe(`${upstream.url}/v1beta`);
    expect(upstream.urlFor('anthropic')).toBe(`${upstream.url}/v1`);
    expect(upstream.urlFor('openai')).toBe(upstream.baseUrl);
    expect(upstream.urlFor('azure-openai')).toBe(upstream.url);
    expect(upstream.urlFor('bedrock')).toBe(upstream.url);
  });

  it.each(kinds)('is a base URL a %s provider answers a chat and a stream through', async (kind) => {
    upstream.reset();
    const provider = createProvider({
      kind,
      baseUrl: upstream.urlFor(kind),
      apiKey: 'test-key',
      ...(kind === 'bedrock' ? { region: 'us-east-1' } : {}),
    });
    const model = kind === 'bedrock' ? 'anthropic.claude-3-5-haiku-20241022-v1:0' : 'gpt-4o-mini';
    const request = { model, messages: [{ role: 'user' as const, content: 'Hi' }] };
    const response = await provider.chat(request);
    expect(response.choices[0]?.message.content).toEqual(expect.any(String));
    const chunks = [];
    for await (const chunk of provider.chatStream({ ...request, stream: true })) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(0);
    expect(upstream.requests.map((recorded) => recorded.path)).toHaveLength(2);
  });
});
