import { createParser } from 'eventsource-parser';
import type { EventSourceMessage, ParseError } from 'eventsource-parser';
import type { SseMessage } from './sse-message.ts';

/** Internal: bytes in, messages out through callbacks; shared by the TransformStream and the iterator. */
export interface SseByteParser {
  /** Decodes one chunk of bytes (which may end inside a UTF-8 sequence or a line) and parses it. */
  feed(bytes: Uint8Array): void;
  /** Flushes the UTF-8 decoder. An event without its terminating blank line is dropped, as the spec says. */
  end(): void;
  /** True once an event grew past `maxEventSize`: what was buffered is dropped and nothing more is parsed. */
  overflowed(): boolean;
}

// Hoisted so decoding a chunk does not allocate an options object each time.
const STREAM_OPTIONS = { stream: true } as const;

/**
 * One TextDecoder in streaming mode plus one eventsource-parser: the same work as
 * `TextDecoderStream` + `EventSourceParserStream`, without two extra stream stages (and their
 * per-chunk promises) on the hot path. With `maxEventSize`, the parser holds at most that many characters of an
 * unfinished line and event (eventsource-parser's `maxBufferSize`); past it, it drops them and stops.
 */
export function createSseByteParser(
  onMessage: (message: SseMessage) => void,
  onComment: ((comment: string) => void) | undefined,
  maxEventSize?: number,
): SseByteParser {
  // TextDecoder drops one leading BOM (the SSE spec asks for exactly that) and replaces invalid
  // sequences with U+FFFD, like TextDecoderStream.
  const decoder = new TextDecoder();
  // onRetry fires synchronously while its line is parsed, before the event of the same block is
  // dispatched, so a pending value always belongs to the next dispatched event.
  let retry: number | undefined;
  let overflowed = false;
  const parser = createParser({
    maxBufferSize: maxEventSize,
    onError(error: ParseError) {
      // Unknown fields and bad retry values are ignored, as the spec says; only an overflow ends the stream.
      if (error.type === 'max-buffer-size-exceeded') overflowed = true;
    },
    onEvent(event: EventSourceMessage) {
      if (retry === undefined) {
        onMessage(event);
        return;
      }
      const withRetry: SseMessage = { id: event.id, event: event.event, data: event.data, retry };
      retry = undefined;
      onMessage(withRetry);
    },
    onRetry(value: number) {
      retry = value;
    },
    onComment,
  });
  return {
    feed(bytes) {
      if (overflowed) return;
      const text = decoder.decode(bytes, STREAM_OPTIONS);
      if (text.length > 0) parser.feed(text);
    },
    end() {
      const rest = decoder.decode();
      if (rest.length > 0 && !overflowed) parser.feed(rest);
    },
    overflowed: () => overflowed,
  };
}
