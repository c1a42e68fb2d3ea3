import type { TransportBody } from './transport.ts';

/** One way to read either kind of body: chunk by chunk, and to let it go before its end. */
export interface BodyReader {
  read(): Promise<IteratorResult<Uint8Array>>;
  /** Stops reading: the body is cancelled (its connection closed) and a pending read ends. */
  cancel(): Promise<unknown>;
}

/**
 * A reader over a web stream (`fetch`'s body) or an async iterable of bytes (the HTTP transport's body, a Node
 * readable).
 *
 * @example
 * const reader = readerOf(response.body);
 * const first = await reader.read();
 */
export function readerOf(body: TransportBody): BodyReader {
  if ('getReader' in body) {
    // A reader (not the stream's async iterator) so cancel() also ends a read that is in progress.
    const reader = body.getReader();
    return {
      read: async () => {
        const read = await reader.read();
        if (read.done) reader.releaseLock();
        return read.done ? { done: true, value: undefined } : { done: false, value: read.value };
      },
      cancel: () => reader.cancel(),
    };
  }
  const iterator = body[Symbol.asyncIterator]();
  return { read: () => iterator.next(), cancel: async () => iterator.return?.() };
}
