import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collect } from '@gw/test-kit';
import { readChunksAsSse } from '../../__fixtures__/read-fixture.ts';
import type { ChatCompletionChunk } from '../../chat-api.ts';
import { createProvider } from '../../create-provider.ts';
import type { Provider } from '../../provider.ts';
import { startStandInUpstream } from '../../testing/stand-in-upstream.ts';
import type { StandInUpstream } from '../../testing/stand-in-types.ts';
import { wireJson } from '../../wire-json.ts';
import { openAIChunkEncoder } from './openai-chunk-encoder.ts';

// Chunks read from the wire by the OpenAI adapter (so they carry their wire JSON as a relay gets them), encoded for
// a client, each data line checked against JSON.parse; the chunks must stay as the caller holds them.

let upstream: StandInUpstream;
let provider: Provider;

beforeAll(async () => {
  upstream = await startStandInUpstream();
  provider = createProvider({ kind: 'openai', baseUrl: upstream.baseUrl, apiKey: 'sk-test-encoder-0000' });
});
afterEach(() => upstream.reset());
afterAll(async () => {
  await upstream.close();
});

async function chunksOf(body: string): Promise<ChatCompletionChunk[]> {
  upstream.enqueue({ type: 'raw', headers: { 'content-type': 'text/event-stream' }, body });
  return collect(provider.chatStream({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
}

/** What a caller can observe of its chunks: their JSON and whether each still has its wire JSON. */
function observe(chunks: ChatCompletionChunk[]): { json: unknown[]; wire: Array<string | undefined> } {
  return { json: chunks.map((chunk) => JSON.parse(JSON.stringify(chunk))), wire: chunks.map(wireJson) };
}

/** The JSON of each `data:` line of encoded SSE text, `[DONE]` as is. */
function dataOf(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((frame) => frame !== '')
    .map((frame) => {
      expect(frame.startsWith('data: ')).toBe(true);
      const data = frame.slice('data: '.length);
      return data === '[DONE]' ? data : JSON.parse(data);
    });
}

function encodeAll(chunks: ChatCompletionChunk[], includeUsage: boolean): string {
  const encoder = openAIChunkEncoder({ includeUsage });
  return chunks.map((chunk) => encoder.encode(chunk)).join('') + encoder.end();
}

describe('openAIChunkEncoder', () => {
  it('passes every chunk on, usage included, unchanged chunks as their wire JSON', async () => {
    const chunks = await chunksOf(readChunksAsSse('openai-text.chunks.txt'));
    const before = observe(chunks);
    expect(before.wire.filter((wire) => wire !== undefined).length).toBeGreaterThan(0);
    const encoder = openAIChunkEncoder({ includeUsage: true });
    const lines = chunks.map((chunk) => encoder.encode(chunk));
    expect(dataOf(lines.join('') + encoder.end())).toEqual([...before.json, '[DONE]']);
    for (const [index, wire] of before.wire.entries()) {
      if (wire !== undefined) expect(lines[index]).toBe(`data: ${wire}\n\n`);
    }
    expect(observe(chunks)).toEqual(before);
  });

  it('holds usage back from a client that did not ask for it, without changing the chunks', async () => {
    const chunks = await chunksOf(readChunksAsSse('openai-text.chunks.txt'));
    expect(chunks.at(-1)?.usage?.total_tokens).toBeGreaterThan(0);
    const before = observe(chunks);
    const expected = chunks
      .filter((chunk) => chunk.choices.length > 0)
      .map((chunk) => {
        const { usage: _usage, ...rest } = chunk;
        return JSON.parse(JSON.stringify(rest));
      });
    expect(dataOf(encodeAll(chunks, false))).toEqual([...expected, '[DONE]']);
    expect(observe(chunks)).toEqual(before);
  });

  it('cuts `"usage":null` off the end of a wire JSON rather than serialising the chunk again', async () => {
    const wire =
      '{"vendor_extra":{"a":1},"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"usage":null}';
    const [chunk] = await chunksOf(`data: ${wire}\n\ndata: [DONE]\n\n`);
    if (chunk === undefined) throw new Error('no chunk');
    expect(wireJson(chunk)).toBe(wire);
    expect(openAIChunkEncoder({ includeUsage: false }).encode(chunk)).toBe(
      `data: ${wire.slice(0, -',"usage":null}'.length)}}\n\n`,
    );
    expect(chunk.usage).toBeNull();
    expect(wireJson(chunk)).toBe(wire);
  });
});
