import type { Handler } from 'hono';
import { anthropicErrorEvent } from '../messages/anthropic-error.ts';
import { anthropicStreamEncoder } from '../messages/anthropic-stream-events.ts';
import { fromAnthropicRequest } from '../messages/from-anthropic-request.ts';
import { messagesRequestSchema } from '../messages/messages-request-schema.ts';
import { anthropicMessageId, toAnthropicResponse } from '../messages/to-anthropic-response.ts';
import { beginRoutedCall, callWithinBudget, type RouteOptions } from './routed-call.ts';
import { streamChat } from './chat-stream.ts';
import { parseJsonBody, parseRequest } from './request-body.ts';

/**
 * `POST /v1/messages`: the Anthropic Messages API in front of any target. Validates the Anthropic
 * request, converts it to the canonical request, resolves `model` like chat completions do
 * (alias or `provider-id/model`), and answers an Anthropic `Message` or Anthropic's SSE event
 * sequence. Streams go through the same relay as chat completions (first chunk before headers,
 * idle timeout, disconnect aborts the upstream, settle once); errors answer in Anthropic's envelope
 * (see error-handler.ts).
 *
 * @example
 * app.post('/v1/messages', messages({ routing, logger }));
 */
export function messages(options: RouteOptions): Handler<{ Variables: { requestId: string } }> {
  const { routing, logger, settle: hook } = options;

  return async function messagesHandler(c) {
    const anthropicRequest = parseRequest(messagesRequestSchema, parseJsonBody(await c.req.text()));
    const requestedModel = anthropicRequest.model;
    const stream = anthropicRequest.stream === true;
    const call = beginRoutedCall(c, { routing, logger, hook, model: requestedModel, stream });
    const { router, model, kinds } = call.routed;
    // Anthropic-only fields (thinking, top_k, cache_control) are kept only when every possible target is Anthropic.
    const nativeAnthropic = kinds.size === 1 && kinds.has('anthropic');
    const request = fromAnthropicRequest(anthropicRequest, { nativeAnthropic });
    request.model = model;
    const id = anthropicMessageId();

    if (!stream) {
      const response = await callWithinBudget(c, call, (signal) =>
        router.chat(request, { ...call.callOptions, signal }),
      );
      call.settle(response.usage ?? undefined, 'completed');
      return c.json(toAnthropicResponse(response, { id, model: requestedModel }));
    }

    const encoder = anthropicStreamEncoder({ id, model: requestedModel });
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
      errorEvent: anthropicErrorEvent,
    });
  };
}
