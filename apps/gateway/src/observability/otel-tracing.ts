import { AsyncLocalStorage } from 'node:async_hooks';
import { moneyToNumber } from '@gw/cost';
import { isProviderError, type AttemptWrapper, type ProviderKind, type RouterDeployment } from '@gw/providers';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { GatewayEnv } from '../gateway-env.ts';
import { isGatewayError } from '../gateway-error.ts';
import type { Endpoint, RequestOutcome } from '../settle/settle-once.ts';
import type { Logger } from './logger.ts';
import { observeRouter, type RouterObserver } from './observed-router.ts';
import { createTracerProvider } from './otel-sdk.ts';
import type { GatewayTracing, TracedRequest } from './tracing.ts';

// The GenAI semantic conventions (incubating, now kept in a repository of their own): copied here rather than
// imported from the package's unstable entry point, as its documentation advises.
const GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
const GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
// The name before gen_ai.provider.name; still what many tracing back ends read, so both are written.
const GEN_AI_SYSTEM = 'gen_ai.system';
const GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
const GEN_AI_REQUEST_MAX_TOKENS = 'gen_ai.request.max_tokens';
const GEN_AI_REQUEST_TEMPERATURE = 'gen_ai.request.temperature';
const GEN_AI_REQUEST_STREAM = 'gen_ai.request.stream';
const GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model';
const GEN_AI_RESPONSE_ID = 'gen_ai.response.id';
const GEN_AI_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons';
const GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = 'gen_ai.response.time_to_first_chunk';
const GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
const GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
const GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = 'gen_ai.usage.cache_read.input_tokens';

/** `gen_ai.provider.name` of each kind: the convention's value where it has one, else the kind as gw names it. */
const PROVIDER_NAME: Readonly<Record<ProviderKind, string>> = {
  openai: 'openai',
  'openai-compatible': 'openai-compatible',
  'azure-openai': 'azure.ai.openai',
  anthropic: 'anthropic',
  gemini: 'gcp.gemini',
  bedrock: 'aws.bedrock',
  zhipu: 'zhipu',
  dashscope: 'dashscope',
  qianfan: 'qianfan',
  hunyuan: 'hunyuan',
  doubao: 'doubao',
  deepseek: 'deepseek',
  moonshot: 'moonshot',
  mistral: 'mistral_ai',
  groq: 'groq',
  ollama: 'ollama',
  vllm: 'vllm',
  demo: 'demo',
};

// Messages and Responses are chat in the convention's terms, whatever their wire format.
const OPERATION: Readonly<Record<Endpoint, string>> = {
  chat: 'chat',
  messages: 'chat',
  responses: 'chat',
  embeddings: 'embeddings',
};

// How long a shutdown waits for the last export: a collector that does not answer must not hold the exit.
const SHUTDOWN_WAIT_MS = 5000;

const HEADERS: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/** One request's spans and what is learnt about it along the way. */
interface RequestSpans {
  readonly span: Span;
  /** The context whose active span is the request's: the parent of its attempts. */
  readonly context: Context;
  operation: string;
  routed: boolean;
  /** Upstream calls so far. */
  attempts: number;
  /** The kind of the last failed attempt, told in the next retry's event. */
  lastFailure: string | undefined;
  /** The attempt that answered: it ends with the request, once its answer is known. */
  answering: Span | undefined;
  responseModel: string | undefined;
  responseId: string | undefined;
  finishReasons: string[];
  sawChunk: boolean;
  answered: boolean;
  settled: boolean;
}

/** The kind of a failure: a ProviderError's, a gateway error's code, else `internal`. */
function errorType(error: unknown): string {
  if (isProviderError(error)) return error.kind;
  if (isGatewayError(error)) return error.code ?? error.type;
  return 'internal';
}

function fail(span: Span, error: unknown): void {
  const type = errorType(error);
  span.setAttribute(ATTR_ERROR_TYPE, type);
  if (isProviderError(error) && error.status !== undefined)
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, error.status);
  // The kind only: vendor messages are the vendor's text, and spans leave the gateway unscrubbed.
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

function noteFinishReason(state: RequestSpans, reason: string | null | undefined): void {
  if (reason != null) state.finishReasons.push(reason);
}

function observerOf(state: RequestSpans): RouterObserver {
  return {
    response: (response) => {
      state.responseModel = response.model ?? undefined;
      state.responseId = response.id ?? undefined;
      for (const choice of response.choices) noteFinishReason(state, choice.finish_reason);
    },
    embedding: (response) => {
      state.responseModel = response.model ?? undefined;
    },
    chunk: (chunk) => {
      if (!state.sawChunk) {
        state.sawChunk = true;
        state.responseModel = chunk.model ?? undefined;
        state.responseId = chunk.id ?? undefined;
        state.span.addEvent('gw.first_chunk');
      }
      for (const choice of chunk.choices) noteFinishReason(state, choice.finish_reason);
    },
  };
}

/** Attributes of a settled request that both its span and its answering attempt's carry. */
function answerAttributes(state: RequestSpans, outcome: RequestOutcome): Attributes {
  const attributes: Attributes = {};
  if (state.responseModel !== undefined) attributes[GEN_AI_RESPONSE_MODEL] = state.responseModel;
  if (state.responseId !== undefined) attributes[GEN_AI_RESPONSE_ID] = state.responseId;
  if (state.finishReasons.length > 0) attributes[GEN_AI_RESPONSE_FINISH_REASONS] = state.finishReasons;
  const { usage } = outcome;
  if (usage !== undefined) {
    attributes[GEN_AI_USAGE_INPUT_TOKENS] = usage.prompt_tokens;
    attributes[GEN_AI_USAGE_OUTPUT_TOKENS] = usage.completion_tokens;
    const cached = usage.prompt_tokens_details?.cached_tokens;
    if (cached != null && cached > 0) attributes[GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = cached;
    if (outcome.estimated) attributes['gw.usage.estimated'] = true;
  }
  if (outcome.ttftMs !== undefined) attributes[GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = outcome.ttftMs / 1000;
  return attributes;
}

function outcomeAttributes(outcome: RequestOutcome): Attributes {
  const attributes: Attributes = {
    'gw.outcome': outcome.status,
    'gw.attempts': outcome.attempts,
    'gw.fallback': outcome.fallback,
  };
  if (outcome.kind !== undefined) {
    attributes[GEN_AI_PROVIDER_NAME] = PROVIDER_NAME[outcome.kind];
    attributes[GEN_AI_SYSTEM] = PROVIDER_NAME[outcome.kind];
  }
  if (outcome.providerId !== '') attributes['gw.provider'] = outcome.providerId;
  if (outcome.upstreamModel !== '') attributes['gw.upstream_model'] = outcome.upstreamModel;
  if (outcome.keyId !== undefined) attributes['gw.key_id'] = outcome.keyId;
  if (outcome.cost !== undefined) {
    attributes['gw.cost'] = moneyToNumber(outcome.cost.total);
    attributes['gw.cost.currency'] = outcome.cost.currency;
  } else if (outcome.unpriced) {
    attributes['gw.cost.unpriced'] = true;
  }
  return attributes;
}

/**
 * The gateway's traces on the OpenTelemetry SDK (see {@link GatewayTracing}). Loaded by `startTracing` only when the
 * environment asks for traces.
 *
 * Spans: `chat gpt-4o-mini` (server, one per request: the client's model, `gw.request_id`, `gw.key_id`, usage, cost,
 * outcome), its children `chat <upstream model>` (client, one per upstream attempt), `gw.retry` and `gw.fallback`
 * events on the request's span. A request that never reached routing (401, 404, 429…) is a span named after its
 * route. Spans end when the request is both answered and settled: a stream's at its last chunk.
 *
 * @example
 * const tracing = await createOtelTracing(logger, process.env);
 */
export async function createOtelTracing(
  logger: Logger,
  env: Readonly<Record<string, string | undefined>>,
): Promise<GatewayTracing> {
  const provider = await createTracerProvider(env, logger);
  const tracer = provider.getTracer('gw-gateway');
  const propagator = new W3CTraceContextPropagator();
  // The request a router call or event belongs to: the attempt wrapper and the router's events are shared by all.
  const current = new AsyncLocalStorage<RequestSpans>();
  // Settles come from the relay, outside the request's async context (a stream ends after its handler returned).
  const open = new Map<string, RequestSpans>();

  const finish = (requestId: string, state: RequestSpans): void => {
    if (!state.answered || (state.routed && !state.settled)) return;
    open.delete(requestId);
    state.span.end();
  };

  const middleware: MiddlewareHandler<GatewayEnv> = async (c, next) => {
    const parent = propagator.extract(ROOT_CONTEXT, c.req.raw.headers, HEADERS);
    // The route this request matched; a wildcard is a middleware's, for a path no route serves.
    const route = routePath(c, -1);
    const known = !route.endsWith('*');
    const attributes: Attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: c.req.method,
      [ATTR_URL_PATH]: c.req.path,
      'gw.request_id': c.get('requestId'),
    };
    if (known) attributes[ATTR_HTTP_ROUTE] = route;
    const clientRequestId = c.get('clientRequestId');
    if (clientRequestId !== undefined) attributes['gw.client_request_id'] = clientRequestId;
    const span = tracer.startSpan(
      known ? `${c.req.method} ${route}` : c.req.method,
      { kind: SpanKind.SERVER, attributes },
      parent,
    );
    const state: RequestSpans = {
      span,
      context: trace.setSpan(parent, span),
      operation: '',
      routed: false,
      attempts: 0,
      lastFailure: undefined,
      answering: undefined,
      responseModel: undefined,
      responseId: undefined,
      finishReasons: [],
      sawChunk: false,
      answered: false,
      settled: false,
    };
    const requestId = c.get('requestId');
    open.set(requestId, state);
    try {
      await current.run(state, next);
    } finally {
      const status = c.res.status;
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      if (!state.routed) {
        const keyId = c.get('apiKey')?.id;
        if (keyId !== undefined) span.setAttribute('gw.key_id', keyId);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      }
      state.answered = true;
      finish(requestId, state);
    }
  };

  const attemptOn = async <T>(
    state: RequestSpans,
    deployment: RouterDeployment,
    call: () => Promise<T>,
  ): Promise<T> => {
    state.attempts += 1;
    const name = PROVIDER_NAME[deployment.provider.kind];
    const span = tracer.startSpan(
      `${state.operation} ${deployment.model}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [GEN_AI_OPERATION_NAME]: state.operation,
          [GEN_AI_PROVIDER_NAME]: name,
          [GEN_AI_SYSTEM]: name,
          [GEN_AI_REQUEST_MODEL]: deployment.model,
          'gw.deployment': deployment.id,
          'gw.provider': deployment.providerId,
          'gw.attempt': state.attempts,
        },
      },
      state.context,
    );
    try {
      const value = await call();
      // A second success cannot happen (the router stops at the first); should it, the earlier one still ends.
      state.answering?.end();
      state.answering = span;
      return value;
    } catch (error) {
      const type = errorType(error);
      // A call torn down because the client left failed nobody.
      if (type === 'cancelled') span.setAttribute('gw.outcome', 'cancelled');
      else fail(span, error);
      span.end();
      state.lastFailure = type;
      throw error;
    }
  };

  const wrapAttempt = (attempt: AttemptWrapper | undefined): AttemptWrapper => {
    const inner: AttemptWrapper = attempt ?? ((_deployment, call, signal) => call(signal));
    return (deployment, call, signal) => {
      const state = current.getStore();
      if (state === undefined) return inner(deployment, call, signal);
      let calls = 0;
      return inner(
        deployment,
        (callSignal) => {
          calls += 1;
          if (calls > 1) {
            state.span.addEvent('gw.retry', {
              'gw.deployment': deployment.id,
              'gw.attempt': state.attempts + 1,
              ...(state.lastFailure === undefined ? {} : { [ATTR_ERROR_TYPE]: state.lastFailure }),
            });
          }
          return attemptOn(state, deployment, () => call(callSignal));
        },
        signal,
      );
    };
  };

  return {
    middleware,
    wrapAttempt,
    routed: (routed, request: TracedRequest) => {
      const state = current.getStore();
      if (state === undefined) return routed;
      state.routed = true;
      state.operation = OPERATION[request.endpoint];
      state.span.updateName(`${state.operation} ${request.model}`);
      state.span.setAttributes({
        [GEN_AI_OPERATION_NAME]: state.operation,
        [GEN_AI_REQUEST_MODEL]: request.model,
        [GEN_AI_REQUEST_STREAM]: request.stream,
      });
      if (request.maxOutputTokens != null) state.span.setAttribute(GEN_AI_REQUEST_MAX_TOKENS, request.maxOutputTokens);
      if (request.temperature != null) state.span.setAttribute(GEN_AI_REQUEST_TEMPERATURE, request.temperature);
      return { ...routed, router: observeRouter(routed.router, observerOf(state)) };
    },
    onRouterEvent: (event) => {
      if (event.type !== 'fallback') return;
      current.getStore()?.span.addEvent('gw.fallback', {
        'gw.fallback.from': event.from,
        'gw.fallback.to': event.to,
        'gw.fallback.reason': event.reason,
      });
    },
    settled: (outcome) => {
      const state = open.get(outcome.requestId);
      if (state === undefined) return;
      const answer = answerAttributes(state, outcome);
      state.span.setAttributes(answer);
      state.span.setAttributes(outcomeAttributes(outcome));
      if (outcome.status === 'failed') fail(state.span, outcome.error);
      const { answering } = state;
      if (answering !== undefined) {
        answering.setAttributes(answer);
        // A stream that failed after its first chunk failed on the attempt that was answering.
        if (outcome.status === 'failed') fail(answering, outcome.error);
        answering.end();
        state.answering = undefined;
      }
      state.settled = true;
      finish(outcome.requestId, state);
    },
    shutdown: async () => {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timed out'>((resolve) => {
        timer = setTimeout(() => resolve('timed out'), SHUTDOWN_WAIT_MS);
      });
      try {
        const result = await Promise.race([provider.shutdown(), timedOut]);
        if (result === 'timed out')
          logger.warn('traces not exported at shutdown: the collector did not answer in time');
      } catch (error) {
        logger.warn('traces not exported at shutdown', { error });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
