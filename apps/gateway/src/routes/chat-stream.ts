import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { hasTakeBuffered, pipeSseToNode, SSE_DONE, toSseStream, withIdleTimeout } from '@gw/stream';
import { rawChunkJson } from '@gw/providers';
import type { ChatCompletionChunk, ChatCompletionRequest, RouterCallOptions, Usage } from '@gw/providers';
import type { Context } from 'hono';
import { reportError } from '../error-handler.ts';
import type { Logger } from '../logger.ts';
import { totalTimeoutError } from '../routing/deadline.ts';
import { nodeResponseOf } from './send-json.ts';
import type { Settle } from '../settle.ts';

/**
 * Turns canonical chunks into the SSE text of one wire format (OpenAI chunks, Anthropic events...).
 * The relay around it does the rest: batching, usage, settle, cancellation.
 */
export interface ChunkEncoder {
  /** The SSE text for one upstream chunk; `''` sends nothing. */
  encode(chunk: ChatCompletionChunk): string;
  /** The SSE text that ends a stream the upstream completed (e.g. `data: [DONE]`). */
  end(): string;
}

/** Options for {@link relayChunks}. */
export interface RelayOptions {
  /** The client's wire format; see {@link openAiChunkEncoder}. */
  encoder: ChunkEncoder;
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
    if (chunk.usage === null && raw.endsWith(NULL_USAGE_TAIL))
      return `data: ${raw.slice(0, -NULL_USAGE_TAIL.length)}}\n\n`;
  }
  if (dropUsage && chunk.usage !== undefined) chunk.usage = undefined;
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/**
 * OpenAI `chat.completion.chunk` data lines ending with `data: [DONE]`. `includeUsage`: the client asked
 * for `stream_options.include_usage`, so the usage-only chunk and usage fields are passed on.
 *
 * @example
 * relayChunks(upstream, first, { encoder: openAiChunkEncoder(false), settle, signal, cancelUpstream });
 */
export function openAiChunkEncoder(includeUsage: boolean): ChunkEncoder {
  return {
    encode(chunk) {
      // We asked upstream for usage to bill the stream; a client that did not ask may index
      // choices[0] on every chunk, so the usage-only chunk and usage fields stay with us.
      if (!includeUsage && chunk.choices.length === 0) return '';
      return dataLine(chunk, !includeUsage);
    },
    end: () => SSE_DONE,
  };
}

// A batch is written once it reaches this size even if more chunks are at hand.
const MAX_BATCH_CHARS = 16 * 1024;
const NEXT_TURN = Symbol('next turn');

function ignore(): void {}

/**
 * Turns upstream chunks into SSE text for the client through `encoder` (OpenAI: `data:` lines ending
 * with `data: [DONE]`). The last text (with the encoder's end) is the value of the done result, so the writer
 * can send it with the end of the response in one socket write.
 * The first chunk has already been pulled (before the response headers were sent), so it is
 * passed in. Chunks already at hand (taken with `takeBuffered()` when the upstream offers it) are joined into one string (up to 16 KiB); one not there
 * within the current event-loop turn starts the next string. Usage is remembered as it passes and settled exactly once: on the end, on a
 * failure (the error then reaches toSseStream's onError) or on `return()` (client gone).
 *
 * A hand-written iterator rather than an async generator: a generator's `return()` waits
 * for a pending `next()`, while a cancel must settle and tear down the upstream at once.
 *
 * @example
 * const body = toSseStream(relayChunks(upstream, first, { encoder: openAiChunkEncoder(true), settle, signal, cancelUpstream }), { onError: errorEvent });
 */
export function relayChunks(
  upstream: AsyncIterator<ChatCompletionChunk>,
  first: IteratorResult<ChatCompletionChunk>,
  options: RelayOptions,
): AsyncIterableIterator<string, string | undefined> {
  const { encoder, settle, signal, cancelUpstream } = options;
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

  const iterator: AsyncIterableIterator<string, string | undefined> = {
    [Symbol.asyncIterator]: () => iterator,
    async next(): Promise<IteratorResult<string, string | undefined>> {
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
          return { done: true, value: text + encoder.end() };
        }
        const chunk = result.value;
        if (chunk.usage != null) usage = chunk.usage;
        text += encoder.encode(chunk);
        if (text.length >= MAX_BATCH_CHARS) break;
      }
      return text === '' ? { done: true, value: undefined } : { done: false, value: text };
    },
    async return(): Promise<IteratorResult<string, string | undefined>> {
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

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

/** Options for {@link streamChat}. */
export interface StreamChatOptions {
  /** What streams the chunks: a provider or a router. */
  provider: {
    chatStream(request: ChatCompletionRequest, options: RouterCallOptions): AsyncIterableIterator<ChatCompletionChunk>;
  };
  /** Passed to `chatStream` besides the signal (priority, onDeployment). */
  callOptions?: Omit<RouterCallOptions, 'signal'> | undefined;
  /** The canonical request, `model` already the upstream name. */
  request: ChatCompletionRequest;
  settle: Settle;
  logger: Logger;
  /** A stream that sends nothing for this long is ended with an error event. */
  streamIdleTimeoutMs: number;
  /** The request's total budget (`timeouts.totalMs`): past it the stream ends with a 504 error event. */
  totalTimeoutMs?: number | undefined;
  /** The client's wire format. */
  encoder: ChunkEncoder;
  /** The SSE text that ends a stream which failed after its first byte, in the client's format. */
  errorEvent: (error: unknown) => string;
}

/**
 * Answers a streamed chat request: calls `provider.chatStream` with a signal that aborts when the
 * client disconnects (or the stream ends on our side: idle timeout, failure), pulls the first chunk
 * before any header is sent (so an upstream refusal throws here and becomes a normal JSON error
 * with the right status), then relays the chunks through `encoder`, settling once with the usage.
 * Every streaming route goes through here, whatever its wire format.
 *
 * @example
 * return streamChat(c, { provider, request, settle, logger, streamIdleTimeoutMs, encoder: openAiChunkEncoder(false), errorEvent });
 */
export async function streamChat(
  c: Context<{ Variables: { requestId: string } }>,
  options: StreamChatOptions,
): Promise<Response> {
  const { provider, callOptions, request, logger, streamIdleTimeoutMs, totalTimeoutMs, encoder } = options;
  const signal = c.req.raw.signal;
  // A stream can end on our side (idle timeout, failure) while the client is still there, so
  // the upstream call gets its own controller, also tripped by the client going away.
  const upstreamCall = new AbortController();
  const cancelUpstream = (): void => upstreamCall.abort();
  signal.addEventListener('abort', cancelUpstream, { once: true });
  const upstreamSignal = upstreamCall.signal;
  // Past the total budget the upstream call is torn down with the 504 as its reason, which the idle-timeout wrapper
  // hands to the relay: before the first chunk a JSON 504, after it an error event.
  let settle = options.settle;
  if (totalTimeoutMs !== undefined) {
    const deadline = setTimeout(() => upstreamCall.abort(totalTimeoutError(totalTimeoutMs)), totalTimeoutMs);
    settle = (usage, status, error) => {
      clearTimeout(deadline);
      options.settle(usage, status, error);
    };
  }
  const upstream = withIdleTimeout(provider.chatStream(request, { ...callOptions, signal: upstreamSignal }), {
    idleMs: streamIdleTimeoutMs,
    signal: upstreamSignal,
  });
  let first: IteratorResult<ChatCompletionChunk>;
  try {
    first = await upstream.next();
  } catch (error) {
    cancelUpstream();
    settle(undefined, signal.aborted ? 'cancelled' : 'failed', error);
    throw error;
  }
  const relay = relayChunks(upstream, first, { encoder, settle, signal, cancelUpstream });
  const onError = (error: unknown): string => {
    reportError(logger, error, c.get('requestId'), signal.aborted);
    return options.errorEvent(error);
  };
  // On @hono/node-server, write to the Node response ourselves: no web stream, Response object or
  // separate header write between the relay and the socket. Anywhere else, a pull-based web body.
  const outgoing = nodeResponseOf(c);
  if (outgoing !== undefined) {
    // The request id middleware's header, which Hono would otherwise add to the Response we skip.
    outgoing.writeHead(200, { ...SSE_HEADERS, 'x-request-id': c.get('requestId') });
    void pipeSseToNode(relay, outgoing, { onError });
    return RESPONSE_ALREADY_SENT;
  }
  return c.body(toSseStream(relay, { onError }), 200, SSE_HEADERS);
}
