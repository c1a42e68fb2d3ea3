import { abortable } from './abortable.ts';
import type { BufferedAsyncIterator } from './buffered-iterator.ts';
import type { SseMessage } from './sse-message.ts';
import { SseEventTooLargeError } from './sse-event-too-large-error.ts';
import { createSseByteParser } from './sse-parser.ts';

/** Options of {@link decodeSse}. */
export interface DecodeSseOptions {
  /** Aborting ends the iteration with `signal.reason` and cancels the body. */
  signal?: AbortSignal;
  /** Sees each comment line (`: keep-alive` arrives as `"keep-alive"`); comments are never messages. */
  onComment?: (comment: string) => void;
  /**
   * Most characters of decoded text one event may hold while it is being read (its unfinished line and the `data`
   * lines before its blank line). Past it, the iteration fails with {@link SseEventTooLargeError}, what was
   * buffered is dropped and the body is cancelled. Default: no limit.
   */
  maxEventSize?: number | undefined;
}

/**
 * The iterator {@link decodeSse} returns: an async iterator of messages whose `takeBuffered()` hands out a
 * message already decoded from bytes at hand (one network read often holds many) without waiting.
 */
export type SseMessageIterator = BufferedAsyncIterator<SseMessage>;

/** What the iterator needs from either kind of body. */
interface ChunkSource {
  read(): Promise<IteratorResult<Uint8Array>>;
  cancel(): Promise<unknown>;
}

/**
 * Decodes an SSE body (a web `ReadableStream`, e.g. `fetch().body`, or any `AsyncIterable` of
 * bytes, e.g. a Node `IncomingMessage`) into an async iterator of {@link SseMessage}s.
 *
 * Ending the iteration early (`break`, `return()`) cancels the body; so does aborting `signal`,
 * which also makes the pending `next()` reject with `signal.reason` at once. A Node stream body is
 * destroyed on cancel. Comment lines are not messages; `data: [DONE]` is a message like any other.
 * An event longer than `maxEventSize` fails the iteration (messages decoded before it are handed out first).
 *
 * @example
 * ```ts
 * const response = await fetch(url, { method: 'POST', headers, body, signal });
 * for await (const message of decodeSse(response.body!, { signal })) {
 *   if (message.data === '[DONE]') break;
 *   const chunk = JSON.parse(message.data);
 * }
 * ```
 */
export function decodeSse(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  options: DecodeSseOptions = {},
): SseMessageIterator {
  const messages = decodeChunks(toChunkSource(body), options.onComment, options.maxEventSize);
  const { signal } = options;
  if (signal === undefined) return messages;
  // An abort ends the decoder (its queue is dropped), so nothing buffered outlives it.
  return abortable(messages, signal);
}

function decodeChunks(
  source: ChunkSource,
  onComment: ((comment: string) => void) | undefined,
  maxEventSize: number | undefined,
): SseMessageIterator {
  // One chunk can hold many messages; they wait here and are handed out without re-reading.
  const queue: SseMessage[] = [];
  let head = 0;
  let sourceDone = false;
  let closed = false;
  const parser = createSseByteParser((message) => queue.push(message), onComment, maxEventSize);

  function takeBuffered(): SseMessage | undefined {
    if (closed) return undefined;
    const message = queue[head];
    if (message === undefined) return undefined;
    head += 1;
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    }
    return message;
  }

  const iterator: SseMessageIterator = {
    takeBuffered,
    async next(): Promise<IteratorResult<SseMessage>> {
      for (;;) {
        if (closed) return { done: true, value: undefined };
        const message = takeBuffered();
        if (message !== undefined) return { done: false, value: message };
        if (parser.overflowed()) {
          // The messages decoded before the event that overflowed are out: stop reading and let the body go.
          closed = true;
          // The overflow is what the consumer needs to hear about, not a failure to cancel.
          if (!sourceDone) await source.cancel().catch(() => undefined);
          throw new SseEventTooLargeError(maxEventSize ?? 0);
        }
        if (sourceDone) {
          closed = true;
          return { done: true, value: undefined };
        }
        let chunk: IteratorResult<Uint8Array>;
        try {
          chunk = await source.read();
        } catch (error) {
          closed = true;
          throw error;
        }
        if (chunk.done === true) {
          sourceDone = true;
          parser.end();
        } else {
          parser.feed(chunk.value);
        }
      }
    },
    async return(): Promise<IteratorResult<SseMessage>> {
      if (!closed) {
        closed = true;
        queue.length = 0;
        if (!sourceDone) await source.cancel();
      }
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

function toChunkSource(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): ChunkSource {
  if ('getReader' in body) {
    // A reader (not the stream's async iterator) so cancel() also ends a read that is in progress.
    const reader = body.getReader();
    return { read: () => reader.read(), cancel: () => reader.cancel() };
  }
  const iterator = body[Symbol.asyncIterator]();
  return {
    read: () => iterator.next(),
    cancel: async () => {
      // A Node stream's iterator is an async generator whose return() waits for a pending read;
      // destroying the stream ends that read now.
      if ('destroy' in body && typeof body.destroy === 'function') Reflect.apply(body.destroy, body, []);
      await iterator.return?.();
    },
  };
}
