import { describe, expect, it } from 'vitest';
import { decodeSse } from './decode-sse.ts';
import { encodeSse, SSE_DONE } from './encode-sse.ts';
import type { SseMessage } from './sse-message.ts';

async function decodeText(text: string): Promise<SseMessage[]> {
  const messages: SseMessage[] = [];
  async function* body(): AsyncGenerator<Uint8Array> {
    yield new TextEncoder().encode(text);
  }
  for await (const message of decodeSse(body())) messages.push(message);
  return messages;
}

describe('encodeSse', () => {
  it('writes one data line and a blank line for a one-line message or a string', () => {
    expect(encodeSse({ data: '{"a":1}' })).toBe('data: {"a":1}\n\n');
    expect(encodeSse('{"a":1}')).toBe('data: {"a":1}\n\n');
  });

  it('writes event, id and retry lines before the data', () => {
    expect(encodeSse({ event: 'message_stop', id: '7', retry: 1500, data: '{}' })).toBe(
      'event: message_stop\nid: 7\nretry: 1500\ndata: {}\n\n',
    );
  });

  it('gives each line of multi-line data its own data line, whatever the line break', () => {
    expect(encodeSse('a\nb\r\nc\rd')).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
    expect(encodeSse('trailing\n')).toBe('data: trailing\ndata: \n\n');
  });

  it('leaves out an empty event name (the default event) but keeps an empty id (it resets the last id)', () => {
    expect(encodeSse({ event: '', id: '', data: 'x' })).toBe('id: \ndata: x\n\n');
  });

  it('refuses fields that would inject lines, and a retry that is not a non-negative integer', () => {
    expect(() => encodeSse({ event: 'a\ndata: injected', data: 'x' })).toThrow(TypeError);
    expect(() => encodeSse({ id: '1\r', data: 'x' })).toThrow(TypeError);
    expect(() => encodeSse({ retry: -1, data: 'x' })).toThrow(TypeError);
    expect(() => encodeSse({ retry: 1.5, data: 'x' })).toThrow(TypeError);
  });

  it('has SSE_DONE as the OpenAI terminator', async () => {
    expect(SSE_DONE).toBe('data: [DONE]\n\n');
    expect(await decodeText(SSE_DONE)).toEqual([{ data: '[DONE]' }]);
  });
});

describe('encodeSse then decodeSse', () => {
  const messages: SseMessage[] = [
    { data: '{"choices":[{"delta":{"content":"hi"}}]}' },
    { data: 'line 1\nline 2\n\nline 4' },
    { data: '' },
    { data: '\n' },
    { data: '  two leading spaces' },
    { data: ': looks like a comment' },
    { data: 'data: looks like a field' },
    { event: 'content_block_delta', data: '{"type":"content_block_delta"}' },
    { event: 'update', id: 'evt-42', data: 'with id' },
    { id: '', data: 'empty id' },
    { retry: 2500, data: 'with retry' },
    { event: 'utf8', data: '中文 😀 𠮷 🇨🇳 👨‍👩‍👧' },
    { data: '[DONE]' },
  ];

  it('gives back every message, in order, from one concatenated body', async () => {
    const body = messages.map((message) => encodeSse(message)).join('');
    expect(await decodeText(body)).toEqual(messages);
  });

  it('turns CR and CRLF inside data into LF, the only line break SSE can carry', async () => {
    expect(await decodeText(encodeSse('a\r\nb\rc'))).toEqual([{ data: 'a\nb\nc' }]);
  });
});
