// The whole public surface of @gw/providers. Explicit named exports only: anything not listed here is internal.

export {
  chatCompletionChunkSchema,
  chatCompletionRequestSchema,
  chatCompletionResponseSchema,
  usageSchema,
} from './chat-api.ts';
export type {
  ChatCompletionChoice,
  ChatCompletionChunk,
  ChatCompletionChunkChoice,
  ChatCompletionRequest,
  ChatCompletionResponse,
  Usage,
} from './chat-api.ts';
export type { ChatContentPart, ChatMessage, ChatTool, ChatToolCall } from './chat-messages.ts';
export { embeddingRequestSchema, embeddingResponseSchema } from './embedding-api.ts';
export type { EmbeddingRequest, EmbeddingResponse } from './embedding-api.ts';
export { wireJson } from './wire-json.ts';
export { openAIErrorBodySchema } from './openai-error-body.ts';
export type { OpenAIErrorBody } from './openai-error-body.ts';

export { isProviderError, ProviderError } from './provider-error.ts';
export { redactSecrets } from './redact-secrets.ts';
export type { ProviderErrorKind, ProviderErrorOptions } from './provider-error.ts';

export { getProviderKindInfo, PROVIDER_KINDS } from './provider-kinds.ts';
export type { ProviderKind, ProviderKindInfo } from './provider-kinds.ts';

export type { CallOptions, HealthCheckResult, ModelInfo, Provider, ProviderConfig } from './provider.ts';
export type { HeaderLookup, Transport, TransportBody, TransportRequest, TransportResponse } from './transport.ts';
export { createHttpTransport } from './http-transport.ts';
export type { HttpTransport, HttpTransportOptions, HttpTransportStats } from './http-transport.ts';
export { isPoolTimeoutError, PoolTimeoutError } from './pool-timeout-error.ts';
export { createProvider } from './create-provider.ts';

export { createRouter } from './router/create-router.ts';
export type {
  AcquireSlot,
  AttemptWrapper,
  CooldownOptions,
  DeploymentConfig,
  DeploymentHealth,
  FallbackReason,
  ModelAliasConfig,
  Router,
  RouterCallOptions,
  RouterDeployment,
  RouterEvent,
  RouterOptions,
  RoutingStrategy,
} from './router/router-types.ts';
