import type { ChatCompletionChunk } from '../chat-api.ts';

/**
 * Turns canonical chunks into the SSE text of one client-facing wire format (OpenAI chunks, Anthropic events...).
 * A relay around it does the rest: batching, usage, cancellation. An encoder keeps the state of one stream, so
 * make one per answer.
 */
export interface ChunkEncoder {
  /** The SSE text for one upstream chunk; `''` sends nothing. Never changes the chunk. */
  encode(chunk: ChatCompletionChunk): string;
  /** The SSE text that ends a stream the upstream completed (e.g. `data: [DONE]`). */
  end(): string;
}
