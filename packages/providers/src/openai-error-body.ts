import { z } from 'zod';

/**
 * The OpenAI error envelope, `{"error":{"message","type","code","param"}}`: what OpenAI-compatible vendors answer
 * and what the gateway answers with. `code` is a string for OpenAI but a number for some vendors.
 */
export const openAIErrorBodySchema = z.looseObject({
  error: z.looseObject({
    message: z.string(),
    type: z.string().nullish(),
    code: z.union([z.string(), z.number()]).nullish(),
    param: z.string().nullish(),
  }),
});
/** The OpenAI error envelope. */
export type OpenAIErrorBody = z.output<typeof openAIErrorBodySchema>;
