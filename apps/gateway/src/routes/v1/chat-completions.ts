import { chatCompletionRequestSchema, rawResponseJson } from '@gw/providers';
import { openAIChunkEncoder } from '@gw/providers/formats';
import type { Handler } from 'hono';
import { errorEvent } from '../../error-handler.ts';
import type { GatewayEnv } from '../../gateway-env.ts';
import { streamChat } from '../../relay/stream-chat.ts';
import { writeJson } from '../../relay/write-response.ts';
import { parseJsonBody, parseRequest } from './request-body.ts';
import { beginRoutedCall, callWithinBudget, type RouteOptions } from './routed-call.ts';

/**
 * `POST /v1/chat/completions`: validate, route the model (alias or `provider-id/model`: strategy, retries, breaker,
 * queue, fallbacks), call it with a signal that aborts when the client disconnects, and answer JSON or SSE. For
 * streams the first chunk is pulled before any header is sent, so an upstream refusal is still a normal JSON
 * error with the right status.
 *
 * @example
 * app.post('/v1/chat/completions', chatCompletions({ routing, logger }));
 */
export function chatCompletions(options: RouteOptions): Handler<GatewayEnv> {
  const { routing, logger, settle: hook, maxJsonDepth, streams } = options;

  return async function chatCompletionsHandler(c) {
    const request = parseRequest(chatCompletionRequestSchema, parseJsonBody(await c.req.text(), maxJsonDepth));
    const stream = request.stream === true;
    const call = beginRoutedCall(c, { routing, logger, hook, model: request.model, stream });
    const { router, model, streamIdleMs, totalMs } = call.routed;
    request.model = model;

    if (!stream) {
      const response = await callWithinBudget(c, call, (signal) =>
        router.chat(request, { ...call.callOptions, signal }),
      );
      call.settle(response.usage ?? undefined, 'completed');
      return writeJson(c, rawResponseJson(response) ?? JSON.stringify(response));
    }

    // Read before the call: the provider adds include_usage upstream for its own billing.
    const encoder = openAIChunkEncoder({ includeUsage: request.stream_options?.include_usage === true });
    return streamChat(c, {
      provider: router,
      callOptions: call.callOptions,
      request,
      settle: call.settle,
      logger,
      streamIdleTimeoutMs: streamIdleMs,
      totalTimeoutMs: totalMs,
      streams,
      encoder,
      errorEvent,
    });
  };
}
