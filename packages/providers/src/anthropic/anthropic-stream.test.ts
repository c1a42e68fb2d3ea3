// Replays of Anthropic stream fixtures over real HTTP (stand-in `raw` behaviour). The fixtures follow the event
// sequences of Anthropic's streaming reference (https://docs.anthropic.com/en/docs/build-with-claude/streaming):
// basic text, tool use with input_json_delta, extended thinking with signature_delta, and an `event: error`
// (overloaded_error) inside a 200 stream.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChatCompletionChunk } from '../chat-api.ts';
import { createProvider } from '../create-provider.ts';
import { isProviderError } from '../provider-error.ts';
import type { Provider } from '../provider.ts';
import { readAnthropicChunksAsSse } from '../__fixtures__/read-fixture.ts';
import { startStandInUpstream } from '../testing/stand-in-upstream.ts';
import type { StandInUpstream } from '../testing/stand-in-types.ts';

let upstream: StandInUpstream;
let provider: Provider;

beforeAll(async () => {
  upstream = await startStandInUpstream();
  provider = createProvider({ kind: 'anthropic', baseUrl: upstream.baseUrl, apiKey: 'sk-ant-test-key-123456' });
});
afterEach(() => upstream.reset());
afterAll(async () => {
  await upstream.close();
});

const request = { model: 'claude-sonnet-4-5', messages: [{ role: 'user' as const, content: 'Hi' }] };

async function replay(fixture: string): Promise<ChatCompletionChunk[]> {
  upstream.enqueue({ type: 'raw', body: readAnthropicChunksAsSse(fixture) });
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of provider.chatStream(request)) chunks.push(chunk);
  return chunks;
}

function joined(chunks: ChatCompletionChunk[], key: 'content' | 'reasoning_content'): string {
  return chunks.map((chunk) => chunk.choices[0]?.delta[key] ?? '').join('');
}

describe('Anthropic stream replays', () => {
  it('anthropic-text: role chunk first, text deltas, finish stop, then the usage-only chunk', async () => {
    const chunks = await replay('anthropic-text.chunks.txt');
    expect(chunks[0]).toMatchObject({
      id: 'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY',
      object: 'chat.completion.chunk',
      model: 'claude-sonnet-4-5-20250929',
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
    });
    expect(typeof chunks[0]?.created).toBe('number');
    expect(joined(chunks, 'content')).toBe('Hello! How can I help you today?');
    expect(chunks.at(-2)?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(chunks.at(-1)).toEqual({
      id: 'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY',
      object: 'chat.completion.chunk',
      created: chunks[0]?.created,
      model: 'claude-sonnet-4-5-20250929',
      choices: [],
      usage: {
        prompt_tokens: 25,
        completion_tokens: 15,
        total_tokens: 40,
        prompt_tokens_details: { cached_tokens: 0, cache_creation_tokens: 0 },
      },
    });
  });

  it('anthropic-tool-use: text, then one tool call (index 0 although it is content block 1)', async () => {
    const chunks = await replay('anthropic-tool-use.chunks.txt');
    expect(joined(chunks, 'content')).toBe("Okay, let's check the weather for San Francisco, CA:");
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toEqual({
      index: 0,
      id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6',
      type: 'function',
      function: { name: 'get_weather', arguments: '' },
    });
    expect(calls.every((call) => call.index === 0)).toBe(true);
    expect(calls.slice(1).every((call) => call.id == null && call.function?.name == null)).toBe(true);
    const args = calls.map((call) => call.function?.arguments ?? '').join('');
    expect(JSON.parse(args)).toEqual({ location: 'San Francisco, CA', unit: 'fahrenheit' });
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 472, completion_tokens: 89, total_tokens: 561 });
  });

  it('anthropic-thinking: thinking deltas as reasoning_content, signature dropped, cache reads in prompt_tokens', async () => {
    const chunks = await replay('anthropic-thinking.chunks.txt');
    expect(joined(chunks, 'reasoning_content')).toBe(
      'I need to find the GCD of 1071 and 462 using the Euclidean algorithm.\n\n1071 = 2 × 462 + 147\n462 = 3 × 147 + 21\n147 = 7 × 21 + 0\n\nSo GCD(1071, 462) = 21',
    );
    expect(joined(chunks, 'content')).toBe('The greatest common divisor of 1071 and 462 is **21**.');
    expect(JSON.stringify(chunks)).not.toContain('EqQBCgIYAhIM');
    expect(chunks.at(-1)?.usage).toEqual({
      prompt_tokens: 2100,
      completion_tokens: 120,
      total_tokens: 2220,
      prompt_tokens_details: { cached_tokens: 2048, cache_creation_tokens: 0 },
    });
  });

  it('anthropic-error-overloaded: yields the chunks before the error event, then throws kind overloaded', async () => {
    upstream.enqueue({ type: 'raw', body: readAnthropicChunksAsSse('anthropic-error-overloaded.chunks.txt') });
    const received: ChatCompletionChunk[] = [];
    let caught: unknown;
    try {
      for await (const chunk of provider.chatStream(request)) received.push(chunk);
    } catch (error) {
      caught = error;
    }
    expect(isProviderError(caught)).toBe(true);
    expect(caught).toMatchObject({
      kind: 'overloaded',
      type: 'overloaded_error',
      message: 'Overloaded',
      retryable: true,
    });
    expect(joined(received, 'content')).toBe('Once upon');
    expect(received.some((chunk) => chunk.usage != null)).toBe(false);
  });

  it('skips event types it does not know (Anthropic may add some)', async () => {
    const body = readAnthropicChunksAsSse('anthropic-text.chunks.txt').replace(
      'event: ping',
      'event: future_event\ndata: {"type":"future_event","x":1}\n\nevent: ping',
    );
    upstream.enqueue({ type: 'raw', body });
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of provider.chatStream(request)) chunks.push(chunk);
    expect(joined(chunks, 'content')).toBe('Hello! How can I help you today?');
  });

  it('an event that is not JSON is a server error', async () => {
    upstream.enqueue({ type: 'raw', body: 'event: message_start\ndata: {not json\n\n' });
    let caught: unknown;
    try {
      for await (const _chunk of provider.chatStream(request)) void _chunk;
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ kind: 'server', retryable: false });
  });
});
