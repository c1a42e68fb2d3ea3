import { z } from 'zod';
import { chatMessageSchema, chatResponseFormatSchema, chatToolChoiceSchema, chatToolSchema } from './chat-messages.ts';
import { isRecord } from './is-record.ts';

// The canonical wire shape is OpenAI Chat Completions. The request schema knows every OpenAI field and checks its
// type, yet passes unknown fields through (vendors add their own, e.g. `enable_thinking`). Response and chunk
// schemas are minimal and loose: `.nullish()` where vendors differ, unknown fields (`reasoning_content`,
// `obfuscation`, `system_fingerprint`, `service_tier`…) kept so nothing the vendor sent is lost.

// Some compatible servers leave total_tokens out; fill it in so every consumer can rely on it.
function fillTotalTokens(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if ('total_tokens' in value && value.total_tokens != null) return value;
  if (!('prompt_tokens' in value) || !('completion_tokens' in value)) return value;
  const { prompt_tokens: prompt, completion_tokens: completion } = value;
  if (typeof prompt !== 'number' || typeof completion !== 'number') return value;
  return { ...value, total_tokens: prompt + completion };
}

/**
 * Token usage of one completion, with OpenAI's optional breakdowns (cached prompt tokens, reasoning tokens).
 * Vendor extras such as DeepSeek's `prompt_cache_hit_tokens` pass through.
 */
export const usageSchema = z.preprocess(
  fillTotalTokens,
  z.looseObject({
    prompt_tokens: z.number(),
    completion_tokens: z.number(),
    total_tokens: z.number(),
    prompt_tokens_details: z
      .looseObject({ cached_tokens: z.number().nullish(), audio_tokens: z.number().nullish() })
      .nullish(),
    completion_tokens_details: z
      .looseObject({
        reasoning_tokens: z.number().nullish(),
        audio_tokens: z.number().nullish(),
        accepted_prediction_tokens: z.number().nullish(),
        rejected_prediction_tokens: z.number().nullish(),
      })
      .nullish(),
  }),
);
/** Token usage of one completion. */
export type Usage = z.output<typeof usageSchema>;

/**
 * A chat completion request (OpenAI shape). Validation errors carry the path of the offending field, e.g.
 * `messages[0].role` (see `z.prettifyError`).
 */
export const chatCompletionRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(chatMessageSchema).min(1),
  tools: z.array(chatToolSchema).nullish(),
  tool_choice: chatToolChoiceSchema.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z
    .looseObject({ include_usage: z.boolean().nullish(), include_obfuscation: z.boolean().nullish() })
    .nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  n: z.int().positive().nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  max_tokens: z.int().positive().nullish(),
  max_completion_tokens: z.int().positive().nullish(),
  presence_penalty: z.number().nullish(),
  frequency_penalty: z.number().nullish(),
  seed: z.int().nullish(),
  user: z.string().nullish(),
  response_format: chatResponseFormatSchema.nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.int().nonnegative().nullish(),
  logit_bias: z.record(z.string(), z.number()).nullish(),
  // A string rather than an enum: vendors and new models keep adding levels (minimal, xhigh, none…).
  reasoning_effort: z.string().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  store: z.boolean().nullish(),
  service_tier: z.string().nullish(),
  modalities: z.array(z.string()).nullish(),
});
/** A chat completion request (OpenAI shape, unknown fields allowed). */
export type ChatCompletionRequest = z.output<typeof chatCompletionRequestSchema>;

// Vendors that differ from OpenAI in how an assistant turn is written, normalised before validation so that every
// consumer sees one shape:
// - `reasoning` (Ollama, vLLM >= 0.11, OpenRouter) is the same thing as DeepSeek's `reasoning_content`.
// - Mistral may send `content` as an array of chunks, `[{type:'text',text}, {type:'thinking',thinking:[{type:'text',
//   text}]}]`: the text chunks become the string content, the thinking chunks `reasoning_content`.
// Anything else (a number as content, an unknown chunk type) is left for the schema to refuse.

function textOfParts(parts: unknown): string | undefined {
  if (!Array.isArray(parts)) return undefined;
  const list: unknown[] = parts;
  let text = '';
  for (const part of list) {
    if (!isRecord(part) || part['type'] !== 'text' || typeof part['text'] !== 'string') return undefined;
    text += part['text'];
  }
  return text;
}

/** Splits Mistral's content chunks into text and thinking; undefined when `content` is not such an array. */
function splitContentChunks(content: unknown): { text: string; thinking: string } | undefined {
  if (!Array.isArray(content)) return undefined;
  const chunks: unknown[] = content;
  let text = '';
  let thinking = '';
  for (const chunk of chunks) {
    if (!isRecord(chunk)) return undefined;
    if (chunk['type'] === 'text' && typeof chunk['text'] === 'string') text += chunk['text'];
    else if (chunk['type'] === 'thinking') {
      const inner = typeof chunk['thinking'] === 'string' ? chunk['thinking'] : textOfParts(chunk['thinking']);
      if (inner === undefined) return undefined;
      thinking += inner;
    } else return undefined;
  }
  return { text, thinking };
}

/**
 * Internal (shared with wire-json.ts): true when the response and chunk schemas rewrite this message or
 * delta (`reasoning` renamed, content chunks joined), so its wire JSON no longer describes the parsed value.
 *
 * @example
 * ```ts
 * needsAssistantNormalising({ reasoning: 'hmm' }); // true
 * needsAssistantNormalising({ content: 'Hi' }); // false
 * ```
 */
export function needsAssistantNormalising(value: unknown): boolean {
  if (!isRecord(value)) return false;
  if (Array.isArray(value['content'])) return true;
  return value['reasoning'] != null && value['reasoning_content'] == null;
}

function normaliseAssistantTurn(value: unknown): unknown {
  if (!needsAssistantNormalising(value) || !isRecord(value)) return value;
  const { reasoning, ...rest } = value;
  const turn: Record<string, unknown> = rest;
  if (turn['reasoning_content'] == null && typeof reasoning === 'string') turn['reasoning_content'] = reasoning;
  else if (reasoning !== undefined) turn['reasoning'] = reasoning;
  const split = splitContentChunks(turn['content']);
  if (split !== undefined) {
    turn['content'] = split.text;
    if (split.thinking !== '') {
      const before = typeof turn['reasoning_content'] === 'string' ? turn['reasoning_content'] : '';
      turn['reasoning_content'] = before + split.thinking;
    }
  }
  return turn;
}

/** A choice's assistant turn (a response's `message`, a chunk's `delta`), normalised first; `toolCall` types its calls. */
function assistantTurnSchema<T extends z.ZodType>(toolCall: T) {
  return z.preprocess(
    normaliseAssistantTurn,
    z.looseObject({
      role: z.string().nullish(),
      content: z.string().nullish(),
      refusal: z.string().nullish(),
      reasoning_content: z.string().nullish(),
      tool_calls: z.array(toolCall).nullish(),
    }),
  );
}

/** The members a response and a chunk share, around their `choices`. */
function answerSchema<T extends z.ZodType>(choices: T) {
  return z.looseObject({
    id: z.string().nullish(),
    object: z.string().nullish(),
    created: z.number().nullish(),
    model: z.string().nullish(),
    choices,
    usage: usageSchema.nullish(),
    system_fingerprint: z.string().nullish(),
    service_tier: z.string().nullish(),
  });
}

const responseToolCallSchema = z.looseObject({
  id: z.string(),
  type: z.string().nullish(),
  function: z.looseObject({ name: z.string(), arguments: z.string() }).nullish(),
});

const choiceSchema = z.looseObject({
  index: z.number().default(0),
  message: assistantTurnSchema(responseToolCallSchema),
  finish_reason: z.string().nullish(),
  logprobs: z.unknown().optional(),
});
/** One choice of a non-streamed chat completion. */
export type ChatCompletionChoice = z.output<typeof choiceSchema>;

/** A non-streamed chat completion (OpenAI shape, unknown fields kept). */
export const chatCompletionResponseSchema = answerSchema(z.array(choiceSchema));
/** A non-streamed chat completion. */
export type ChatCompletionResponse = z.output<typeof chatCompletionResponseSchema>;

const deltaToolCallSchema = z.looseObject({
  // OpenAI always sends index; a few compatible servers have omitted it, so it is not required here.
  index: z.number().nullish(),
  id: z.string().nullish(),
  type: z.string().nullish(),
  function: z.looseObject({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});

const chunkChoiceSchema = z.looseObject({
  index: z.number().default(0),
  delta: assistantTurnSchema(deltaToolCallSchema).prefault({}),
  finish_reason: z.string().nullish(),
  logprobs: z.unknown().optional(),
});
/** One choice of a streamed chunk. */
export type ChatCompletionChunkChoice = z.output<typeof chunkChoiceSchema>;

/**
 * One streamed chunk (`chat.completion.chunk`). The usage-only chunk that ends a stream with
 * `stream_options.include_usage` has `choices: []` and `usage` set.
 */
export const chatCompletionChunkSchema = answerSchema(z.array(chunkChoiceSchema).prefault([]));
/** One streamed chat completion chunk. */
export type ChatCompletionChunk = z.output<typeof chatCompletionChunkSchema>;
