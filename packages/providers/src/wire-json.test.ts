import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatCompletionChunk, ChatCompletionResponse } from './chat-api.ts';
import { createProvider } from './create-provider.ts';
import type { Provider } from './provider.ts';
import { wireJson } from './wire-json.ts';
import { startStandInUpstream } from './testing/stand-in-upstream.ts';
import type { StandInUpstream } from './testing/stand-in-types.ts';

let upstream: StandInUpstream;
let provider: Provider;

beforeAll(async () => {
  upstream = await startStandInUpstream();
  provider = createProvider({ kind: 'openai', baseUrl: upstream.baseUrl, apiKey: 'sk-test-raw-0000' });
});
afterAll(async () => {
  await upstream.close();
});

async function streamOf(lines: string[]): Promise<ChatCompletionChunk[]> {
  upstream.enqueue({
    type: 'raw',
    headers: { 'content-type': 'text/event-stream' },
    body: `${lines.map((line) => `data: ${line}\n\n`).join('')}data: [DONE]\n\n`,
  });
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of provider.chatStream({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }))
    chunks.push(chunk);
  return chunks;
}

describe('wireJson of a streamed chunk', () => {
  it('gives the wire JSON of a chunk the schema took as it was, vendor fields and key order included', async () => {
    const wire =
      '{"vendor_extra":{"a":1},"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"usage":null}';
    const [chunk] = await streamOf([wire]);
    if (chunk === undefined) throw new Error('no chunk');
    expect(wireJson(chunk)).toBe(wire);
  });

  it('gives nothing where the parsed chunk differs from its text: defaults filled in, usage computed or moved', async () => {
    const chunks = await streamOf([
      '{"id":"c1","choices":[{"delta":{"content":"no index"}}]}',
      '{"id":"c2"}',
      '{"id":"c3","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}',
    ]);
    expect(chunks.map((chunk) => chunk.id)).toEqual(['c1', 'c2', 'c3']);
    expect(chunks.map((chunk) => wireJson(chunk))).toEqual([undefined, undefined, undefined]);
    const moved = await streamOf([
      '{"id":"c4","choices":[{"index":0,"delta":{},"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}]}',
    ]);
    // The usage left the chunk with choices for a usage-only chunk of its own: neither has wire JSON.
    expect(moved.map((chunk) => [chunk.id, chunk.choices.length, chunk.usage?.total_tokens])).toEqual([
      ['c4', 1, undefined],
      ['c4', 0, 3],
    ]);
    expect(moved.map((chunk) => wireJson(chunk))).toEqual([undefined, undefined]);
  });

  it('gives nothing for a delta that was normalised: `reasoning` renamed, content chunks joined', async () => {
    const chunks = await streamOf([
      '{"id":"r1","choices":[{"index":0,"delta":{"reasoning":"hmm"}}]}',
      '{"id":"m1","choices":[{"index":0,"delta":{"content":[{"type":"text","text":"Hi"}]}}]}',
      '{"id":"f1","choices":[{"index":0,"delta":{},"finish_reason":"sensitive"}]}',
    ]);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta)).toEqual([
      { reasoning_content: 'hmm' },
      { content: 'Hi' },
      {},
    ]);
    expect(chunks[2]?.choices[0]?.finish_reason).toBe('content_filter');
    expect(chunks.map((chunk) => wireJson(chunk))).toEqual([undefined, undefined, undefined]);
  });

  it('gives nothing for a copy of a chunk, which may have been changed', async () => {
    const [chunk] = await streamOf(['{"id":"c1","choices":[{"index":0,"delta":{"content":"Hi"}}]}']);
    if (chunk === undefined) throw new Error('no chunk');
    expect(wireJson(chunk)).toBeDefined();
    expect(wireJson({ ...chunk, id: 'changed' })).toBeUndefined();
    expect(JSON.parse(JSON.stringify(chunk))).toEqual({ id: 'c1', choices: [{ index: 0, delta: { content: 'Hi' } }] });
  });
});

describe('wireJson of a non-streamed answer', () => {
  async function answerOf(body: string): Promise<ChatCompletionResponse> {
    upstream.enqueue({ type: 'raw', headers: { 'content-type': 'application/json' }, body });
    return provider.chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  }

  it('gives the wire JSON of an answer used as it came, whitespace and vendor fields included', async () => {
    const wire =
      '{\n  "vendor_extra": {"a": 1},\n  "id": "r1", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],\n  "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}\n}';
    const response = await answerOf(wire);
    expect(response.choices[0]?.message.content).toBe('Hi');
    expect(wireJson(response)).toBe(wire);
    expect(wireJson({ ...response })).toBeUndefined();
  });

  it('gives nothing where the answer differs from its text: a default filled in, usage computed, a finish reason mapped', async () => {
    const answers = [
      await answerOf('{"id":"r1","choices":[{"message":{"content":"no index"},"finish_reason":"stop"}]}'),
      await answerOf(
        '{"id":"r2","choices":[{"index":0,"message":{"content":"Hi"}}],"usage":{"prompt_tokens":1,"completion_tokens":2}}',
      ),
      await answerOf('{"id":"r3","choices":[{"index":0,"message":{"content":""},"finish_reason":"sensitive"}]}'),
    ];
    expect(
      answers.map((answer) => [
        answer.id,
        answer.choices[0]?.index,
        answer.usage?.total_tokens,
        answer.choices[0]?.finish_reason,
      ]),
    ).toEqual([
      ['r1', 0, undefined, 'stop'],
      ['r2', 0, 3, undefined],
      ['r3', 0, undefined, 'content_filter'],
    ]);
    expect(answers.map((answer) => wireJson(answer))).toEqual([undefined, undefined, undefined]);
  });
});
