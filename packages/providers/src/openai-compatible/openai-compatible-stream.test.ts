import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { readChunksAsSse, readFixture } from '../__fixtures__/read-fixture.ts';
import type { ChatCompletionChunk, ChatCompletionRequest, Usage } from '../chat-api.ts';
import { createProvider } from '../create-provider.ts';
import { isProviderError } from '../provider-error.ts';
import { wireJson } from '../wire-json.ts';
import type { ProviderError } from '../provider-error.ts';
import type { Provider } from '../provider.ts';
import { startStandInUpstream } from '../testing/stand-in-upstream.ts';
import type { StandInUpstream } from '../testing/stand-in-types.ts';

// Replays recorded wire streams through the adapter (the stand-in serves them byte for byte) and checks what a
// caller assembles from the chunks.

let upstream: StandInUpstream;
let provider: Provider;

beforeAll(async () => {
  upstream = await startStandInUpstream();
  provider = createProvider({ kind: 'openai', baseUrl: upstream.baseUrl, apiKey: 'sk-test-replay-0000' });
});
afterEach(() => upstream.reset());
afterAll(async () => {
  await upstream.close();
});

const request: ChatCompletionRequest = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

interface Assembled {
  text: string;
  reasoning: string;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  finishReason: string | undefined;
  usage: Usage | undefined;
  chunks: ChatCompletionChunk[];
}

async function replay(body: string): Promise<Assembled> {
  upstream.enqueue({ type: 'raw', body });
  const result: Assembled = {
    text: '',
    reasoning: '',
    toolCalls: [],
    finishReason: undefined,
    usage: undefined,
    chunks: [],
  };
  for await (const chunk of provider.chatStream(request)) {
    result.chunks.push(chunk);
    if (chunk.usage) result.usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    result.text += choice.delta.content ?? '';
    result.reasoning += choice.delta.reasoning_content ?? '';
    if (choice.finish_reason) result.finishReason = choice.finish_reason;
    for (const delta of choice.delta.tool_calls ?? []) {
      const index = delta.index ?? 0;
      const call = (result.toolCalls[index] ??= { id: '', name: '', arguments: '' });
      call.id += delta.id ?? '';
      call.name += delta.function?.name ?? '';
      call.arguments += delta.function?.arguments ?? '';
    }
  }
  return result;
}

/** `body` replayed (or what the test enqueued itself, for `undefined`) until the stream fails. */
async function failure(body: string | undefined): Promise<{ error: ProviderError; received: number }> {
  if (body !== undefined) upstream.enqueue({ type: 'raw', body });
  let received = 0;
  try {
    for await (const _chunk of provider.chatStream(request)) received += 1;
  } catch (error) {
    if (isProviderError(error)) return { error, received };
    throw error;
  }
  throw new Error('expected the stream to fail');
}

describe('recorded OpenAI streams', () => {
  it('assembles the text, finish reason and usage of openai-text', async () => {
    const result = await replay(readChunksAsSse('openai-text.chunks.txt'));
    expect(result.text).toBe('The capital of France is Paris. It sits on the Seine.');
    expect(result.finishReason).toBe('stop');
    expect(result.usage).toMatchObject({ prompt_tokens: 14, completion_tokens: 13, total_tokens: 27 });
    expect(result.chunks.at(-1)?.choices).toEqual([]);
    expect(result.chunks[0]?.['obfuscation']).toBe('Tq8');
    expect(result.chunks[0]?.system_fingerprint).toBe('fp_f85bea6784');
  });

  it('assembles two parallel tool calls from their fragments', async () => {
    const result = await replay(readChunksAsSse('openai-tool-call.chunks.txt'));
    expect(result.toolCalls).toEqual([
      {
        id: 'call_8qJzC4m1rXhTn2vK0sYbW6pE',
        name: 'get_weather',
        arguments: '{"location":"Paris, France","unit":"celsius"}',
      },
      { id: 'call_Vb3nL0pQ9tYw5kR2mJx7cZaH', name: 'get_weather', arguments: '{"location":"Tokyo"}' },
    ]);
    expect(result.finishReason).toBe('tool_calls');
    expect(result.usage?.prompt_tokens_details?.cached_tokens).toBe(64);
    expect(result.text).toBe('');
  });

  it('reads DeepSeek reasoning and the usage that rides on the finish chunk', async () => {
    const result = await replay(readChunksAsSse('deepseek-reasoning.chunks.txt'));
    expect(result.reasoning).toBe('The user asks 2+2.');
    expect(result.text).toBe('2 + 2 = 4。');
    expect(result.usage).toMatchObject({ total_tokens: 25, completion_tokens_details: { reasoning_tokens: 8 } });
    expect(result.usage?.['prompt_cache_miss_tokens']).toBe(11);
  });
});

// Every recorded OpenAI-style stream: most text deltas are read through a content template instead of JSON.parse
// (content-template.ts); whichever way a chunk was read, it must say what its wire JSON says.
const OPENAI_STYLE_FIXTURES = readdirSync(new URL('../__fixtures__/', import.meta.url)).filter(
  (name) => name.endsWith('.chunks.txt') && !/^(?:anthropic|gemini|bedrock)-/.test(name),
);

describe('every recorded OpenAI-style stream', () => {
  it.each(OPENAI_STYLE_FIXTURES)('%s: each chunk equals its wire JSON, and the text adds up', async (name) => {
    const { chunks, text } = await replay(readChunksAsSse(name));
    const lines = readFixture(name)
      .split('\n')
      .filter((line) => line.trim() !== '');
    // Text deltas only (Mistral's thinking arrives as content parts, which the adapter turns into reasoning).
    const expected = lines
      .map((line) => JSON.parse(line)?.choices?.[0]?.delta?.content)
      .filter((content) => typeof content === 'string')
      .join('');
    expect(text).toBe(expected);
    const withWireJson = chunks.filter((chunk) => wireJson(chunk) !== undefined);
    // Compared as JSON: the chunk also carries its wire JSON under a symbol key.
    for (const chunk of withWireJson)
      expect(JSON.parse(JSON.stringify(chunk))).toEqual(JSON.parse(wireJson(chunk) ?? ''));
  });

  it('reads a long stream of text deltas whose contents need escapes', async () => {
    const contents = Array.from(
      { length: 200 },
      (_, index) => ['plain ', 'é ', '"quoted" ', 'back\\slash ', 'line\n', '\u00e9 '][index % 6] ?? '',
    );
    const envelope =
      '{"id":"chatcmpl-long","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":CONTENT},"logprobs":null,"finish_reason":null}]}';
    const body =
      contents.map((content) => `data: ${envelope.replace('CONTENT', JSON.stringify(content))}\n\n`).join('') +
      'data: [DONE]\n\n';
    const { text, chunks } = await replay(body);
    expect(text).toBe(contents.join(''));
    expect(chunks).toHaveLength(200);
  });
});

describe('stream edge cases', () => {
  it('ends normally when the body ends without [DONE] after a finish reason (some servers never send it)', async () => {
    const result = await replay(readChunksAsSse('openai-text.chunks.txt', { done: false }));
    expect(result.text).toBe('The capital of France is Paris. It sits on the Seine.');
  });

  it('fails a stream that ends cleanly with neither a finish reason nor [DONE], after what it sent', async () => {
    const lines = readChunksAsSse('openai-text.chunks.txt', { done: false }).split('\n\n');
    const cut = lines.slice(0, 3).join('\n\n') + '\n\n';
    const { error, received } = await failure(cut);
    expect(received).toBe(3);
    expect(error).toMatchObject({ kind: 'server', code: 'stream_truncated', retryable: true });
    expect(error.message).toContain('without a finish reason');
  });

  it('fails an event stream that sends no chunk at all, [DONE] or not', async () => {
    for (const body of ['', ': keep-alive\n\n', 'data: [DONE]\n\n']) {
      upstream.enqueue({ type: 'raw', headers: { 'content-type': 'text/event-stream' }, body });
      const { error, received } = await failure(undefined);
      expect(received).toBe(0);
      expect(error).toMatchObject({ kind: 'server', code: 'stream_truncated' });
    }
  });

  it('hands out chunks in order to a caller that asks for several without awaiting, once the call is open', async () => {
    // Chunks a few ms apart: every next() has to wait on its own network read.
    upstream.enqueue({ type: 'chat', content: 'one two three four five six', chunkDelayMs: 5 });
    const stream = provider.chatStream(request);
    const first = await stream.next();
    const rest = await Promise.all(Array.from({ length: 12 }, () => stream.next()));
    const results = [first, ...rest];
    const text = results
      .map((result) => (result.done === true ? '' : (result.value.choices[0]?.delta.content ?? '')))
      .join('');
    expect(text).toBe('one two three four five six');
    const firstDone = results.findIndex((result) => result.done === true);
    expect(firstDone).toBeGreaterThan(0);
    expect(results.slice(firstDone).every((result) => result.done === true)).toBe(true);
  });

  it('ignores keep-alive comments and survives CRLF line endings', async () => {
    const body = readChunksAsSse('openai-text.chunks.txt').replaceAll('\n', '\r\n');
    const result = await replay(`: keep-alive\r\n\r\n${body}`);
    expect(result.text).toBe('The capital of France is Paris. It sits on the Seine.');
  });

  it('lifts usage reported inside choices[0] (Moonshot) to the chunk', async () => {
    const body =
      'data: {"id":"c","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n' +
      'data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop","usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}]}\n\n' +
      'data: [DONE]\n\n';
    const result = await replay(body);
    expect(result.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 });
  });

  it('throws on an error event, mapping its type', async () => {
    const { error, received } = await failure(
      'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n' +
        'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
    );
    expect(received).toBe(1);
    expect(error.kind).toBe('overloaded');
    expect(error.message).toBe('Overloaded');
    expect(error.status).toBeUndefined();
  });

  it('throws on an error event with bare text', async () => {
    const { error } = await failure('event: error\ndata: internal failure\n\n');
    expect(error.kind).toBe('server');
    expect(error.message).toBe('internal failure');
  });

  it('throws on a chunk that is not JSON', async () => {
    const { error, received } = await failure(
      'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\ndata: {"choices":[{"ind\n\n',
    );
    expect(received).toBe(1);
    expect(error.kind).toBe('server');
    expect(error.retryable).toBe(false);
  });

  it('throws on a chunk of the wrong shape, naming the field', async () => {
    const { error } = await failure('data: {"choices":[{"index":0,"delta":{"content":42}}]}\n\n');
    expect(error.message).toContain('choices.0.delta.content');
  });
});
