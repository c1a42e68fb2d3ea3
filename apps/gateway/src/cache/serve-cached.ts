import type { GatewayEnv } from '../gateway-env.ts';
import type { ChatCompletionChunk, ChatCompletionResponse } from '@gw/providers';
import type { ChunkEncoder } from '@gw/providers/formats';
import type { Context } from 'hono';
import { relayChunks } from '../relay/relay-chunks.ts';
import type { StreamCapture } from '../relay/stream-chat.ts';
import { writeSse } from '../relay/write-response.ts';
import type { Settle } from '../settle/settle-once.ts';
import { collectChunks, responseChunks } from './cached-chunks.ts';
import type { CacheTicket } from './response-cache.ts';

/**
 * Answers a streamed request from a cached response: the chunk sequence the response amounts to
 * (`responseChunks`), through the client's encoder, with `usage.cost` 0 on the usage chunk (shown when the client
 * asked for `include_usage`). The settle runs once: completed at the end, cancelled if the client leaves.
 *
 * @example
 * if (call.cache?.hit) return streamCached(c, call.cache.hit.response, { settle: call.settle, encoder, errorEvent });
 */
export function streamCached(
  c: Context<GatewayEnv>,
  response: ChatCompletionResponse,
  options: { settle: Settle; encoder: ChunkEncoder; errorEvent: (error: unknown) => string },
): Response {
  const chunks = responseChunks(response)[Symbol.iterator]();
  const source: AsyncIterator<ChatCompletionChunk> = { next: () => Promise.resolve(chunks.next()) };
  const relay = relayChunks(source, chunks.next(), {
    encoder: options.encoder,
    settle: options.settle,
    signal: c.req.raw.signal,
    cancelUpstream: () => undefined,
    costOf: () => 0,
  });
  return writeSse(c, relay, { onError: options.errorEvent });
}

/**
 * Collects a streamed answer and keeps it in the cache once the request settled completed with every choice
 * finished; a stream cut short, failed or left by the client is not kept.
 *
 * @example
 * return streamChat(c, { ...options, capture: ticket === undefined ? undefined : cacheStream(ticket) });
 */
export function cacheStream(ticket: CacheTicket<ChatCompletionResponse>): StreamCapture {
  const collector = collectChunks();
  return {
    chunk: (chunk) => collector.add(chunk),
    settled: (outcome) => {
      if (outcome?.status !== 'completed') return;
      const response = collector.response();
      if (response !== undefined) ticket.save(response, outcome);
    },
  };
}
