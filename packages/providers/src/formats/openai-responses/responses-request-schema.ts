import { z } from 'zod';

// OpenAI's Responses API request (platform.openai.com/docs/api-reference/responses/create; field shapes checked
// against the `openai` SDK's `ResponseCreateParams` and `ResponseInputItem` types), as much of it as the gateway
// converts to a chat completion. Objects are loose: fields we do not read (`id` and `status` of items sent back,
// `annotations`, `include`, `truncation`…) pass validation and are ignored. What only OpenAI can do (built-in tools,
// OpenAI Files, conversations, background mode) is refused with the path of the field, rather than silently lost.

const inputTextSchema = z.looseObject({ type: z.literal('input_text'), text: z.string() });
const outputTextSchema = z.looseObject({ type: z.literal('output_text'), text: z.string() });
const refusalSchema = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });
const inputImageSchema = z.looseObject({
  type: z.literal('input_image'),
  image_url: z.string({
    error:
      'input_image needs image_url (a URL or a data: URL); file_id names an OpenAI file, which no other vendor can read',
  }),
  detail: z.string().nullish(),
});

const PARTS = 'Unsupported content part: use input_text or input_image';

// Clients send their earlier turns back as they got them, so an assistant turn may hold output_text or refusal
// parts (ResponseOutputMessage) or input_text ones (EasyInputMessage); user turns sometimes echo output_text.
const userPartSchema = z.discriminatedUnion('type', [inputTextSchema, outputTextSchema, inputImageSchema], {
  error: `${PARTS} (input_file is not supported)`,
});
const assistantPartSchema = z.discriminatedUnion('type', [outputTextSchema, inputTextSchema, refusalSchema], {
  error: 'Unsupported content part of an assistant message: use output_text or refusal',
});
const instructionPartSchema = z.discriminatedUnion('type', [inputTextSchema, outputTextSchema], {
  error: 'Unsupported content part of a system or developer message: use input_text',
});

function contentOf<T extends z.ZodType>(part: T) {
  return z.union([z.string(), z.array(part)]);
}

const messageType = z.literal('message');

const messageItemSchema = z.discriminatedUnion('role', [
  z.looseObject({ type: messageType, role: z.literal('user'), content: contentOf(userPartSchema) }),
  z.looseObject({ type: messageType, role: z.literal('assistant'), content: contentOf(assistantPartSchema) }),
  z.looseObject({ type: messageType, role: z.literal('system'), content: contentOf(instructionPartSchema) }),
  z.looseObject({ type: messageType, role: z.literal('developer'), content: contentOf(instructionPartSchema) }),
]);

const functionCallItemSchema = z.looseObject({
  type: z.literal('function_call'),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
});

// A tool's output: a string, or parts of which only the text reaches the canonical `tool` message.
const functionCallOutputItemSchema = z.looseObject({
  type: z.literal('function_call_output'),
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(z.looseObject({ type: z.string(), text: z.string().nullish() }))]),
});

// A reasoning item sent back with the rest of an earlier answer: its summary (or raw reasoning text) becomes the
// next assistant turn's `reasoning_content`; `encrypted_content` is OpenAI's alone and is ignored.
const reasoningItemSchema = z.looseObject({
  type: z.literal('reasoning'),
  summary: z.array(z.looseObject({ text: z.string() })).nullish(),
  content: z.array(z.looseObject({ text: z.string() })).nullish(),
});

// `type` may be left out of a message item (EasyInputMessage); it is filled in so the union can discriminate.
function withMessageType(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return 'type' in value || !('role' in value) ? value : { ...value, type: 'message' };
}

const inputItemSchema = z.preprocess(
  withMessageType,
  z.discriminatedUnion(
    'type',
    [messageItemSchema, functionCallItemSchema, functionCallOutputItemSchema, reasoningItemSchema],
    {
      error:
        'Unsupported input item: use message, function_call, function_call_output or reasoning items ' +
        '(items of built-in tools and item_reference are not supported)',
    },
  ),
);
/** One item of a Responses request's `input`: a message, a function call, its output, or a reasoning item. */
export type ResponsesInputItem = z.output<typeof inputItemSchema>;

// Function tools only: built-in tools (web_search, file_search, code_interpreter, computer_use, image_generation,
// mcp…) run inside OpenAI, and `custom` tools would come back as items no canonical answer carries.
const toolSchema = z.looseObject({
  type: z.literal('function', {
    error: (issue) =>
      `Only function tools are supported; ${JSON.stringify(issue.input)} is a tool that runs inside OpenAI (or a ` +
      'custom tool), which the gateway cannot offer in front of other vendors',
  }),
  name: z.string().min(1),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});
/** A function tool of a Responses request. */
export type ResponsesFunctionTool = z.output<typeof toolSchema>;

const toolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.discriminatedUnion(
    'type',
    [
      z.looseObject({ type: z.literal('function'), name: z.string().min(1) }),
      z.looseObject({
        type: z.literal('allowed_tools'),
        mode: z.enum(['auto', 'required']),
        tools: z.array(z.looseObject({ type: z.literal('function'), name: z.string().min(1) })),
      }),
    ],
    { error: 'tool_choice: use none, auto, required, a function ({type:"function",name}) or allowed_tools' },
  ),
]);
/** The `tool_choice` of a Responses request. */
export type ResponsesToolChoice = z.output<typeof toolChoiceSchema>;

const formatSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    name: z.string().min(1),
    schema: z.record(z.string(), z.unknown()),
    description: z.string().nullish(),
    strict: z.boolean().nullish(),
  }),
]);

/** A field the gateway cannot honour: absent or null only, anything else is refused with `message`. */
function refused(message: string) {
  return z
    .unknown()
    .refine((value) => value == null, { error: message })
    .optional();
}

/**
 * A `POST /v1/responses` request body. Validation errors carry the path of the offending field, e.g.
 * `input[2].content[0].type` or `tools[0].type` (a built-in tool). `input` is required: a string (one user
 * message) or a list of items.
 */
export const responsesRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(inputItemSchema).min(1)]),
  instructions: z.string().nullish(),
  tools: z.array(toolSchema).nullish(),
  tool_choice: toolChoiceSchema.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  max_output_tokens: z.int().positive().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  // A string rather than an enum, as for chat: new models keep adding levels (minimal, none, xhigh…).
  reasoning: z.looseObject({ effort: z.string().nullish(), summary: z.string().nullish() }).nullish(),
  text: z.looseObject({ format: formatSchema.nullish(), verbosity: z.string().nullish() }).nullish(),
  stream: z.boolean().nullish(),
  store: z.boolean().nullish(),
  previous_response_id: z.string().min(1).nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  user: z.string().nullish(),
  background: z
    .boolean()
    .nullish()
    .refine((value) => value !== true, { error: 'background mode is not supported: send the request without it' }),
  conversation: refused('conversations are not supported: chain responses with previous_response_id instead'),
  prompt: refused('stored prompts live at OpenAI and are not supported: send the instructions and input instead'),
});
/** A `POST /v1/responses` request. */
export type ResponsesRequest = z.output<typeof responsesRequestSchema>;
