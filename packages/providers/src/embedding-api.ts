import { z } from 'zod';

/** An embeddings request (OpenAI shape, unknown fields allowed): text, texts, or token arrays. */
export const embeddingRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([
    z.string(),
    z.array(z.string()).min(1),
    z.array(z.number()).min(1),
    z.array(z.array(z.number())).min(1),
  ]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.int().positive().nullish(),
  user: z.string().nullish(),
});
/** An embeddings request. */
export type EmbeddingRequest = z.output<typeof embeddingRequestSchema>;

/** An embeddings response; `embedding` is a base64 string when `encoding_format: 'base64'` was asked for. */
export const embeddingResponseSchema = z.looseObject({
  object: z.string().nullish(),
  data: z.array(
    z.looseObject({
      object: z.string().nullish(),
      index: z.number().default(0),
      embedding: z.union([z.array(z.number()), z.string()]),
    }),
  ),
  model: z.string().nullish(),
  usage: z.looseObject({ prompt_tokens: z.number(), total_tokens: z.number() }).nullish(),
});
/** An embeddings response. */
export type EmbeddingResponse = z.output<typeof embeddingResponseSchema>;
