import { estimateChatTokens } from '@gw/cost';
import {
  fromResponsesRequest,
  responsesConversation,
  responsesRequestSchema,
  responsesResponseId,
  responsesStreamEncoder,
  toResponsesResponse,
  type ResponsesRequest,
  type ResponsesResponse,
} from '@gw/providers/formats';
import type { ChatMessage } from '@gw/providers';
import type { Context, Handler } from 'hono';
import { setCostHeaders, withCost } from '../../cost/usage-cost.ts';
import { describeError } from '../../error-handler.ts';
import type { GatewayEnv } from '../../gateway-env.ts';
import { GatewayError } from '../../gateway-error.ts';
import type { Logger } from '../../observability/logger.ts';
import { answerText } from '../../relay/answer-text.ts';
import { streamChat } from '../../relay/stream-chat.ts';
import { writeJson } from '../../relay/write-response.ts';
import { parseJsonBody, parseRequest } from './request-body.ts';
import type { ResponseStore, StoredResponse } from './response-store.ts';
import { beginRoutedCall, callWithinBudget, type RouteOptions } from './routed-call.ts';

/** What `POST /v1/responses` needs besides what every upstream route does. */
export interface ResponsesRouteOptions extends RouteOptions {
  /** Where answers are kept for `previous_response_id` and `GET /v1/responses/{id}`. */
  store: ResponseStore;
  /** Clock in ms, for `created_at`. */
  now: () => number;
}

/** Keeps an answer the client asked to store (the default), with the conversation it ends; never fails the request. */
function keeper(
  store: ResponseStore,
  logger: Logger,
  requestId: string,
  request: ResponsesRequest,
  history: readonly ChatMessage[] | undefined,
  keyId: string | undefined,
): (response: ResponsesResponse) => Promise<void> {
  return async (response) => {
    if (request.store === false) return;
    try {
      await store.put({ response, messages: responsesConversation(request, response, { history }), keyId });
    } catch (error) {
      // The answer is paid for and on its way: a store that failed costs only its continuation, and says so.
      logger.warn('storing a response failed', { requestId, responseId: response.id, error });
    }
  };
}

/** A stored Response the caller may read: a virtual key its own only, the master key (and open mode) any. */
async function readOwn(c: Context<GatewayEnv>, store: ResponseStore, id: string): Promise<StoredResponse | undefined> {
  const record = await store.get(id, c.req.raw.signal);
  const keyId = c.get('apiKey')?.id;
  if (record === undefined || keyId === undefined || record.keyId === keyId) return record;
  return undefined;
}

/**
 * `POST /v1/responses`: OpenAI's Responses API in front of any target. Validates the request, loads the conversation
 * of `previous_response_id` from the store (404 `previous_response_not_found` when it is not there), converts to the
 * canonical request (`@gw/providers/formats`), routes `model` like chat completions do (alias or
 * `provider-id/model`), and answers a Response object or OpenAI's Responses event stream, with the cost in
 * `usage.cost` (and `x-gw-cost` on JSON answers). A completed answer is stored unless `store: false`. Streams go
 * through the same relay as chat completions; errors answer in the OpenAI envelope, and a stream that fails after it
 * began ends with `error` and `response.failed` events.
 *
 * @example
 * app.post('/v1/responses', responses({ routing, logger, pricing, maxJsonDepth: 64, store, now: Date.now }));
 */
export function responses(options: ResponsesRouteOptions): Handler<GatewayEnv> {
  const { logger, pricing, store } = options;

  return async function responsesHandler(c) {
    const request = parseRequest(responsesRequestSchema, parseJsonBody(await c.req.text(), options.maxJsonDepth));
    const previousId = request.previous_response_id ?? undefined;
    const previous = previousId === undefined ? undefined : await readOwn(c, store, previousId);
    if (previousId !== undefined && previous === undefined) {
      throw new GatewayError(`Previous response with id '${previousId}' not found.`, {
        status: 404,
        type: 'invalid_request_error',
        code: 'previous_response_not_found',
        param: 'previous_response_id',
      });
    }
    const history = previous?.messages;
    const canonical = fromResponsesRequest(request, { history });
    const stream = request.stream === true;
    // The settle hook's endpoints are chat, messages and embeddings: a Responses call is a chat call upstream.
    const call = await beginRoutedCall(c, options, {
      maxOutputTokens: request.max_output_tokens,
      temperature: request.temperature,
      endpoint: 'responses',
      model: request.model,
      stream,
      estimatePromptTokens: (vendor) => estimateChatTokens(canonical, { vendor }),
    });
    const { router, model, streamIdleMs, totalMs } = call.routed;
    canonical.model = model;
    const shell = {
      id: responsesResponseId(),
      model: request.model,
      createdAt: Math.floor(options.now() / 1000),
      request,
    };
    const keep = keeper(store, logger, c.get('requestId'), request, history, c.get('apiKey')?.id);

    if (!stream) {
      const response = await callWithinBudget(c, call, (signal) =>
        router.chat(canonical, { ...call.callOptions, signal }),
      );
      const usage = response.usage ?? undefined;
      const outcome = call.settle({ status: 'completed', usage, relayedText: answerText(response) });
      setCostHeaders(c, outcome, pricing);
      const cost = usage === undefined ? undefined : outcome?.cost;
      const answered =
        cost === undefined || usage === undefined ? response : { ...response, usage: withCost(usage, cost, pricing) };
      const body = toResponsesResponse(answered, shell);
      // Stored before the answer leaves: the client may continue the conversation as soon as it has read it.
      await keep(body);
      return writeJson(c, JSON.stringify(body));
    }

    const encoder = responsesStreamEncoder({ ...shell, onEnd: (response) => void keep(response) });
    return streamChat(c, {
      provider: router,
      call,
      request: canonical,
      logger,
      pricing,
      streamIdleTimeoutMs: streamIdleMs,
      totalTimeoutMs: totalMs,
      encoder,
      errorEvent: (error) => encoder.fail(describeError(error).body.error),
      streams: options.streams,
    });
  };
}

/**
 * `GET /v1/responses/{id}`: a stored Response as it was answered (404 `response_not_found` otherwise: never stored,
 * `store: false`, past `responses.retentionDays`, evicted from memory, or another virtual key's).
 *
 * @example
 * app.get('/v1/responses/:id', retrieveResponse({ store }));
 */
export function retrieveResponse(options: { store: ResponseStore }): Handler<GatewayEnv> {
  return async function retrieveResponseHandler(c) {
    const id = c.req.param('id') ?? '';
    const record = await readOwn(c, options.store, id);
    if (record === undefined) {
      throw new GatewayError(`Response with id '${id}' not found.`, {
        status: 404,
        type: 'invalid_request_error',
        code: 'response_not_found',
      });
    }
    return writeJson(c, JSON.stringify(record.response));
  };
}
