import { SSE_DONE } from '@gw/stream';
import type { ChatCompletionChunk, Usage } from '@gw/providers';
import type { Settle } from '../settle.ts';

/** Options for {@link relayChunks}. */
export interface RelayOptions {
  /** The client asked for `stream_options.include_usage`: pass the usage chunk and fields on. */
  includeUsage: boolean;
  settle: Settle;
  /** Aborts when the client goes away; tells a failure from a cancellation. */
  signal: AbortSignal;
  /** Tears the upstream HTTP call down; called whenever the relay stops before the upstream ended. */
  cancelUpstream: () => void;
}

/**
 * Turns upstream chunks into SSE `data:` lines for the client, ending with `data: [DONE]`.
 * The first chunk has already been pulled (before the response headers were sent), so it is
 * passed in. Usage is remembered as it passes and settled exactly once: on the end, on a
 * failure (the error then reaches toSseStream's onError) or on `return()` (client gone).
 *
 * A hand-written iterator rather than an async generator: a generator's `return()` waits
 * for a pending `next()`, while a cancel must settle and tear down the upstream at once.
 *
 * @example
 * const body = toSseStream(relayChunks(upstream, first, { includeUsage, settle, signal, cancelUpstream }), { onError: errorEvent });
 */
export function relayChunks(
  upstream: AsyncIterator<ChatCompletionChunk>,
  first: IteratorResult<ChatCompletionChunk>,
  options: RelayOptions,
): AsyncIterableIterator<string> {
  const { includeUsage, settle, signal, cancelUpstream } = options;
  let pending: IteratorResult<ChatCompletionChunk> | undefined = first;
  let usage: Usage | undefined;
  let finished = false;

  const iterator: AsyncIterableIterator<string> = {
    [Symbol.asyncIterator]: () => iterator,
    async next(): Promise<IteratorResult<string>> {
      while (!finished) {
        let result: IteratorResult<ChatCompletionChunk>;
        if (pending === undefined) {
          try {
            result = await upstream.next();
          } catch (error) {
            finished = true;
            cancelUpstream();
            settle(usage, signal.aborted ? 'cancelled' : 'failed', error);
            throw error;
          }
        } else {
          result = pending;
          pending = undefined;
        }
        if (result.done === true) {
          finished = true;
          settle(usage, 'completed');
          return { done: false, value: SSE_DONE };
        }
        const chunk = result.value;
        if (chunk.usage != null) usage = chunk.usage;
        if (!includeUsage) {
          // We asked upstream for usage to bill the stream; a client that did not ask may index
          // choices[0] on every chunk, so the usage-only chunk and usage fields stay with us.
          if (chunk.choices.length === 0) continue;
          if (chunk.usage !== undefined) chunk.usage = undefined;
        }
        // JSON.stringify escapes newlines, so one `data:` line always holds the whole chunk.
        return { done: false, value: `data: ${JSON.stringify(chunk)}\n\n` };
      }
      return { done: true, value: undefined };
    },
    async return(): Promise<IteratorResult<string>> {
      if (!finished) {
        finished = true;
        cancelUpstream();
        settle(usage, 'cancelled');
        // Not awaited: a generator mid-read only returns once that read settles (the abort above ends it).
        void Promise.resolve()
          .then(() => upstream.return?.())
          .catch(() => undefined);
      }
      return { done: true, value: undefined };
    },
  };
  return iterator;
}
