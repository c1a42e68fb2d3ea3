import { withIdleTimeout } from '@gw/stream';
import type { ChatCompletionChunk, ChatCompletionRequest, RouterCallOptions, Usage } from '@gw/providers';
import type { ChunkEncoder } from '@gw/providers/formats';
import type { Context } from 'hono';
import type { Pricing } from '../cost/pricing.ts';
import { reportError } from '../error-handler.ts';
import type { GatewayEnv } from '../gateway-env.ts';
import type { Logger } from '../observability/logger.ts';
import { totalTimeoutError } from '../routing/deadline.ts';
import { setServedHeaders, type RoutedCall } from '../routes/v1/routed-call.ts';
import type { RequestOutcome, Settle } from '../settle/settle-once.ts';
import type { OpenStreams } from './open-streams.ts';
import { relayChunks } from './relay-chunks.ts';
import { writeSse } from './write-response.ts';

/** Options for {@link streamChat}. */
export interface StreamChatOptions {
  /** What streams the chunks: a provider or a router. */
  provider: {
    chatStream(request: ChatCompletionRequest, options: RouterCallOptions): AsyncIterableIterator<ChatCompletionChunk>;
  };
  /** The request's routed call: its call options (priority, the trace), pricing and settle. */
  call: Pick<RoutedCall, 'model' | 'callOptions' | 'trace' | 'price' | 'settle'>;
  /** The canonical request, `model` already the upstream name. */
  request: ChatCompletionRequest;
  logger: Logger;
  /** For the cost written into the final usage (`usage.cost`). */
  pricing: Pricing;
  /** A stream that sends nothing for this long is ended with an error event. */
  streamIdleTimeoutMs: number;
  /** The request's total budget (`timeouts.totalMs`): past it the stream ends with a 504 error event. */
  totalTimeoutMs?: number | undefined;
  /** The client's wire format. */
  encoder: ChunkEncoder;
  /** The SSE text that ends a stream which failed after its first byte, in the client's format. */
  errorEvent: (error: unknown) => string;
  /** Where the stream is registered while it runs (a drain that runs out of time ends them with an error event). */
  streams?: OpenStreams | undefined;
  /** Sees every upstream chunk, then the outcome once settled (the response cache keeps a completed stream). */
  capture?: StreamCapture | undefined;
}

/** A watcher of a streamed answer: each chunk, then how the request settled. */
export interface StreamCapture {
  chunk(chunk: ChatCompletionChunk): void;
  settled(outcome: RequestOutcome | undefined): void;
}

/**
 * Answers a streamed chat request: calls `provider.chatStream` with a signal that aborts when the client
 * disconnects (or the stream ends on our side: idle timeout, total timeout, failure), pulls the first chunk before
 * any header is sent (so an upstream refusal throws here and becomes a normal error answer with the right status),
 * then relays the chunks through `encoder` (see relay-chunks.ts), settling once with the usage. Every streaming route
 * goes through here, whatever its wire format.
 *
 * @example
 * return streamChat(c, { provider: router, call, request, logger, pricing, streamIdleTimeoutMs, encoder, errorEvent });
 */
export async function streamChat(c: Context<GatewayEnv>, options: StreamChatOptions): Promise<Response> {
  const { provider, call, request, logger, pricing, streamIdleTimeoutMs, totalTimeoutMs, encoder } = options;
  const signal = c.req.raw.signal;
  // A stream can end on our side (idle timeout, failure) while the client is still there, so the upstream call
  // gets its own controller, also tripped by the client going away.
  const upstreamCall = new AbortController();
  const cancelUpstream = (): void => upstreamCall.abort();
  signal.addEventListener('abort', cancelUpstream, { once: true });
  const upstreamSignal = upstreamCall.signal;
  // Past the total budget the upstream call is torn down with the 504 as its reason, which the idle-timeout wrapper
  // hands to the relay: before the first chunk an error answer, after it an error event.
  const deadline =
    totalTimeoutMs === undefined
      ? undefined
      : setTimeout(() => upstreamCall.abort(totalTimeoutError(totalTimeoutMs)), totalTimeoutMs);
  const leave = options.streams?.add((reason) => upstreamCall.abort(reason));
  const { capture } = options;
  const settle: Settle = (input) => {
    clearTimeout(deadline);
    leave?.();
    const outcome = call.settle(input);
    capture?.settled(outcome);
    return outcome;
  };
  const upstream = withIdleTimeout(provider.chatStream(request, { ...call.callOptions, signal: upstreamSignal }), {
    idleMs: streamIdleTimeoutMs,
    signal: upstreamSignal,
  });
  let first: IteratorResult<ChatCompletionChunk>;
  try {
    first = await upstream.next();
  } catch (error) {
    cancelUpstream();
    settle({ status: signal.aborted ? 'cancelled' : 'failed', error });
    setServedHeaders(c, call);
    throw error;
  }
  call.trace.firstChunkAt = performance.now();
  setServedHeaders(c, call);
  // The usage the client sees carries its cost; the same pricing is what the settle records.
  const costOf = (usage: Usage): number | undefined => {
    const cost = call.price(usage);
    return cost === undefined ? undefined : pricing.toNumber(cost);
  };
  const relay = relayChunks(upstream, first, {
    encoder,
    settle,
    signal,
    cancelUpstream,
    costOf,
    ...(capture === undefined ? {} : { onChunk: (chunk: ChatCompletionChunk) => capture.chunk(chunk) }),
  });
  return writeSse(c, relay, {
    onError: (error) => {
      const clientGone = signal.aborted;
      const answer = reportError(logger, error, c.get('requestId'), clientGone);
      // The access line says 200 for a stream: a failure after the head must be visible in the log by itself.
      if (!clientGone && answer.expected) {
        logger.warn('stream failed after it began', {
          requestId: c.get('requestId'),
          status: answer.status,
          code: answer.body.error.code,
        });
      }
      return options.errorEvent(error);
    },
  });
}
