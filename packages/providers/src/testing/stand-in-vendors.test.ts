import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeEventStream } from '../bedrock/event-stream-codec.ts';
import type { StandInUpstream } from './stand-in-types.ts';
import { startStandInUpstream } from './stand-in-upstream.ts';

let upstream: StandInUpstream;

beforeAll(async () => {
  upstream = await startStandInUpstream();
});
afterEach(() => {
  upstream.reset();
});
afterAll(async () => {
  await upstream.close();
});

const messages = [{ role: 'user', content: 'What is the capital of France?' }];

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${upstream.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

describe('Azure OpenAI routes', () => {
  it('answers a deployment with the deployment as model and records api-key and api-version', async () => {
    const response = await post(
      '/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21',
      { messages },
      { 'api-key': 'k-1' },
    );
    expect(await response.json()).toMatchObject({ object: 'chat.completion', model: 'prod-4o' });
    expect(upstream.requests[0]).toMatchObject({
      url: '/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21',
      headers: { 'api-key': 'k-1' },
    });
  });

  it('opens Azure streams with the prompt-filter chunk', async () => {
    const response = await post('/openai/v1/chat/completions', { model: 'gpt-4o', messages, stream: true });
    const first = (await response.text()).split('\n\n')[0] ?? '';
    expect(JSON.parse(first.slice('data: '.length))).toMatchObject({
      choices: [],
      id: '',
      prompt_filter_results: [{ prompt_index: 0 }],
    });
  });

  it('serves deployment embeddings and the models list', async () => {
    expect((await post('/openai/deployments/emb/embeddings?api-version=v', { input: 'x' })).status).toBe(200);
    expect((await fetch(`${upstream.url}/openai/models?api-version=v`)).status).toBe(200);
  });
});

describe('Bedrock routes', () => {
  const path = `/model/${encodeURIComponent('anthropic.claude-3-5-haiku-20241022-v1:0')}`;

  it('answers /converse in the Converse shape', async () => {
    upstream.enqueue({ type: 'chat', content: 'Paris.', usage: { prompt_tokens: 3, completion_tokens: 1 } });
    const response = await post(`${path}/converse`, { messages: [{ role: 'user', content: [{ text: 'Capital?' }] }] });
    expect(response.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await response.json()).toEqual({
      output: { message: { role: 'assistant', content: [{ text: 'Paris.' }] } },
      stopReason: 'end_turn',
      usage: { inputTokens: 3, outputTokens: 1, totalTokens: 4 },
      metrics: { latencyMs: 1 },
    });
  });

  it('answers /converse-stream with event-stream messages in Bedrock order', async () => {
    upstream.enqueue({ type: 'chat', content: 'a b', toolCalls: [{ name: 'f', arguments: '{}' }] });
    const response = await post(`${path}/converse-stream`, { messages: [{ role: 'user', content: [{ text: 'x' }] }] });
    expect(response.headers.get('content-type')).toBe('application/vnd.amazon.eventstream');
    const types: unknown[] = [];
    if (response.body === null) throw new Error('no body');
    for await (const message of decodeEventStream(response.body)) types.push(message.headers[':event-type']);
    expect(types).toEqual([
      'messageStart',
      'contentBlockDelta',
      'contentBlockDelta',
      'contentBlockStop',
      'contentBlockStart',
      'contentBlockDelta',
      'contentBlockStop',
      'messageStop',
      'metadata',
    ]);
  });

  it('renders error behaviours as Bedrock errors, and refuses a body without messages', async () => {
    upstream.enqueue({ type: 'error', status: 429 });
    const throttled = await post(`${path}/converse`, { messages });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('x-amzn-errortype')).toMatch(/^ThrottlingException:http/);
    expect(await throttled.json()).toEqual({ message: 'Stand-in error (HTTP 429)' });
    const invalid = await post(`${path}/converse`, {});
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get('x-amzn-errortype')).toMatch(/^ValidationException/);
  });
});
