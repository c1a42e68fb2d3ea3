import { describe, expect, it } from 'vitest';
import type { StandInUpstream } from '@gw/providers/testing';
import { sseData } from '@gw/test-kit';
import { chatBody, gatewayPerTest, postJson } from '../../test-helpers.ts';

// The gateway in front of a Gemini provider (the stand-in's /v1beta dialect): the client speaks OpenAI, the
// upstream receives Gemini, and every stream ends with usage the ledger can bill.

const start = gatewayPerTest();
const GEMINI_KEY = 'AIzaSyGatewayTest0123456789';

function geminiConfig(upstream: StandInUpstream): Record<string, unknown> {
  return {
    providers: [{ id: 'g', kind: 'gemini', apiKey: GEMINI_KEY, baseUrl: `${upstream.url}/v1beta` }],
    models: [{ name: 'chat', targets: [{ provider: 'g', model: 'gemini-2.5-flash' }] }],
  };
}

describe('a gemini provider behind the gateway', () => {
  it('answers an OpenAI chat request from Gemini generateContent', async () => {
    const { url, upstream } = await start({ config: geminiConfig });
    upstream.enqueue({ type: 'chat', content: 'Hello!', usage: { prompt_tokens: 4, completion_tokens: 2 } });
    const response = await postJson(`${url}/v1/chat/completions`, chatBody('chat'));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      choices: [{ message: { role: 'assistant', content: 'Hello!' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 },
    });
    expect(upstream.requests[0]?.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(upstream.requests[0]?.headers['x-goog-api-key']).toBe(GEMINI_KEY);
  });

  it('streams Gemini SSE as OpenAI chunks with the usage chunk when asked for', async () => {
    const { url, upstream } = await start({ config: geminiConfig });
    upstream.enqueue({ type: 'chat', content: 'one two three', usage: { prompt_tokens: 4, completion_tokens: 3 } });
    const response = await postJson(
      `${url}/v1/chat/completions`,
      chatBody('chat', { stream: true, stream_options: { include_usage: true } }),
    );
    const data = sseData(await response.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks: unknown[] = data.slice(0, -1).map((line) => JSON.parse(line));
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 },
    });
    expect(upstream.requests[0]?.url).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  });

  it('passes a Gemini 429 on as a rate limit', async () => {
    const { url, upstream } = await start({ config: geminiConfig });
    upstream.setDefault({ type: 'error', status: 429 });
    const response = await postJson(`${url}/v1/chat/completions`, chatBody('chat'));
    expect(response.status).toBe(429);
  });
});
