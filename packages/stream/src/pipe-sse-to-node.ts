import type { ServerResponse } from 'node:http';
import { encodeSse } from './encode-sse.ts';
import type { SseMessage } from './sse-message.ts';
import type { SseStreamItem } from './to-sse-stream.ts';

/** Options of {@link pipeSseToNode}. */
export interface PipeSseToNodeOptions {
  /**
   * Called when the source throws. A returned message (or pre-encoded string) is written as the
   * last thing before the response ends normally; `undefined` destroys the response, so the client
   * sees a broken stream rather than a clean end.
   */
  onError?: (error: unknown) => SseMessage | string | undefined;
}

// Strings go to the socket as they are: Node encodes them straight into its write, with no copy here.
function toWritable(item: SseStreamItem): string | Uint8Array {
  return typeof item === 'string' || item instanceof Uint8Array ? item : encodeSse(item);
}

/**
 * Writes an async source of SSE messages (or pre-encoded strings or bytes) to a Node
 * `ServerResponse` whose head the caller has set, reading the source only as fast as the socket
 * drains: after a `write()` that returns false, the next item is pulled once `'drain'` fires. This
 * is the same contract as {@link toSseStream} without a web stream between the source and the
 * socket, for servers that own their Node response.
 *
 * A source may hand its last item as the value of its done result (`{ done: true, value }`, like a
 * generator's `return value`): it then goes out with the end of the response, one socket write
 * where a last `write()` and `end()` would take two.
 *
 * The client going away (`'close'` before the end) calls `source.return()` at once, also while a
 * read of the source is pending, so the upstream request is torn down. Resolves when the response
 * has ended or been closed; never rejects.
 *
 * @example
 * ```ts
 * response.writeHead(200, { 'content-type': 'text/event-stream' });
 * await pipeSseToNode(relay(), response, { onError: (error) => ({ data: JSON.stringify(toErrorBody(error)) }) });
 * ```
 */
export async function pipeSseToNode(
  source: AsyncIterable<SseStreamItem, SseStreamItem | void>,
  response: ServerResponse,
  options: PipeSseToNodeOptions = {},
): Promise<void> {
  const iterator = source[Symbol.asyncIterator]();
  let done = false;
  let wake: (() => void) | undefined;

  const onClose = (): void => {
    if (done) return;
    done = true;
    wake?.();
    try {
      iterator.return?.().then(undefined, () => {});
    } catch {
      // A source whose return() throws has stopped as far as we can tell; the client is gone anyway.
    }
  };
  response.once('close', onClose);

  try {
    while (!done) {
      let result: IteratorResult<SseStreamItem, SseStreamItem | void>;
      try {
        result = await iterator.next();
      } catch (error) {
        if (done) return;
        done = true;
        let last: SseMessage | string | undefined;
        try {
          last = options.onError?.(error);
        } catch (handlerError) {
          response.destroy(handlerError instanceof Error ? handlerError : undefined);
          return;
        }
        if (last === undefined) response.destroy(error instanceof Error ? error : undefined);
        else response.end(toWritable(last));
        return;
      }
      if (done) return;
      if (result.done === true) {
        done = true;
        const last = result.value;
        if (last === undefined) response.end();
        else response.end(toWritable(last));
        return;
      }
      if (!response.write(toWritable(result.value)) && !done) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          response.once('drain', resolve);
        });
        response.off('drain', wake ?? (() => {}));
        wake = undefined;
      }
    }
  } finally {
    response.off('close', onClose);
  }
}
