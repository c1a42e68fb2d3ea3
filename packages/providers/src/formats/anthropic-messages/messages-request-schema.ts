import { z } from 'zod';

// The Anthropic Messages API request (https://docs.anthropic.com/en/api/messages), as much of it as the
// gateway converts. Objects are loose: fields we do not read (cache_control, citations...) pass validation
// and are ignored. Block types we cannot express in the canonical request (documents, server tools,
// search results) are rejected with the path of the block, rather than silently lost.

// Prompt-caching breakpoint; kept for a native Anthropic target (see from-anthropic-request.ts).
const cacheControlSchema = z.looseObject({ type: z.string() });

const textBlockSchema = z.looseObject({
  type: z.literal('text'),
  text: z.string(),
  cache_control: cacheControlSchema.nullish(),
});

const imageSourceSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('base64'), media_type: z.string().min(1), data: z.string() }),
  z.looseObject({ type: z.literal('url'), url: z.string().min(1) }),
]);
const imageBlockSchema = z.looseObject({ type: z.literal('image'), source: imageSourceSchema });

const toolUseBlockSchema = z.looseObject({
  type: z.literal('tool_use'),
  id: z.string().min(1),
  name: z.string().min(1),
  input: z.unknown(),
});

const toolResultBlockSchema = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(z.discriminatedUnion('type', [textBlockSchema, imageBlockSchema]))]).nullish(),
  is_error: z.boolean().nullish(),
});

const thinkingBlockSchema = z.looseObject({
  type: z.literal('thinking'),
  thinking: z.string(),
  signature: z.string().nullish(),
});
const redactedThinkingBlockSchema = z.looseObject({ type: z.literal('redacted_thinking'), data: z.string() });

const contentBlockSchema = z.discriminatedUnion('type', [
  textBlockSchema,
  imageBlockSchema,
  toolUseBlockSchema,
  toolResultBlockSchema,
  thinkingBlockSchema,
  redactedThinkingBlockSchema,
]);
/** One content block of an Anthropic message. */
export type AnthropicContentBlock = z.output<typeof contentBlockSchema>;

const messageSchema = z.looseObject({
  role: z.enum(['user', 'assistant']),
  content: z.union([z.string(), z.array(contentBlockSchema)]),
});
/** One message of an Anthropic request. */
export type AnthropicMessage = z.output<typeof messageSchema>;

// Custom (client) tools only: `type` is absent or `custom`. Server tools (web_search_…, bash_…) have a
// versioned type and no input_schema, and only Anthropic itself can run them.
const toolSchema = z.looseObject({
  type: z.literal('custom').nullish(),
  name: z.string().min(1),
  description: z.string().nullish(),
  input_schema: z.record(z.string(), z.unknown()),
  cache_control: cacheControlSchema.nullish(),
});

const toolChoiceSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().nullish() }),
  z.looseObject({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().nullish() }),
  z.looseObject({ type: z.literal('tool'), name: z.string().min(1), disable_parallel_tool_use: z.boolean().nullish() }),
  z.looseObject({ type: z.literal('none') }),
]);

// `adaptive` (the model decides how much to think, guided by output_config.effort) and `between_tools`
// carry no budget; they pass to a native Anthropic target as they are.
const thinkingSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('enabled'), budget_tokens: z.int().positive() }),
  z.looseObject({ type: z.literal('disabled') }),
  z.looseObject({ type: z.literal('adaptive') }),
  z.looseObject({ type: z.literal('between_tools') }),
]);
/** The `thinking` request field. */
export type AnthropicThinking = z.output<typeof thinkingSchema>;

/**
 * A `POST /v1/messages` request body. Validation errors carry the path of the offending field,
 * e.g. `messages[0].content[1].source.type`. `max_tokens` is required, as Anthropic requires it.
 */
export const anthropicMessagesRequestSchema = z.looseObject({
  model: z.string().min(1),
  max_tokens: z.int().positive(),
  messages: z.array(messageSchema).min(1),
  system: z.union([z.string(), z.array(textBlockSchema)]).nullish(),
  stop_sequences: z.array(z.string()).nullish(),
  stream: z.boolean().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  top_k: z.int().nullish(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).nullish(),
  tools: z.array(toolSchema).nullish(),
  tool_choice: toolChoiceSchema.nullish(),
  thinking: thinkingSchema.nullish(),
  output_config: z
    .looseObject({
      effort: z.string().nullish(),
      format: z.looseObject({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()) }).nullish(),
    })
    .nullish(),
});
/** A `POST /v1/messages` request. */
export type AnthropicMessagesRequest = z.output<typeof anthropicMessagesRequestSchema>;
