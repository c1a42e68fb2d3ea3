import { estimateTokens } from '@gw/cost';
import type { EmbeddingRequest } from '@gw/providers';

/**
 * The tokens of an embeddings input, estimated for a vendor kind: texts by `@gw/cost`'s estimate, token arrays as
 * they are.
 *
 * @example
 * embeddingInputTokens(['first text', 'second text'], 'openai');
 */
export function embeddingInputTokens(input: EmbeddingRequest['input'], vendor: string | undefined): number {
  const items: unknown[] = Array.isArray(input) ? input : [input];
  let tokens = 0;
  for (const item of items) {
    if (typeof item === 'string') tokens += estimateTokens(item, vendor === undefined ? undefined : { vendor });
    else if (typeof item === 'number') tokens += 1;
    else if (Array.isArray(item)) tokens += item.length;
  }
  return tokens;
}
