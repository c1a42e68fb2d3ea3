import { z } from 'zod';

// Zod schemas of the Bedrock Converse wire (docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
// and API_runtime_ConverseStream.html): minimal, loose, `.nullish()` where the service leaves fields out.

const tokenCount = z.number().nullish();

/** `usage` of a Converse answer or of the stream's `metadata` event. */
export const bedrockUsageSchema = z.looseObject({
  inputTokens: z.number(),
  outputTokens: z.number(),
  totalTokens: tokenCount,
  cacheReadInputTokens: tokenCount,
  cacheWriteInputTokens: tokenCount,
});
/** Bedrock token usage. */
export type BedrockUsage = z.output<typeof bedrockUsageSchema>;

const contentBlockSchema = z.looseObject({
  text: z.string().nullish(),
  toolUse: z.looseObject({ toolUseId: z.string(), name: z.string(), input: z.unknown() }).nullish(),
  reasoningContent: z
    .looseObject({
      reasoningText: z.looseObject({ text: z.string().nullish(), signature: z.string().nullish() }).nullish(),
    })
    .nullish(),
});

/** The body of a 200 answer to POST /model/{modelId}/converse. */
export const bedrockConverseResponseSchema = z.looseObject({
  output: z.looseObject({
    message: z.looseObject({ role: z.string().nullish(), content: z.array(contentBlockSchema).prefault([]) }).nullish(),
  }),
  stopReason: z.string(),
  usage: bedrockUsageSchema.nullish(),
});
/** A Converse answer. */
export type BedrockConverseResponse = z.output<typeof bedrockConverseResponseSchema>;

/** Payload of `messageStart`. */
export const messageStartSchema = z.looseObject({ role: z.string().nullish() });
/** Payload of `contentBlockStart`: only tool use starts carry something. */
export const contentBlockStartSchema = z.looseObject({
  contentBlockIndex: z.number().nullish(),
  start: z.looseObject({ toolUse: z.looseObject({ toolUseId: z.string(), name: z.string() }).nullish() }).nullish(),
});
/** Payload of `contentBlockDelta`. */
export const contentBlockDeltaSchema = z.looseObject({
  contentBlockIndex: z.number().nullish(),
  delta: z.looseObject({
    text: z.string().nullish(),
    toolUse: z.looseObject({ input: z.string() }).nullish(),
    reasoningContent: z.looseObject({ text: z.string().nullish(), signature: z.string().nullish() }).nullish(),
  }),
});
/** Payload of `messageStop`. */
export const messageStopSchema = z.looseObject({ stopReason: z.string() });
/** Payload of `metadata`. */
export const metadataSchema = z.looseObject({ usage: bedrockUsageSchema.nullish() });

/** The body of an error answer or of an in-stream exception event. */
export const bedrockErrorBodySchema = z.looseObject({
  message: z.string().nullish(),
  // Some front ends spell it with a capital M.
  Message: z.string().nullish(),
});
