import { z } from 'zod';

// Zod schemas of the Anthropic Messages wire (https://docs.anthropic.com/en/api/messages and
// /en/docs/build-with-claude/streaming). Minimal and loose: only the fields the adapter reads are checked, unknown
// fields and unknown block types pass, so a new vendor feature does not break parsing of what we understand.

/** Token usage as Anthropic reports it; the cache fields are absent on older models and on message_delta. */
export const anthropicUsageSchema = z.looseObject({
  input_tokens: z.number().nullish(),
  output_tokens: z.number().nullish(),
  cache_creation_input_tokens: z.number().nullish(),
  cache_read_input_tokens: z.number().nullish(),
  // How the cache writes split by lifetime (5-minute and 1-hour writes are priced apart).
  cache_creation: z
    .looseObject({ ephemeral_5m_input_tokens: z.number().nullish(), ephemeral_1h_input_tokens: z.number().nullish() })
    .nullish(),
});
/** Anthropic token usage. */
export type AnthropicUsage = z.output<typeof anthropicUsageSchema>;

/** One content block of a response. Blocks of types we do not convert (server tools, redacted thinking…) pass. */
export const anthropicContentBlockSchema = z.looseObject({
  type: z.string(),
  text: z.string().nullish(),
  thinking: z.string().nullish(),
  signature: z.string().nullish(),
  id: z.string().nullish(),
  name: z.string().nullish(),
  input: z.unknown().optional(),
});

/** A non-streamed Messages response (`type: "message"`). */
export const anthropicMessageSchema = z.looseObject({
  id: z.string(),
  type: z.literal('message'),
  role: z.string().nullish(),
  model: z.string(),
  content: z.array(anthropicContentBlockSchema),
  stop_reason: z.string().nullish(),
  stop_sequence: z.string().nullish(),
  usage: anthropicUsageSchema,
});
/** A non-streamed Messages response. */
export type AnthropicMessage = z.output<typeof anthropicMessageSchema>;

/** The error envelope: `{type:"error", error:{type, message}, request_id}`. */
/** `POST /v1/messages/count_tokens`'s answer. */
export const anthropicTokenCountSchema = z.looseObject({ input_tokens: z.int().nonnegative() });

export const anthropicErrorBodySchema = z.looseObject({
  type: z.literal('error').nullish(),
  error: z.looseObject({ type: z.string(), message: z.string().nullish() }),
  request_id: z.string().nullish(),
});

const messageStartSchema = z.looseObject({
  type: z.literal('message_start'),
  message: z.looseObject({ id: z.string(), model: z.string(), usage: anthropicUsageSchema.nullish() }),
});
const contentBlockStartSchema = z.looseObject({
  type: z.literal('content_block_start'),
  index: z.number(),
  content_block: anthropicContentBlockSchema,
});
const contentBlockDeltaSchema = z.looseObject({
  type: z.literal('content_block_delta'),
  index: z.number(),
  delta: z.looseObject({
    type: z.string(),
    text: z.string().nullish(),
    thinking: z.string().nullish(),
    partial_json: z.string().nullish(),
    signature: z.string().nullish(),
  }),
});
const contentBlockStopSchema = z.looseObject({ type: z.literal('content_block_stop'), index: z.number() });
const messageDeltaSchema = z.looseObject({
  type: z.literal('message_delta'),
  delta: z.looseObject({ stop_reason: z.string().nullish(), stop_sequence: z.string().nullish() }).prefault({}),
  usage: anthropicUsageSchema.nullish(),
});
const messageStopSchema = z.looseObject({ type: z.literal('message_stop') });
const pingSchema = z.looseObject({ type: z.literal('ping') });
const errorEventSchema = z.looseObject({
  type: z.literal('error'),
  error: z.looseObject({ type: z.string(), message: z.string().nullish() }),
});

/** One stream event, discriminated by `type` (which is also the SSE `event:` name). */
export const anthropicStreamEventSchema = z.discriminatedUnion('type', [
  messageStartSchema,
  contentBlockStartSchema,
  contentBlockDeltaSchema,
  contentBlockStopSchema,
  messageDeltaSchema,
  messageStopSchema,
  pingSchema,
  errorEventSchema,
]);
/** One Anthropic stream event. */
export type AnthropicStreamEvent = z.output<typeof anthropicStreamEventSchema>;

/** `GET /v1/models`: `{data:[{id, type:"model", display_name, created_at}], has_more, first_id, last_id}`. */
export const anthropicModelListSchema = z.looseObject({
  data: z.array(
    z.looseObject({
      id: z.string(),
      type: z.string().nullish(),
      display_name: z.string().nullish(),
      created_at: z.string().nullish(),
    }),
  ),
  has_more: z.boolean().nullish(),
});
