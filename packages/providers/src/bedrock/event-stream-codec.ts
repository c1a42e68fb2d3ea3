import { crc32 } from 'node:zlib';
import { readerOf } from '../body-reader.ts';
import type { TransportBody } from '../transport.ts';

// The binary `application/vnd.amazon.eventstream` framing (AWS "Event stream encoding"): each message is
//   total length (u32 BE) | headers length (u32 BE) | prelude CRC32 (of the 8 bytes before it)
//   | headers | payload | message CRC32 (of everything before it).
// A header is name length (u8) | name (UTF-8) | value type (u8) | value. Our own small codec rather than
// @smithy/eventstream-codec: it is ~150 lines with node:zlib's crc32, has no dependency tree, and decodes
// incrementally from a body as the transport hands it (a web stream or an async iterable of bytes).

const PRELUDE_LENGTH = 12;
const CRC_LENGTH = 4;
const MINIMUM_LENGTH = PRELUDE_LENGTH + CRC_LENGTH;
// The service's documented maximum message size is 16 MB; anything longer is a corrupt prelude, not a message.
const MAXIMUM_LENGTH = 16 * 1024 * 1024;

/** A header value: strings for type 7 (the ones Bedrock sends), the other types as their natural JS value. */
export type EventStreamHeaderValue = string | number | bigint | boolean | Uint8Array;

/** One decoded event-stream message. */
export interface EventStreamMessage {
  headers: Record<string, EventStreamHeaderValue>;
  payload: Uint8Array;
}

/** Thrown for bytes that are not a valid event stream (bad CRC, impossible lengths, unknown header type). */
export class EventStreamFormatError extends Error {
  override readonly name = 'EventStreamFormatError';
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });
const textEncoder = new TextEncoder();

function readHeaders(bytes: Uint8Array): Record<string, EventStreamHeaderValue> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headers: Record<string, EventStreamHeaderValue> = {};
  let offset = 0;
  const need = (count: number): void => {
    if (offset + count > bytes.byteLength)
      throw new EventStreamFormatError('Event stream header runs past its section');
  };
  while (offset < bytes.byteLength) {
    need(1);
    const nameLength = view.getUint8(offset);
    offset += 1;
    need(nameLength + 1);
    const name = textDecoder.decode(bytes.subarray(offset, offset + nameLength));
    offset += nameLength;
    const type = view.getUint8(offset);
    offset += 1;
    let value: EventStreamHeaderValue;
    switch (type) {
      case 0:
      case 1:
        value = type === 0;
        break;
      case 2:
        need(1);
        value = view.getInt8(offset);
        offset += 1;
        break;
      case 3:
        need(2);
        value = view.getInt16(offset);
        offset += 2;
        break;
      case 4:
        need(4);
        value = view.getInt32(offset);
        offset += 4;
        break;
      case 5:
      case 8:
        need(8);
        value = view.getBigInt64(offset);
        offset += 8;
        break;
      case 6:
      case 7: {
        need(2);
        const length = view.getUint16(offset);
        offset += 2;
        need(length);
        const raw = bytes.subarray(offset, offset + length);
        value = type === 7 ? textDecoder.decode(raw) : raw.slice();
        offset += length;
        break;
      }
      case 9:
        need(16);
        value = bytes.slice(offset, offset + 16);
        offset += 16;
        break;
      default:
        throw new EventStreamFormatError(`Unknown event stream header type ${type}`);
    }
    headers[name] = value;
  }
  return headers;
}

/** Decodes one whole message (exactly `total length` bytes), checking both CRCs. */
export function decodeEventStreamMessage(bytes: Uint8Array): EventStreamMessage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const totalLength = view.getUint32(0);
  const headersLength = view.getUint32(4);
  if (totalLength !== bytes.byteLength || PRELUDE_LENGTH + headersLength + CRC_LENGTH > totalLength) {
    throw new EventStreamFormatError('Event stream message lengths do not add up');
  }
  if (crc32(bytes.subarray(0, 8)) !== view.getUint32(8))
    throw new EventStreamFormatError('Event stream prelude CRC mismatch');
  if (crc32(bytes.subarray(0, totalLength - CRC_LENGTH)) !== view.getUint32(totalLength - CRC_LENGTH)) {
    throw new EventStreamFormatError('Event stream message CRC mismatch');
  }
  const headers = readHeaders(bytes.subarray(PRELUDE_LENGTH, PRELUDE_LENGTH + headersLength));
  return { headers, payload: bytes.slice(PRELUDE_LENGTH + headersLength, totalLength - CRC_LENGTH) };
}

/** Thrown for a message longer than {@link decodeEventStream}'s `maxMessageBytes`. */
export class EventStreamMessageTooLargeError extends Error {
  override readonly name = 'EventStreamMessageTooLargeError';
  readonly maxMessageBytes: number;

  constructor(maxMessageBytes: number) {
    super(`Event stream message longer than ${maxMessageBytes} bytes`);
    this.maxMessageBytes = maxMessageBytes;
  }
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.byteLength;
  }
  return joined;
}

/**
 * Decodes an event-stream body message by message as bytes arrive (never the whole body at once). Throws
 * {@link EventStreamFormatError} for corrupt bytes or a body that ends inside a message, and
 * {@link EventStreamMessageTooLargeError} (the body cancelled) for a message longer than `maxMessageBytes` (default,
 * and at most, the service's 16 MB). `return()` cancels the body.
 *
 * @example
 * ```ts
 * for await (const message of decodeEventStream(response.body)) console.log(message.headers[':event-type']);
 * ```
 */
export function decodeEventStream(
  body: TransportBody,
  maxMessageBytes = MAXIMUM_LENGTH,
): AsyncIterableIterator<EventStreamMessage> {
  const reader = readerOf(body);
  // The bytes not decoded yet, in the pieces they came in: joined once a whole message is there, so a long message
  // costs one copy, not one per network read.
  let parts: Uint8Array[] = [];
  let buffered = 0;
  let done = false;

  function joined(): Uint8Array {
    if (parts.length !== 1) parts = [concat(parts, buffered)];
    return parts[0]!;
  }

  function takeBuffered(): EventStreamMessage | undefined {
    if (buffered < PRELUDE_LENGTH) return undefined;
    const head = parts[0]!.byteLength >= PRELUDE_LENGTH ? parts[0]! : joined();
    const totalLength = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
    if (totalLength < MINIMUM_LENGTH || totalLength > MAXIMUM_LENGTH) {
      throw new EventStreamFormatError(`Event stream message of impossible length ${totalLength}`);
    }
    if (totalLength > maxMessageBytes) throw new EventStreamMessageTooLargeError(maxMessageBytes);
    if (buffered < totalLength) return undefined;
    const bytes = joined();
    const message = decodeEventStreamMessage(bytes.subarray(0, totalLength));
    const rest = bytes.subarray(totalLength);
    parts = rest.byteLength === 0 ? [] : [rest];
    buffered = rest.byteLength;
    return message;
  }

  async function fail(error: unknown): Promise<never> {
    done = true;
    parts = [];
    buffered = 0;
    await reader.cancel().catch(() => undefined);
    throw error;
  }

  const iterator: AsyncIterableIterator<EventStreamMessage> = {
    async next(): Promise<IteratorResult<EventStreamMessage>> {
      for (;;) {
        if (done) return { done: true, value: undefined };
        let message: EventStreamMessage | undefined;
        try {
          message = takeBuffered();
        } catch (error) {
          return fail(error);
        }
        if (message !== undefined) return { done: false, value: message };
        const read = await reader.read();
        if (read.done === true) {
          done = true;
          if (buffered > 0) throw new EventStreamFormatError('Event stream ended inside a message');
          return { done: true, value: undefined };
        }
        if (read.value.byteLength === 0) continue;
        parts.push(read.value);
        buffered += read.value.byteLength;
      }
    },
    async return(): Promise<IteratorResult<EventStreamMessage>> {
      if (!done) {
        done = true;
        await reader.cancel();
      }
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * Encodes one message with string headers (all Bedrock uses): the stand-in upstream and the replay tests build
 * event streams with it.
 *
 * @example
 * ```ts
 * encodeEventStreamMessage({ ':event-type': 'messageStop', ':message-type': 'event' }, '{"stopReason":"end_turn"}');
 * ```
 */
export function encodeEventStreamMessage(headers: Record<string, string>, payload: string | Uint8Array): Uint8Array {
  const headerParts: Uint8Array[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const nameBytes = textEncoder.encode(name);
    const valueBytes = textEncoder.encode(value);
    const part = new Uint8Array(1 + nameBytes.byteLength + 1 + 2 + valueBytes.byteLength);
    const view = new DataView(part.buffer);
    view.setUint8(0, nameBytes.byteLength);
    part.set(nameBytes, 1);
    view.setUint8(1 + nameBytes.byteLength, 7);
    view.setUint16(2 + nameBytes.byteLength, valueBytes.byteLength);
    part.set(valueBytes, 4 + nameBytes.byteLength);
    headerParts.push(part);
  }
  const headersLength = headerParts.reduce((sum, part) => sum + part.byteLength, 0);
  const payloadBytes = typeof payload === 'string' ? textEncoder.encode(payload) : payload;
  const totalLength = PRELUDE_LENGTH + headersLength + payloadBytes.byteLength + CRC_LENGTH;
  const message = new Uint8Array(totalLength);
  const view = new DataView(message.buffer);
  view.setUint32(0, totalLength);
  view.setUint32(4, headersLength);
  view.setUint32(8, crc32(message.subarray(0, 8)));
  let offset = PRELUDE_LENGTH;
  for (const part of headerParts) {
    message.set(part, offset);
    offset += part.byteLength;
  }
  message.set(payloadBytes, offset);
  view.setUint32(totalLength - CRC_LENGTH, crc32(message.subarray(0, totalLength - CRC_LENGTH)));
  return message;
}
