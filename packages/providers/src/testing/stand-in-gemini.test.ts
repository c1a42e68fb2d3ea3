// The stand-in's Gemini dialect, driven with plain fetch as a user's own test would. Shapes follow Google's
// Gemini API reference (GenerateContentResponse, streamGenerateContent with alt=sse, google.rpc.Status).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStandInUpstream } from './stand-in-upstream.ts';
import type { StandInUpstream } from './stand-in-types.ts';

let upstream: StandInUpstream;

beforeAll(async () => {
  upstream = await startStandInUpstream({ models: ['a', 'b', 'c'] });
});
afterEach(() => upstream.reset());
afterAll(async () => {
  await upstream.close();
});

function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${upstream.url}/v1beta/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

const hello = { contents: [{ role: 'user', parts: [{ text: 'hello there' }] }] };

describe('stand-in Gemini dialect', () => {
  it('answers :generateContent with thought, text and functionCall parts', async () => {
    upstream.enqueue({
      type: 'chat',
      content: 'Hi!',
      reasoning: 'greet back',
      toolCalls: [{ name: 'wave', arguments: '{"hand":"left"}' }],
      usage: { prompt_tokens: 3, completion_tokens: 9 },
    });
    const response = await post('models/gemini-2.5-flash:generateContent', hello);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      candidates: [
        {
          content: {
            role: 'model',
            parts: [
              { text: 'greet back', thought: true },
              { text: 'Hi!' },
              { functionCall: { name: 'wave', args: { hand: 'left' } } },
            ],
          },
          finishReason: 'STOP',
          index: 0,
        },
      ],
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 7, thoughtsTokenCount: 2, totalTokenCount: 12 },
      modelVersion: 'gemini-2.5-flash',
    });
  });

  it('streams CRLF-framed events with alt=sse, no [DONE], finishReason on the last', async () => {
    upstream.enqueue({ type: 'chat', content: 'one two', finishReason: 'length' });
    const response = await post('models/gemini-2.5-flash:streamGenerateContent?alt=sse', hello);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    const events = text.split('\r\n\r\n').filter((event) => event !== '');
    expect(events).toHaveLength(3);
    expect(text).not.toContain('[DONE]');
    expect(JSON.parse(events[2]?.slice('data: '.length) ?? '')).toMatchObject({
      candidates: [{ finishReason: 'MAX_TOKENS' }],
    });
  });

  it('answers a stream without alt=sse as one JSON array', async () => {
    const response = await post('models/gemini-2.5-flash:streamGenerateContent', hello);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(Array.isArray(await response.json())).toBe(true);
  });

  it('refuses an OpenAI role with a Gemini INVALID_ARGUMENT body', async () => {
    const response = await post('models/gemini-2.5-flash:generateContent', {
      contents: [{ role: 'assistant', parts: [{ text: 'x' }] }],
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
  });

  it('renders a 429 without body as RESOURCE_EXHAUSTED with a RetryInfo detail', async () => {
    upstream.enqueue({ type: 'error', status: 429 });
    const response = await post('models/gemini-2.5-flash:generateContent', hello);
    expect(response.status).toBe(429);
    expect(await response.json()).toMatchObject({
      error: {
        code: 429,
        status: 'RESOURCE_EXHAUSTED',
        details: [{}, { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2s' }],
      },
    });
  });

  it('embeds a batch and checks every request names models/<model>', async () => {
    const ok = await post('models/e:batchEmbedContents', {
      requests: [{ model: 'models/e', content: { parts: [{ text: 'x' }] }, outputDimensionality: 4 }],
    });
    const body: unknown = await ok.json();
    expect(body).toMatchObject({ embeddings: [{ values: expect.any(Array) }] });
    const bad = await post('models/e:batchEmbedContents', {
      requests: [{ model: 'e', content: { parts: [{ text: 'x' }] } }],
    });
    expect(bad.status).toBe(400);
  });

  it('lists models in pages', async () => {
    const first = await fetch(`${upstream.url}/v1beta/models?pageSize=2`);
    expect(await first.json()).toEqual({
      models: [
        { name: 'models/a', displayName: 'a', supportedGenerationMethods: ['generateContent', 'countTokens'] },
        { name: 'models/b', displayName: 'b', supportedGenerationMethods: ['generateContent', 'countTokens'] },
      ],
      nextPageToken: '2',
    });
    const second = await fetch(`${upstream.url}/v1beta/models?pageSize=2&pageToken=2`);
    expect(await second.json()).toMatchObject({ models: [{ name: 'models/c' }] });
  });
});
