import { describe, expect, it } from 'vitest';
import { loadSseFixtures } from './__fixtures__/load-fixtures.ts';
import { decodeSse } from './decode-sse.ts';
import { createSseDecoder } from './sse-decoder.ts';
import type { SseMessage } from './sse-message.ts';

const fixtures = loadSseFixtures();

const expectedComments: Record<string, string[]> = {
  'deepseek-reasoner-crlf': ['keep-alive', 'keep-alive', 'keep-alive'],
  'keep-alive-multiline-id': [
    'connected to stream',
    'keep-alive',
    'keep-alive',
    'keep-alive',
    'a comment between data lines',
  ],
};

interface Decoded {
  messages: SseMessage[];
  comments: string[];
}

async function decodeWithTransform(chunks: Uint8Array[]): Promise<Decoded> {
  const comments: string[] = [];
  const messages: SseMessage[] = [];
  const stream = ReadableStream.from(chunks).pipeThrough(createSseDecoder({ onComment: (c) => comments.push(c) }));
  for await (const message of stream) messages.push(message);
  return { messages, comments };
}

async function decodeWithIterator(chunks: Uint8Array[]): Promise<Decoded> {
  const comments: string[] = [];
  const messages: SseMessage[] = [];
  async function* body(): AsyncGenerator<Uint8Array> {
    yield* chunks;
  }
  for await (const message of decodeSse(body(), { onComment: (c) => comments.push(c) })) messages.push(message);
  return { messages, comments };
}

/** mulberry32: a tiny seeded PRNG so a failing split can be replayed. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomPieces(bytes: Uint8Array, random: () => number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let start = 0; start < bytes.length;) {
    const end = Math.min(bytes.length, start + 1 + Math.floor(random() * 7));
    pieces.push(bytes.subarray(start, end));
    start = end;
  }
  return pieces;
}

const isContinuationByte = (byte: number | undefined): boolean => byte !== undefined && (byte & 0xc0) === 0x80;

describe('the recorded fixtures', () => {
  it('cover the hard cases: 4-byte UTF-8, CRLF, bare CR, BOM, comments, event and id lines', () => {
    const all = fixtures.map((f) => Buffer.from(f.bytes).toString('latin1')).join('\n');
    expect(fixtures.length).toBeGreaterThanOrEqual(5);
    expect(fixtures.some((f) => f.bytes.some((b) => b >= 0xf0))).toBe(true);
    expect(all).toContain('\r\n');
    expect(all).toMatch(/\r[^\n]/);
    expect(all).toContain('\xef\xbb\xbf');
    expect(all).toContain(': keep-alive');
    expect(all).toContain('\nevent: ');
    expect(all).toContain('\nid: ');
    expect(all).toContain('data: [DONE]');
  });
});

describe.each(fixtures)('createSseDecoder / decodeSse on $name', ({ name, bytes, expected }) => {
  const comments = expectedComments[name] ?? [];

  it('decodes the whole body in one chunk', async () => {
    expect(await decodeWithTransform([bytes])).toEqual({ messages: expected, comments });
    expect(await decodeWithIterator([bytes])).toEqual({ messages: expected, comments });
  });

  it('decodes the same when split in two at every byte index', async () => {
    let insideUtf8 = 0;
    let insideCrlf = 0;
    for (let index = 0; index <= bytes.length; index += 1) {
      const chunks = [bytes.subarray(0, index), bytes.subarray(index)];
      if (isContinuationByte(bytes[index])) insideUtf8 += 1;
      if (bytes[index - 1] === 0x0d && bytes[index] === 0x0a) insideCrlf += 1;
      const viaTransform = await decodeWithTransform(chunks);
      const viaIterator = await decodeWithIterator(chunks);
      if (!isDeepEqual(viaTransform, { messages: expected, comments })) {
        expect.fail(`split at ${index} (transform): ${JSON.stringify(viaTransform.messages).slice(0, 400)}`);
      }
      if (!isDeepEqual(viaIterator, { messages: expected, comments })) {
        expect.fail(`split at ${index} (iterator): ${JSON.stringify(viaIterator.messages).slice(0, 400)}`);
      }
    }
    // The every-index sweep really did cut through the awkward places this fixture has.
    if (bytes.some((b) => b >= 0x80)) expect(insideUtf8).toBeGreaterThan(0);
    if (Buffer.from(bytes).includes('\r\n')) expect(insideCrlf).toBeGreaterThan(0);
  });

  it('decodes the same for 200 seeded random splits into 1..7-byte pieces', async () => {
    const random = createRandom(0x5eed + name.length);
    for (let round = 0; round < 200; round += 1) {
      const pieces = randomPieces(bytes, random);
      const decoded = round % 2 === 0 ? await decodeWithTransform(pieces) : await decodeWithIterator(pieces);
      if (!isDeepEqual(decoded, { messages: expected, comments })) {
        const sizes = pieces.map((p) => p.length).join(',');
        expect.fail(`round ${round}, piece sizes ${sizes}: ${JSON.stringify(decoded.messages).slice(0, 400)}`);
      }
    }
  });
});

describe('createSseDecoder', () => {
  it('keeps multi-byte characters whole when every byte arrives alone', async () => {
    const text = 'data: 你好😀𠮷\n\n';
    const chunks = [...new TextEncoder().encode(text)].map((byte) => Uint8Array.of(byte));
    const { messages } = await decodeWithTransform(chunks);
    expect(messages).toEqual([{ data: '你好😀𠮷' }]);
  });

  it('drops an event whose blank line never came, and keeps the ones before it', async () => {
    const { messages } = await decodeWithTransform([new TextEncoder().encode('data: a\n\ndata: cut off')]);
    expect(messages).toEqual([{ data: 'a' }]);
  });
});

// expect().toEqual per split would make 30k assertions; a boolean check keeps the sweep fast.
function isDeepEqual(actual: Decoded, expected: Decoded): boolean {
  try {
    expect(actual).toEqual(expected);
    return true;
  } catch {
    return false;
  }
}
