// The framing follows AWS's "Event stream encoding" reference (prelude, string headers of type 7, CRC32s).
import { describe, expect, it } from 'vitest';
import {
  decodeEventStream,
  decodeEventStreamMessage,
  encodeEventStreamMessage,
  EventStreamFormatError,
  EventStreamMessageTooLargeError,
} from './event-stream-codec.ts';
import type { EventStreamMessage } from './event-stream-codec.ts';

const headers = { ':event-type': 'contentBlockDelta', ':content-type': 'application/json', ':message-type': 'event' };

function streamOf(pieces: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const piece of pieces) controller.enqueue(piece);
      controller.close();
    },
  });
}

async function decodeAll(body: ReadableStream<Uint8Array>): Promise<EventStreamMessage[]> {
  const messages: EventStreamMessage[] = [];
  for await (const message of decodeEventStream(body)) messages.push(message);
  return messages;
}

describe('event stream codec', () => {
  it('round-trips headers and payload, with the lengths of the AWS layout', () => {
    const bytes = encodeEventStreamMessage(headers, '{"delta":{"text":"é"}}');
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(0)).toBe(bytes.byteLength);
    const decoded = decodeEventStreamMessage(bytes);
    expect(decoded.headers).toEqual(headers);
    expect(new TextDecoder().decode(decoded.payload)).toBe('{"delta":{"text":"é"}}');
  });

  it('decodes messages split at every byte boundary and several to one read', async () => {
    const one = encodeEventStreamMessage(headers, '{"a":1}');
    const two = encodeEventStreamMessage(
      { ':event-type': 'messageStop', ':message-type': 'event' },
      '{"stopReason":"end_turn"}',
    );
    const all = new Uint8Array([...one, ...two]);
    const bytewise = await decodeAll(streamOf(Array.from(all, (byte) => Uint8Array.of(byte))));
    const together = await decodeAll(streamOf([all]));
    for (const messages of [bytewise, together]) {
      expect(messages.map((message) => message.headers[':event-type'])).toEqual(['contentBlockDelta', 'messageStop']);
    }
  });

  it('refuses a corrupted payload (message CRC) and a corrupted prelude', async () => {
    const bytes = encodeEventStreamMessage(headers, '{"a":1}');
    const payloadFlip = bytes.slice();
    payloadFlip[bytes.byteLength - 6] = (payloadFlip[bytes.byteLength - 6] ?? 0) ^ 0xff;
    await expect(decodeAll(streamOf([payloadFlip]))).rejects.toBeInstanceOf(EventStreamFormatError);
    const preludeFlip = bytes.slice();
    preludeFlip[5] = (preludeFlip[5] ?? 0) ^ 0x01;
    await expect(decodeAll(streamOf([preludeFlip]))).rejects.toThrow(EventStreamFormatError);
  });

  it('refuses a body that ends inside a message', async () => {
    const bytes = encodeEventStreamMessage(headers, '{"a":1}');
    await expect(decodeAll(streamOf([bytes.subarray(0, bytes.byteLength - 3)]))).rejects.toThrow(
      /ended inside a message/,
    );
  });

  it('refuses a message longer than maxMessageBytes from its prelude, and cancels the body', async () => {
    const small = encodeEventStreamMessage(headers, '{"a":1}');
    const large = encodeEventStreamMessage(headers, JSON.stringify({ text: 'x'.repeat(5000) }));
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(small);
        // Only the prelude of the long message: it is refused before the rest is waited for.
        controller.enqueue(large.subarray(0, 12));
      },
      cancel() {
        cancelled = true;
      },
    });
    const messages = decodeEventStream(body, 1024);
    expect((await messages.next()).value?.headers[':event-type']).toBe('contentBlockDelta');
    await expect(messages.next()).rejects.toBeInstanceOf(EventStreamMessageTooLargeError);
    expect(cancelled).toBe(true);
    expect(await messages.next()).toEqual({ done: true, value: undefined });
  });
});
