// The whole public surface of @gw/providers/formats: pure conversions between client-facing wire formats and the
// canonical (OpenAI Chat Completions) types, so a Node app can accept another format and call any vendor without
// the gateway. One folder per format: openai-chat (the canonical format's stream encoding), anthropic-messages and
// openai-responses (OpenAI's Responses API).

export type { ChunkEncoder } from './chunk-encoder.ts';

export { openAIChunkEncoder } from './openai-chat/openai-chunk-encoder.ts';
export type { OpenAIChunkEncoderOptions } from './openai-chat/openai-chunk-encoder.ts';

export { anthropicMessagesRequestSchema } from './anthropic-messages/messages-request-schema.ts';
export type {
  AnthropicContentBlock,
  AnthropicMessage,
  AnthropicMessagesRequest,
  AnthropicThinking,
} from './anthropic-messages/messages-request-schema.ts';
export { fromAnthropicRequest, reasoningEffortFor } from './anthropic-messages/from-anthropic-request.ts';
export type { FromAnthropicOptions } from './anthropic-messages/from-anthropic-request.ts';
export {
  anthropicMessageId,
  toAnthropicResponse,
  toAnthropicStopReason,
  toAnthropicUsage,
} from './anthropic-messages/to-anthropic-response.ts';
export type {
  AnthropicMessageResponse,
  AnthropicResponseBlock,
  AnthropicStopReason,
  AnthropicUsage,
} from './anthropic-messages/to-anthropic-response.ts';
export { anthropicStreamEncoder } from './anthropic-messages/anthropic-stream-encoder.ts';
export type { AnthropicStreamEncoderOptions } from './anthropic-messages/anthropic-stream-encoder.ts';
export { anthropicErrorBody, anthropicErrorEvent } from './anthropic-messages/anthropic-error-body.ts';
export type { AnthropicErrorBody } from './anthropic-messages/anthropic-error-body.ts';

export { responsesRequestSchema } from './openai-responses/responses-request-schema.ts';
export type {
  ResponsesFunctionTool,
  ResponsesInputItem,
  ResponsesRequest,
  ResponsesToolChoice,
} from './openai-responses/responses-request-schema.ts';
export { fromResponsesRequest } from './openai-responses/from-responses-request.ts';
export type { FromResponsesOptions } from './openai-responses/from-responses-request.ts';
export { responsesConversation } from './openai-responses/responses-conversation.ts';
export type { ResponsesConversationOptions } from './openai-responses/responses-conversation.ts';
export {
  responsesResponseId,
  toResponsesResponse,
  toResponsesUsage,
} from './openai-responses/to-responses-response.ts';
export type {
  ResponsesError,
  ResponsesFunctionCallItem,
  ResponsesIncompleteReason,
  ResponsesItemStatus,
  ResponsesMessageItem,
  ResponsesOutputItem,
  ResponsesOutputText,
  ResponsesReasoningItem,
  ResponsesRefusal,
  ResponsesResponse,
  ResponsesResponseOptions,
  ResponsesStatus,
  ResponsesUsage,
} from './openai-responses/to-responses-response.ts';
export { responsesStreamEncoder } from './openai-responses/responses-stream-encoder.ts';
export type {
  ResponsesStreamEncoder,
  ResponsesStreamEncoderOptions,
  ResponsesStreamError,
} from './openai-responses/responses-stream-encoder.ts';
