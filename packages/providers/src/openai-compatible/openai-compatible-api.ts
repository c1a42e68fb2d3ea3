import { z } from 'zod';

// Wire schemas specific to the OpenAI-compatible adapter. Chat and embeddings use the canonical schemas as-is.

/** GET /models: `{"object":"list","data":[{"id","object","created","owned_by"}]}`; only `id` is required. */
export const openAICompatibleModelListSchema = z.looseObject({
  data: z.array(
    z.looseObject({
      id: z.string(),
      created: z.number().nullish(),
      owned_by: z.string().nullish(),
    }),
  ),
});
