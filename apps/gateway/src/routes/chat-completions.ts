import { chatCompletionRequestSchema } from '@gw/providers';
import type { Handler } from 'hono';
import { errorEvent } from '../error-handler.ts';
import type { Logger } from '../logger.ts';
import { priorityOf, routerCallOptions } from '../routing/call-options.ts';
import type { GatewayRouting } from '../routing/gateway-routing.ts';
import { settleOnce, type SettleHook } from '../settle.ts';
import { openAiChunkEncoder, streamChat } from './chat-stream.ts';
import { parseJsonBody, parseRequest } from './request-body.ts';

/** What the chat completions route needs; all of it built once at start. */
export interface ChatCompletionsOptions {
  routing: GatewayRouting;
  logger: Logger;
  /** A stream that sends nothing for this long is ended with an error event. */
  streamIdleTimeoutMs: number;
  settle?: SettleHook;
}

/**
 * `POST /v1/chat/completions`: validate, route the model (alias or `provider-id/model`: strategy,
 * retries, breaker, queue, fallbacks), call it with a signal that aborts when the
 * client disconnects, and answer JSON or SSE. For streams the first chunk is pulled before any
 * header is sent, so an upstream refusal is still a normal JSON error with the right status.
 *
 * @example
 * app.post('/v1/chat/completions', chatCompletions({ routing, logger, streamIdleTimeoutMs: 120_000 }));
 */
export function chatCompletions(options: ChatCompletionsOptions): Handler<{ Variables: { requestId: string } }> {
  const { routing, logger, streamIdleTimeoutMs, settle: hook } = options;

  return async function chatCompletionsHandler(c) {
    const priority = priorityOf(c);
    const request = parseRequest(chatCompletionRequestSchema, parseJsonBody(await c.req.text()));
    const requestedModel = request.model;
    const { router, model } = routing.route(requestedModel);
    request.model = model;
    const signal = c.req.raw.signal;
    const stream = request.stream === true;
    const { options: callOptions, servedBy } = routerCallOptions(priority);
    const settle = settleOnce(hook, logger, {
      requestId: c.get('requestId'),
      model: requestedModel,
      // Read when settling: the router decides (and may change, on failure) which deployment serves.
      get providerId() {
        return servedBy.providerId;
      },
      get upstreamModel() {
        return servedBy.upstreamModel;
      },
      stream,
    });

    if (!stream) {
      let response;
      try {
        response = await router.chat(request, { ...callOptions, signal });
      } catch (error) {
        settle(undefined, signal.aborted ? 'cancelled' : 'failed', error);
        throw error;
      }
      settle(response.usage ?? undefined, 'completed');
      return c.json(response);
    }

    // Read before the call: the provider adds include_usage upstream for its own billing.
    const encoder = openAiChunkEncoder(request.stream_options?.include_usage === true);
    const provider = { chatStream: router.chatStream.bind(router) };
    return streamChat(c, { provider, callOptions, request, settle, logger, streamIdleTimeoutMs, encoder, errorEvent });
  };
}

