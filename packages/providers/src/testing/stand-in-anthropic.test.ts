// The stand-in's Anthropic dialect, read as a client would: the shapes follow https://docs.anthropic.com/en/api/messages,
// /en/docs/build-with-claude/streaming and /en/api/errors.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AnthropicStreamEvent } from '../anthropic/anthropic-api.ts';
import {
  anthropicErrorBodySchema,
  anthropicMessageSchema,
  anthropicModelListSchema,
  anthropicStreamEventSchema,
} from '../anthropic/anthropic-api.ts';
import { startStandInUpstream } from './stand-in-upstream.ts';
import type { StandInUpstream } from './stand-in-types.ts';
import { sseFrames } from '@gw/test-kit';

let upstream: StandInUpstream;

beforeAll(async () => {
  upstream = await startStandInUpstream({ models: ['claude-sonnet-4-5'] });
});
afterEach(() => {
  upstream.reset();
  upstream.setDefault({ type: 'chat' });
});
afterAll(async () => {
  await upstream.close();
});

const headers = { 'content-type': 'application/json', 'x-api-key': 'sk-ant-x', 'anthropic-version': '2023-06-01' };
const body = {
  model: 'claude-sonnet-4-5',
  max_tokens: 100,
  messages: [{ role: 'user', content: 'What is the capital of France?' }],
};

function post(payload: unknown, path = '/v1/messages'): Promise<Response> {
  return fetch(`${upstream.url}${path}`, { method: 'POST', headers, body: JSON.stringify(payload) });
}

/** The (event name, payload) pairs of an Anthropic SSE body; checks each name equals the payload's type. */
function events(text: string): AnthropicStreamEvent[] {
  return sseFrames(text).map((frame) => {
    const payload = anthropicStreamEventSchema.parse(JSON.parse(frame.data));
    expect(frame.event).toBe(payload.type);
    return payload;
  });
}

describe('stand-in: Anthropic Messages', () => {
  it('answers a Messages JSON body rendered from the same behaviour', async () => {
    upstream.enqueue({
      type: 'chat',
      content: 'Paris.',
      reasoning: 'Easy one.',
      toolCalls: [{ name: 'lookup', arguments: '{"q":"France"}' }],
      finishReason: 'length',
      usage: { prompt_tokens: 9, completion_tokens: 4 },
    });
    const response = await post(body);
    expect(response.status).toBe(200);
    const message = anthropicMessageSchema.parse(await response.json());
    expect(message).toMatchObject({
      id: expect.stringMatching(/^msg_standin\d+$/),
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [
        { type: 'thinking', thinking: 'Easy one.' },
        { type: 'text', text: 'Paris.' },
        { type: 'tool_use', id: expect.stringMatching(/^toolu_standin/), name: 'lookup', input: { q: 'France' } },
      ],
      stop_reason: 'max_tokens',
      usage: { input_tokens: 9, output_tokens: 4, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    });
  });

  it('streams the exact event sequence with a ping after message_start, without [DONE]', async () => {
    upstream.enqueue({
      type: 'chat',
      content: 'Paris is lovely',
      toolCalls: [{ id: 'toolu_x', name: 'f', arguments: '{"a":1}' }],
    });
    const response = await post({ ...body, stream: true });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    expect(text).not.toContain('[DONE]');
    const sequence = events(text).map((event) =>
      event.type === 'content_block_delta' ? `delta:${event.delta.type}` : event.type,
    );
    expect(sequence).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'delta:text_delta',
      'delta:text_delta',
      'delta:text_delta',
      'content_block_stop',
      'content_block_start',
      'delta:input_json_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const delta = events(text).find((event) => event.type === 'message_delta');
    expect(delta).toMatchObject({ delta: { stop_reason: 'tool_use' } });
  });

  it('errorAfterChunks sends an event: error inside the 200 stream (default overloaded_error)', async () => {
    upstream.enqueue(
      { type: 'chat', content: 'a b c', errorAfterChunks: 2 },
      { type: 'chat', errorAfterChunks: 0, errorType: 'api_error' },
    );
    const first = events(await (await post({ ...body, stream: true })).text());
    expect(first.map((event) => event.type)).toEqual(['message_start', 'ping', 'error']);
    expect(first[2]).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    const second = events(await (await post({ ...body, stream: true })).text());
    expect(second).toMatchObject([{ type: 'error', error: { type: 'api_error' } }]);
  });

  it('errorAfterChunks in the OpenAI dialect sends a data payload carrying error', async () => {
    upstream.enqueue({ type: 'chat', content: 'a b c', errorAfterChunks: 1, errorType: 'rate_limit_exceeded' });
    const response = await post(
      { model: 'gpt-4o-mini', messages: body.messages, stream: true },
      '/v1/chat/completions',
    );
    const frames = (await response.text()).split('\n\n').filter((frame) => frame !== '');
    expect(frames).toHaveLength(2);
    expect(JSON.parse(frames[1]?.slice('data: '.length) ?? '')).toMatchObject({
      error: { type: 'rate_limit_exceeded' },
    });
  });

  it('renders error behaviours without a body as Anthropic error envelopes', async () => {
    upstream.enqueue({ type: 'error', status: 529 }, { type: 'error', status: 429 }, { type: 'error', status: 402 });
    for (const type of ['overloaded_error', 'rate_limit_error', 'billing_error']) {
      const response = await post(body);
      expect(anthropicErrorBodySchema.parse(await response.json())).toMatchObject({ type: 'error', error: { type } });
    }
  });

  it('refuses what the Messages API refuses: no max_tokens, a system role, roles that do not alternate', async () => {
    const problems = [
      { model: 'claude-sonnet-4-5', messages: body.messages },
      { ...body, messages: [{ role: 'system', content: 'x' }, ...body.messages] },
      { ...body, messages: [...body.messages, ...body.messages] },
    ];
    for (const problem of problems) {
      const response = await post(problem);
      expect(response.status).toBe(400);
      expect(anthropicErrorBodySchema.parse(await response.json()).error.type).toBe('invalid_request_error');
    }
  });

  it('lists models in Anthropic shape when the request carries anthropic-version', async () => {
    const anthropic = await fetch(`${upstream.baseUrl}/models`, { headers });
    expect(anthropicModelListSchema.parse(await anthropic.json())).toMatchObject({
      data: [
        { id: 'claude-sonnet-4-5', type: 'model', display_name: 'claude-sonnet-4-5', created_at: expect.any(String) },
      ],
      has_more: false,
    });
    const openai = await fetch(`${upstream.baseUrl}/models`);
    expect(await openai.json()).toMatchObject({ object: 'list', data: [{ id: 'claude-sonnet-4-5', object: 'model' }] });
  });

  it('replays raw fixtures untouched on /v1/messages', async () => {
    const raw = 'event: ping\ndata: {"type":"ping"}\n\n';
    upstream.enqueue({ type: 'raw', body: raw });
    const response = await post({ ...body, stream: true });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(await response.text()).toBe(raw);
  });
});
