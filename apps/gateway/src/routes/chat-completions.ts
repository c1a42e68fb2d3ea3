import { chatCompletionRequestSchema, rawResponseJson } from '@gw/providers';
import type { Handler } from 'hono';
import { errorEvent } from '../error-handler.ts';
import { beginRoutedCall, callWithinBudget, type RouteOptions } from './routed-call.ts';
import { sendJson } from './send-json.ts';
import { openAiChunkEncoder, streamChat } from './chat-stream.ts';
import { parseJsonBody, parseRequest } from './request-body.ts';

/**
 * `POST /v1/chat/completions`: validate, route the model (alias or `provider-id/model`: strategy,
 * retries, breaker, queue, fallbacks), call it with a signal that aborts when the
 * client disconnects, and answer JSON or SSE. For streams the first chunk is pulled before any
 * header is sent, so an upstream refusal is still a normal JSON error with the right status.
 *
 * @example
 * app.post('/v1/chat/completions', chatCompletions({ routing, logger }));
 */
export function chatCompletions(options: RouteOptions): Handler<{ Variables: { requestId: string } }> {
  const { routing, logger, settle: hook } = options;

  return async function chatCompletionsHandler(c) {
    const request = parseRequest(chatCompletionRequestSchema, parseJsonBody(await c.req.text()));
    const stream = request.stream === true;
    const call = beginRoutedCall(c, { routing, logger, hook, model: request.model, stream });
    const { router, model } = call.routed;
    request.model = model;

    if (!stream) {
      const response = await callWithinBudget(c, call, (signal) =>
        router.chat(request, { ...call.callOptions, signal }),
      );
      call.settle(response.usage ?? undefined, 'completed');
      // The upstream's own text when the answer is as it came: no second serialisation.
      return sendJson(c, response, rawResponseJson(response));
    }

    // Read before the call: the provider adds include_usage upstream for its own billing.
    const encoder = openAiChunkEncoder(request.stream_options?.include_usage === true);
    const { callOptions, settle, routed } = call;
    return streamChat(c, {
      provider: router,
      callOptions,
      request,
      settle,
      logger,
      streamIdleTimeoutMs: routed.streamIdleMs,
      totalTimeoutMs: routed.totalMs,
      encoder,
      errorEvent,
    });
  };
}
