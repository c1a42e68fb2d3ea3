import {
  anthropicMessageId,
  anthropicMessagesRequestSchema,
  anthropicStreamEncoder,
  fromAnthropicRequest,
  toAnthropicResponse,
} from '@gw/providers/formats';
import type { Handler } from 'hono';
import { anthropicErrorEventOf } from '../../anthropic-error.ts';
import type { GatewayEnv } from '../../gateway-env.ts';
import { streamChat } from '../../relay/stream-chat.ts';
import { writeJson } from '../../relay/write-response.ts';
import { parseJsonBody, parseRequest } from './request-body.ts';
import { beginRoutedCall, callWithinBudget, type RouteOptions } from './routed-call.ts';

/**
 * `POST /v1/messages`: the Anthropic Messages API in front of any target. Validates the Anthropic request, converts
 * it to the canonical request (`@gw/providers/formats`), routes `model` like chat completions do (alias or
 * `provider-id/model`), and answers an Anthropic `Message` or Anthropic's SSE event sequence. Streams go through the
 * same relay as chat completions; errors answer in Anthropic's envelope (see anthropic-error.ts).
 *
 * @example
 * app.post('/v1/messages', messages({ routing, logger }));
 */
export function messages(options: RouteOptions): Handler<GatewayEnv> {
  const { routing, logger, settle: hook, maxJsonDepth, streams } = options;

  return async function messagesHandler(c) {
    const anthropicRequest = parseRequest(
      anthropicMessagesRequestSchema,
      parseJsonBody(await c.req.text(), maxJsonDepth),
    );
    const requestedModel = anthropicRequest.model;
    const stream = anthropicRequest.stream === true;
    const call = beginRoutedCall(c, { routing, logger, hook, model: requestedModel, stream });
    const { router, model, kinds, streamIdleMs, totalMs } = call.routed;
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
      return writeJson(c, JSON.stringify(toAnthropicResponse(response, { id, model: requestedModel })));
    }

    return streamChat(c, {
      provider: router,
      callOptions: call.callOptions,
      request,
      settle: call.settle,
      logger,
      streamIdleTimeoutMs: streamIdleMs,
      totalTimeoutMs: totalMs,
      streams,
      encoder: anthropicStreamEncoder({ id, model: requestedModel }),
      errorEvent: anthropicErrorEventOf,
    });
  };
}
