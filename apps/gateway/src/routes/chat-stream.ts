import { hasTakeBuffered, SSE_DONE } from '@gw/stream';
import { rawChunkJson } from '@gw/providers';
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

// What ends the text of a chunk whose last field is `"usage": null` (OpenAI's shape under include_usage).
const NULL_USAGE_TAIL = ',"usage":null}';

/**
 * The `data:` line of a chunk: the upstream's own text when the chunk is as it arrived (saves
 * re-serialising every chunk), else JSON.stringify, which escapes newlines so one line always
 * holds the whole chunk. `dropUsage`: the client must not see a usage field.
 */
function dataLine(chunk: ChatCompletionChunk, dropUsage: boolean): string {
  const raw = rawChunkJson(chunk);
  if (raw !== undefined) {
    if (!dropUsage || chunk.usage === undefined) return `data: ${raw}\n\n`;
    // A text ending so is an object whose last member is usage: null; JSON.parse kept that member, so the
    // text without it says what the chunk without usage says.
    if (chunk.usage === null && raw.endsWith(NULL_USAGE_TAIL)) return `data: ${raw.slice(0, -NULL_USAGE_TAIL.length)}}\n\n`;
  }
  if (dropUsage && chunk.usage !== undefined) chunk.usage = undefined;
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

// A batch is written once it reaches this size even if more chunks are at hand.
const MAX_BATCH_CHARS = 16 * 1024;
const NEXT_TURN = Symbol('next turn');

function ignore(): void {}

/**
 * Turns upstream chunks into SSE `data:` lines for the client, ending with `data: [DONE]`.
 * The first chunk has already been pulled (before the response headers were sent), so it is
 * passed in. Chunks already at hand (taken with `takeBuffered()` when the upstream offers it) are joined into one string (up to 16 KiB); one not there
 * within the current event-loop turn starts the next string. Usage is remembered as it passes and settled exactly once: on the end, on a
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
  const take = hasTakeBuffered(upstream) ? () => upstream.takeBuffered() : undefined;
  let pending: IteratorResult<ChatCompletionChunk> | undefined = first;
  // A read of the upstream that did not finish within the turn its batch was built in; the next call takes it up.
  let inFlight: Promise<IteratorResult<ChatCompletionChunk>> | undefined;
  let usage: Usage | undefined;
  let finished = false;

  // The batch being built settles a read still pending at the end of its turn with NEXT_TURN, through this
  // one hook, instead of a Promise.race (an array, a promise and two reactions) per chunk.
  let settleWithTurn: ((value: typeof NEXT_TURN) => void) | undefined;
  // The read that the pending race is about: taken up by the next batch when the turn ends first.
  let racing: Promise<IteratorResult<ChatCompletionChunk>> | undefined;
  const onTurnEnd = (): void => settleWithTurn?.(NEXT_TURN);

  /**
   * The next upstream result, as it is when already at hand; once `text` holds lines, gives up (NEXT_TURN) if
   * it is not there by the end of the event-loop turn the batch started in (one timer per batch, not per chunk).
   */
  function pull(
    text: string,
    turnEnd: () => void,
  ): IteratorResult<ChatCompletionChunk> | Promise<IteratorResult<ChatCompletionChunk> | typeof NEXT_TURN> {
    if (pending !== undefined) {
      const result = pending;
      pending = undefined;
      return result;
    }
    const step = inFlight ?? upstream.next();
    inFlight = undefined;
    if (text === '') return step;
    turnEnd();
    racing = step;
    return new Promise((resolve, reject) => {
      settleWithTurn = resolve;
      step.then(resolve, reject);
    });
  }

  const iterator: AsyncIterableIterator<string> = {
    [Symbol.asyncIterator]: () => iterator,
    async next(): Promise<IteratorResult<string>> {
      // Chunks that arrived together (one network read often holds many) leave as one string, so the
      // response stream, the HTTP framing and the socket see one write instead of one per chunk.
      let text = '';
      let turnArmed = false;
      const turnEnd = (): void => {
        if (turnArmed) return;
        turnArmed = true;
        setImmediate(onTurnEnd);
      };
      while (!finished) {
        // A chunk already decoded from bytes at hand costs no promise (most arrive several to a network read).
        const buffered = pending === undefined && inFlight === undefined ? take?.() : undefined;
        let result: IteratorResult<ChatCompletionChunk> | typeof NEXT_TURN;
        if (buffered !== undefined) {
          result = { done: false, value: buffered };
        } else {
          try {
            result = await pull(text, turnEnd);
          } catch (error) {
            if (text !== '') {
              // Deliver what came before the failure first; the next call meets the error again.
              inFlight = Promise.reject(error);
              inFlight.catch(ignore);
              break;
            }
            finished = true;
            cancelUpstream();
            settle(usage, signal.aborted ? 'cancelled' : 'failed', error);
            throw error;
          }
        }
        if (result === NEXT_TURN) {
          inFlight = racing;
          // Seen by the next call; until then a rejection must not count as unhandled.
          inFlight?.catch(ignore);
          break;
        }
        if (result.done === true) {
          finished = true;
          settle(usage, 'completed');
          return { done: false, value: text + SSE_DONE };
        }
        const chunk = result.value;
        if (chunk.usage != null) usage = chunk.usage;
        // We asked upstream for usage to bill the stream; a client that did not ask may index
        // choices[0] on every chunk, so the usage-only chunk and usage fields stay with us.
        if (!includeUsage && chunk.choices.length === 0) continue;
        text += dataLine(chunk, !includeUsage);
        if (text.length >= MAX_BATCH_CHARS) break;
      }
      return text === '' ? { done: true, value: undefined } : { done: false, value: text };
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
