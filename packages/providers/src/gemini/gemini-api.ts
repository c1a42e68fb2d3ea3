import { z } from 'zod';

// Wire schemas of the Gemini API (generativelanguage.googleapis.com/v1beta), checked against Google's reference
// (GenerateContentResponse, Candidate, Part, UsageMetadata, Status, ListModelsResponse,
// BatchEmbedContentsResponse). Minimal and loose: only the fields the adapter reads are typed, the rest pass.

const functionCallSchema = z.looseObject({
  id: z.string().nullish(),
  name: z.string(),
  args: z.record(z.string(), z.unknown()).nullish(),
});

/** One part of a candidate's content: text (a thought when `thought: true`) or a function call. */
export const geminiPartSchema = z.looseObject({
  text: z.string().nullish(),
  thought: z.boolean().nullish(),
  // Opaque; must be sent back with the part it came with for multi-turn function calling on thinking models.
  thoughtSignature: z.string().nullish(),
  functionCall: functionCallSchema.nullish(),
});
/** One part of a Gemini content. */
export type GeminiPart = z.output<typeof geminiPartSchema>;

const candidateSchema = z.looseObject({
  content: z.looseObject({ role: z.string().nullish(), parts: z.array(geminiPartSchema).nullish() }).nullish(),
  finishReason: z.string().nullish(),
  index: z.number().nullish(),
});
/** One candidate (choice) of a Gemini response. */
export type GeminiCandidate = z.output<typeof candidateSchema>;

/** `usageMetadata`; every count is optional on the wire (thoughts only for thinking models, cache only on hits). */
export const geminiUsageMetadataSchema = z.looseObject({
  promptTokenCount: z.number().nullish(),
  candidatesTokenCount: z.number().nullish(),
  thoughtsTokenCount: z.number().nullish(),
  toolUsePromptTokenCount: z.number().nullish(),
  cachedContentTokenCount: z.number().nullish(),
  totalTokenCount: z.number().nullish(),
});
/** Gemini's token usage. */
export type GeminiUsageMetadata = z.output<typeof geminiUsageMetadataSchema>;

/** A GenerateContentResponse: the whole body of `:generateContent`, and each SSE event of `:streamGenerateContent`. */
export const geminiGenerateContentResponseSchema = z.looseObject({
  candidates: z.array(candidateSchema).nullish(),
  promptFeedback: z.looseObject({ blockReason: z.string().nullish() }).nullish(),
  usageMetadata: geminiUsageMetadataSchema.nullish(),
  modelVersion: z.string().nullish(),
  responseId: z.string().nullish(),
});
/** A GenerateContentResponse. */
export type GeminiGenerateContentResponse = z.output<typeof geminiGenerateContentResponseSchema>;

/** The `google.rpc.Status` error envelope: `{"error":{"code":429,"message","status":"RESOURCE_EXHAUSTED","details":[…]}}`. */
export const geminiErrorBodySchema = z.looseObject({
  error: z.looseObject({
    code: z.number().nullish(),
    message: z.string().nullish(),
    status: z.string().nullish(),
    details: z
      .array(
        z.looseObject({
          '@type': z.string().nullish(),
          // google.rpc.ErrorInfo
          reason: z.string().nullish(),
          // google.rpc.RetryInfo: a protobuf Duration in JSON, e.g. "34.4s".
          retryDelay: z.string().nullish(),
        }),
      )
      .nullish(),
  }),
});
/** A Gemini error body. */
export type GeminiErrorBody = z.output<typeof geminiErrorBodySchema>;

/** GET /models: `{"models":[{"name":"models/gemini-2.5-flash",…}],"nextPageToken"}`. */
export const geminiModelListSchema = z.looseObject({
  models: z.array(z.looseObject({ name: z.string(), displayName: z.string().nullish() })).nullish(),
  nextPageToken: z.string().nullish(),
});

/** POST /models/{m}:batchEmbedContents: `{"embeddings":[{"values":[…]}]}` in request order. */
export const geminiBatchEmbedResponseSchema = z.looseObject({
  embeddings: z.array(z.looseObject({ values: z.array(z.number()) })),
});
