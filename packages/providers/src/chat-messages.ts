import { z } from 'zod';

// Request-side message schemas of the canonical (OpenAI Chat Completions) shape. Objects are loose: fields we do
// not know pass through untouched, fields we know are type-checked.

/**
 * A string, or an array of parts. A plain `z.union` would report a bad part only as "invalid input at content";
 * validating the array ourselves keeps the full path in the issue, e.g. `messages[0].content[1].image_url.url`.
 */
function stringOrArrayOf<T extends z.ZodType>(item: T) {
  const array = z.array(item);
  return z
    .custom<string | Array<z.output<T>>>((value) => typeof value === 'string' || Array.isArray(value), {
      error: 'Invalid input: expected a string or an array of content parts',
    })
    .superRefine((value, context) => {
      if (typeof value === 'string') return;
      const result = array.safeParse(value);
      if (result.success) return;
      for (const issue of result.error.issues) context.addIssue({ ...issue });
    });
}

const textPartSchema = z.looseObject({ type: z.literal('text'), text: z.string() });
const refusalPartSchema = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });
const imagePartSchema = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.looseObject({ url: z.string(), detail: z.enum(['auto', 'low', 'high']).nullish() }),
});
const audioPartSchema = z.looseObject({
  type: z.literal('input_audio'),
  input_audio: z.looseObject({ data: z.string(), format: z.string() }),
});
const filePartSchema = z.looseObject({
  type: z.literal('file'),
  file: z.looseObject({
    file_data: z.string().nullish(),
    file_id: z.string().nullish(),
    filename: z.string().nullish(),
  }),
});

const userPartSchema = z.discriminatedUnion('type', [textPartSchema, imagePartSchema, audioPartSchema, filePartSchema]);
const assistantPartSchema = z.discriminatedUnion('type', [textPartSchema, refusalPartSchema]);

/** One part of a multi-part message content. */
export type ChatContentPart = z.output<typeof userPartSchema> | z.output<typeof refusalPartSchema>;

const functionToolCallSchema = z.looseObject({
  id: z.string(),
  type: z.literal('function'),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});
const customToolCallSchema = z.looseObject({
  id: z.string(),
  type: z.literal('custom'),
  custom: z.looseObject({ name: z.string(), input: z.string() }),
});
/** A tool call made by the assistant, as sent back in the conversation history. */
export const chatToolCallSchema = z.discriminatedUnion('type', [functionToolCallSchema, customToolCallSchema]);
/** A tool call made by the assistant (function or custom tool). */
export type ChatToolCall = z.output<typeof chatToolCallSchema>;

const nameSchema = z.string().nullish();

/** One message of a chat request, discriminated by `role`. */
export const chatMessageSchema = z.discriminatedUnion('role', [
  z.looseObject({ role: z.literal('system'), content: stringOrArrayOf(textPartSchema), name: nameSchema }),
  z.looseObject({ role: z.literal('developer'), content: stringOrArrayOf(textPartSchema), name: nameSchema }),
  z.looseObject({ role: z.literal('user'), content: stringOrArrayOf(userPartSchema), name: nameSchema }),
  z.looseObject({
    role: z.literal('assistant'),
    content: stringOrArrayOf(assistantPartSchema).nullish(),
    name: nameSchema,
    tool_calls: z.array(chatToolCallSchema).nullish(),
    refusal: z.string().nullish(),
    reasoning_content: z.string().nullish(),
    function_call: z.looseObject({ name: z.string(), arguments: z.string() }).nullish(),
    audio: z.looseObject({ id: z.string() }).nullish(),
  }),
  z.looseObject({ role: z.literal('tool'), content: stringOrArrayOf(textPartSchema), tool_call_id: z.string() }),
  z.looseObject({ role: z.literal('function'), content: z.string().nullable(), name: z.string() }),
]);
/** One message of a chat request: system, developer, user, assistant, tool or (legacy) function. */
export type ChatMessage = z.output<typeof chatMessageSchema>;

/** A tool the model may call: a JSON-schema function, or a free-form custom tool. */
export const chatToolSchema = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('function'),
    function: z.looseObject({
      name: z.string().min(1),
      description: z.string().nullish(),
      parameters: z.record(z.string(), z.unknown()).nullish(),
      strict: z.boolean().nullish(),
    }),
  }),
  z.looseObject({
    type: z.literal('custom'),
    custom: z.looseObject({ name: z.string().min(1), description: z.string().nullish(), format: z.unknown() }),
  }),
]);
/** A tool the model may call. */
export type ChatTool = z.output<typeof chatToolSchema>;

/** `tool_choice`: a mode, or a named function / custom tool, or an allowed-tools subset. */
export const chatToolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) }),
  z.looseObject({ type: z.literal('custom'), custom: z.looseObject({ name: z.string() }) }),
  z.looseObject({
    type: z.literal('allowed_tools'),
    allowed_tools: z.looseObject({
      mode: z.enum(['auto', 'required']),
      tools: z.array(z.record(z.string(), z.unknown())),
    }),
  }),
]);

/** `response_format`: plain text, any JSON object, or JSON matching a schema. */
export const chatResponseFormatSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({
      name: z.string(),
      description: z.string().nullish(),
      schema: z.record(z.string(), z.unknown()).nullish(),
      strict: z.boolean().nullish(),
    }),
  }),
]);
