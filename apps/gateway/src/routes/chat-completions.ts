import { chatCompletionRequestSchema } from '@gw/providers';
import type { Handler } from 'hono';
import { errorEvent } from '../error-handler.ts';
import type { Logger } from '../logger.ts';
import { priorityOf, routerCallOptions } from '../routing/call-options.ts';
import { startDeadline } from '../routing/deadline.ts';
import type { GatewayRouting } from '../routing/gateway-routing.ts';
import { settleOnce, type SettleHook } from '../settle.ts';
import { openAiChunkEncoder, streamChat } from './chat-stream.ts';
import { parseJsonBody, parseRequest } from './request-body.ts';

/** What the chat completions route needs; all of it built once at start. */
export interface ChatCompletionsOptions {
  routing: GatewayRouting;
  logger: Logger;
  settle?: SettleHook;
}

/**
 * `POST /v1/chat/completions`: validate, route the model (alias or `provider-id/model`: strategy,
 * retries, breaker, queue, fallbacks), call it with a signal that aborts when the
 * client disconnects, and answer JSON or SSE. For streams the first chunk is pulled before any
 * header is sent, so an upstream refusal is still a normal JSON error with the right status.
 *
 * @example
 * app.post('/v1/chat/completions', chatCompletions({ routing, logger }));
 */
export function chatCompletions(options: ChatCompletionsOptions): Handler<{ Variables: { requestId: string } }> {
  const { routing, logger, settle: hook } = options;

  return async function chatCompletionsHandler(c) {
    const priority = priorityOf(c);
    const request = parseRequest(chatCompletionRequestSchema, parseJsonBody(await c.req.text()));
    const requestedModel = request.model;
    const routed = routing.route(requestedModel);
    const { router, model } = routed;
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
      const deadline = startDeadline(signal, routed.totalMs);
      try {
        response = await router.chat(request, { ...callOptions, signal: deadline.signal });
      } catch (caught) {
        const error = deadline.expired() ? deadline.error : caught;
        settle(undefined, signal.aborted ? 'cancelled' : 'failed', error);
        throw error;
      } finally {
        deadline.clear();
      }
      settle(response.usage ?? undefined, 'completed');
      return c.json(response);
    }

    // Read before the call: the provider adds include_usage upstream for its own billing.
    const encoder = openAiChunkEncoder(request.stream_options?.include_usage === true);
    const provider = { chatStream: router.chatStream.bind(router) };
    return streamChat(c, { provider, callOptions, request, settle, logger, streamIdleTimeoutMs: routed.streamIdleMs, totalTimeoutMs: routed.totalMs, encoder, errorEvent });
  };
}

