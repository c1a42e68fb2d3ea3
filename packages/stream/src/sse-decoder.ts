import type { SseMessage } from './sse-message.ts';
import { createSseByteParser } from './sse-parser.ts';

/** Options of {@link createSseDecoder}. */
export interface SseDecoderOptions {
  /** Sees each comment line (`: keep-alive` arrives as `"keep-alive"`); comments are never messages. */
  onComment?: (comment: string) => void;
}

/**
 * A TransformStream from raw SSE bytes to {@link SseMessage}s, built on eventsource-parser.
 *
 * Chunks may split lines, `\r\n` pairs and multi-byte UTF-8 sequences anywhere. Comment lines are
 * not emitted (see `onComment`), and `data: [DONE]` is an ordinary message whose data is `"[DONE]"`.
 * An event whose blank line never arrives is dropped when the input ends.
 *
 * @example
 * ```ts
 * const response = await fetch(url, { method: 'POST', body, signal });
 * const messages = response.body!.pipeThrough(createSseDecoder());
 * for await (const message of messages) {
 *   if (message.data === '[DONE]') break;
 *   console.log(JSON.parse(message.data));
 * }
 * ```
 */
export function createSseDecoder(options: SseDecoderOptions = {}): TransformStream<Uint8Array, SseMessage> {
  let controller: TransformStreamDefaultController<SseMessage> | undefined;
  const parser = createSseByteParser((message) => controller?.enqueue(message), options.onComment);
  return new TransformStream<Uint8Array, SseMessage>({
    start(streamController) {
      controller = streamController;
    },
    transform(chunk) {
      parser.feed(chunk);
    },
    flush() {
      parser.end();
    },
  });
}
