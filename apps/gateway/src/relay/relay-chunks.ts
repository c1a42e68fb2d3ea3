import { hasTakeBuffered } from '@gw/stream';
import type { ChatCompletionChunk, Usage } from '@gw/providers';
import type { ChunkEncoder } from '@gw/providers/formats';
import type { Settle } from '../settle/settle-once.ts';
import { chunkText } from './answer-text.ts';

/** Options for {@link relayChunks}. */
export interface RelayOptions {
  /** The client's wire format. */
  encoder: ChunkEncoder;
  settle: Settle;
  /** Aborts when the client goes away; tells a failure from a cancellation. */
  signal: AbortSignal;
  /** Tears the upstream HTTP call down; called whenever the relay stops before the upstream ended. */
  cancelUpstream: () => void;
  /** The cost of a usage the vendor reported, written into the chunk that carries it (`usage.cost`). */
  costOf?: ((usage: Usage) => number | undefined) | undefined;
  /** Sees every chunk as it came from upstream (the response cache collects a streamed answer with it). */
  onChunk?: ((chunk: ChatCompletionChunk) => void) | undefined;
}

// A batch stops growing at this size even if more chunks are at hand.
const MAX_BATCH_CHARS = 16 * 1024;

/**
 * Upstream chunks as SSE text in the client's format, settling the request exactly once with the last usage seen:
 * on the upstream's end (`completed`), on a failure (`failed`, or `cancelled` once the client has gone; the error
 * then reaches the writer's `onError`) or on `return()` (the client left: `cancelled`, and the upstream call is torn
 * down at once).
 *
 * Each `next()` waits for one upstream chunk, then adds the chunks the upstream already holds decoded
 * (`takeBuffered()`, when it offers it: one network read often carries many), so the writer and the socket see
 * one write per read instead of one per chunk. The encoder's end text is the value of the done result, so the
 * writer can send it with the end of the response. The first chunk was pulled before the response head was sent
 * (an upstream refusal still answers with its own status), so it is passed in.
 *
 * A hand-written iterator, not an async generator: a generator's `return()` waits for a pending `next()`, while a
 * client that leaves must settle and tear down the upstream at once.
 *
 * @example
 * const relay = relayChunks(upstream, first, { encoder, settle, signal, cancelUpstream });
 * return writeSse(c, relay, { onError });
 */
export function relayChunks(
  upstream: AsyncIterator<ChatCompletionChunk>,
  first: IteratorResult<ChatCompletionChunk>,
  options: RelayOptions,
): AsyncIterableIterator<string, string | undefined> {
  const { encoder, settle, signal, cancelUpstream, costOf, onChunk } = options;
  const takeBuffered = hasTakeBuffered(upstream) ? () => upstream.takeBuffered() : () => undefined;
  let pending: IteratorResult<ChatCompletionChunk> | undefined = first;
  let usage: Usage | undefined;
  // What reached the client, for an output estimate should the vendor report no usage.
  let relayedText = '';
  let finished = false;

  const encode = (chunk: ChatCompletionChunk): string => {
    onChunk?.(chunk);
    relayedText += chunkText(chunk);
    if (chunk.usage == null) return encoder.encode(chunk);
    usage = chunk.usage;
    const cost = costOf?.(chunk.usage);
    // A copy: the chunk stays what the upstream sent.
    return encoder.encode(cost === undefined ? chunk : { ...chunk, usage: { ...chunk.usage, cost } });
  };

  const iterator: AsyncIterableIterator<string, string | undefined> = {
    [Symbol.asyncIterator]: () => iterator,
    async next(): Promise<IteratorResult<string, string | undefined>> {
      while (!finished) {
        let result: IteratorResult<ChatCompletionChunk>;
        try {
          result = pending ?? (await upstream.next());
        } catch (error) {
          finished = true;
          cancelUpstream();
          settle({ status: signal.aborted ? 'cancelled' : 'failed', usage, error, relayedText });
          throw error;
        }
        pending = undefined;
        if (result.done === true) {
          finished = true;
          settle({ status: 'completed', usage, relayedText });
          return { done: true, value: encoder.end() };
        }
        let text = encode(result.value);
        for (let chunk = takeBuffered(); chunk !== undefined; chunk = takeBuffered()) {
          text += encode(chunk);
          if (text.length >= MAX_BATCH_CHARS) break;
        }
        // A batch of chunks the client does not see (a usage-only chunk it did not ask for) sends nothing.
        if (text !== '') return { done: false, value: text };
      }
      return { done: true, value: undefined };
    },
    async return(): Promise<IteratorResult<string, string | undefined>> {
      if (!finished) {
        finished = true;
        cancelUpstream();
        settle({ status: 'cancelled', usage, relayedText });
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
