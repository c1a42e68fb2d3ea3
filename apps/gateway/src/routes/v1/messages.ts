import { setAnswerHeader } from '../../relay/answer-headers.ts';
import { estimateChatTokens } from '@gw/cost';
import {
  anthropicMessageId,
  anthropicMessagesRequestSchema,
  anthropicStreamEncoder,
  fromAnthropicRequest,
  toAnthropicResponse,
} from '@gw/providers/formats';
import type { Handler } from 'hono';
import { anthropicErrorEventOf } from '../../anthropic-error.ts';
import { isSampled } from '../../cache/cache-key.ts';
import { cacheStream, streamCached } from '../../cache/serve-cached.ts';
import { parseCachedChat } from './chat-completions.ts';
import { setCostHeaders, withCost } from '../../cost/usage-cost.ts';
import type { GatewayEnv } from '../../gateway-env.ts';
import { answerText } from '../../relay/answer-text.ts';
import { streamChat } from '../../relay/stream-chat.ts';
import { writeJson } from '../../relay/write-response.ts';
import { parseJsonBody, parseRequest } from './request-body.ts';
import { beginRoutedCall, callWithinBudget, type RouteOptions } from './routed-call.ts';

/**
 * `POST /v1/messages`: the Anthropic Messages API in front of any target. Validates the Anthropic request, converts
 * it to the canonical request (`@gw/providers/formats`), routes `model` like chat completions do (alias or
 * `provider-id/model`), and answers an Anthropic `Message` or Anthropic's SSE event sequence, with the cost in
 * `usage.cost` (and `x-gw-cost` on JSON answers). Streams go through the same relay as chat completions; errors
 * answer in Anthropic's envelope (see anthropic-error.ts).
 *
 * @example
 * app.post('/v1/messages', messages({ routing, logger, pricing, maxJsonDepth: 64 }));
 */
export function messages(options: RouteOptions): Handler<GatewayEnv> {
  const { logger, pricing } = options;

  return async function messagesHandler(c) {
    const anthropicRequest = parseRequest(
      anthropicMessagesRequestSchema,
      parseJsonBody(await c.req.text(), options.maxJsonDepth),
    );
    const requestedModel = anthropicRequest.model;
    const stream = anthropicRequest.stream === true;
    // The canonical request depends on where the model is routed.
    const converted: { request?: ReturnType<typeof fromAnthropicRequest> } = {};
    const call = await beginRoutedCall(c, options, {
      endpoint: 'messages',
      model: requestedModel,
      stream,
      body: anthropicRequest,
      maxOutputTokens: anthropicRequest.max_tokens,
      temperature: anthropicRequest.temperature,
      // Before routing decided the conversion (limits and budgets estimate first), any conversion counts the same.
      estimatePromptTokens: (vendor) =>
        estimateChatTokens(converted.request ?? fromAnthropicRequest(anthropicRequest, { nativeAnthropic: false }), {
          vendor,
        }),
      cache: {
        endpoint: 'messages',
        request: anthropicRequest,
        sampled: isSampled(anthropicRequest),
        parse: parseCachedChat,
      },
    });
    const id = anthropicMessageId();
    const hit = call.cache?.hit;
    if (hit !== undefined) {
      const encoder = anthropicStreamEncoder({ id, model: requestedModel });
      if (stream)
        return streamCached(c, hit.response, { settle: call.settle, encoder, errorEvent: anthropicErrorEventOf });
      call.settle({ status: 'completed', relayedText: answerText(hit.response) });
      setAnswerHeader(c, 'x-gw-cost', '0');
      const usage = hit.response.usage ?? undefined;
      const answered = usage === undefined ? hit.response : { ...hit.response, usage: { ...usage, cost: 0 } };
      return writeJson(c, JSON.stringify(toAnthropicResponse(answered, { id, model: requestedModel })));
    }
    const ticket = call.cache?.ticket;
    const { router, model, kinds, streamIdleMs, totalMs } = call.routed;
    // Anthropic-only fields (thinking, top_k, cache_control) are kept only when every possible target is Anthropic.
    const nativeAnthropic = kinds.size === 1 && kinds.has('anthropic');
    const canonical = fromAnthropicRequest(anthropicRequest, { nativeAnthropic });
    canonical.model = model;
    converted.request = canonical;

    if (!stream) {
      const response = await callWithinBudget(c, call, (signal) =>
        router.chat(canonical, { ...call.callOptions, signal }),
      );
      const usage = response.usage ?? undefined;
      const outcome = call.settle({ status: 'completed', usage, relayedText: answerText(response) });
      if (ticket !== undefined && outcome !== undefined) ticket.save(response, outcome);
      setCostHeaders(c, outcome, pricing);
      const cost = usage === undefined ? undefined : outcome?.cost;
      const answered =
        cost === undefined || usage === undefined ? response : { ...response, usage: withCost(usage, cost, pricing) };
      return writeJson(c, JSON.stringify(toAnthropicResponse(answered, { id, model: requestedModel })));
    }

    return streamChat(c, {
      provider: router,
      call,
      request: canonical,
      logger,
      pricing,
      streamIdleTimeoutMs: streamIdleMs,
      totalTimeoutMs: totalMs,
      encoder: anthropicStreamEncoder({ id, model: requestedModel }),
      errorEvent: anthropicErrorEventOf,
      streams: options.streams,
      capture: ticket === undefined ? undefined : cacheStream(ticket),
    });
  };
}
