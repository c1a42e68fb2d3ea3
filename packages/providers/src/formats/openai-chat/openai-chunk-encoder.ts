import { SSE_DONE } from '@gw/stream';
import type { ChunkEncoder } from '../chunk-encoder.ts';
import { chunkJson, chunkJsonWithoutUsage } from '../../wire-json.ts';

/** Options of {@link openAIChunkEncoder}. */
export interface OpenAIChunkEncoderOptions {
  /**
   * The client asked for `stream_options.include_usage`: the usage-only chunk and usage fields are passed on.
   * Otherwise they are held back (a server usually asks the upstream for usage to bill the stream, and a client
   * that did not ask may index `choices[0]` on every chunk).
   */
  includeUsage: boolean;
}

/**
 * OpenAI `chat.completion.chunk` data lines ending with `data: [DONE]`. A chunk read from the wire unchanged is
 * written as its wire JSON (`wireJson`).
 *
 * @example
 * const encoder = openAIChunkEncoder({ includeUsage: request.stream_options?.include_usage === true });
 * for await (const chunk of provider.chatStream(request)) response.write(encoder.encode(chunk));
 * response.end(encoder.end());
 */
export function openAIChunkEncoder(options: OpenAIChunkEncoderOptions): ChunkEncoder {
  if (options.includeUsage) {
    return { encode: (chunk) => `data: ${chunkJson(chunk)}\n\n`, end: () => SSE_DONE };
  }
  return {
    encode: (chunk) => (chunk.choices.length === 0 ? '' : `data: ${chunkJsonWithoutUsage(chunk)}\n\n`),
    end: () => SSE_DONE,
  };
}
