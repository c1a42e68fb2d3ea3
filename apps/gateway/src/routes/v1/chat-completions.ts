import { setAnswerHeader } from '../../relay/answer-headers.ts';
import { estimateChatTokens } from '@gw/cost';
import {
  chatCompletionRequestSchema,
  chatCompletionResponseSchema,
  wireJson,
  type ChatCompletionResponse,
} from '@gw/providers';
import { openAIChunkEncoder } from '@gw/providers/formats';
import type { Context, Handler } from 'hono';
import { isSampled } from '../../cache/cache-key.ts';
import { cacheStream, streamCached } from '../../cache/serve-cached.ts';
import { setCostHeaders, withCost } from '../../cost/usage-cost.ts';
import { errorEvent } from '../../error-handler.ts';
import type { GatewayEnv } from '../../gateway-env.ts';
import { answerText } from '../../relay/answer-text.ts';
import { streamChat } from '../../relay/stream-chat.ts';
import { writeJson } from '../../relay/write-response.ts';
import { parseJsonBody, parseRequest } from './request-body.ts';
import { beginRoutedCall, callWithinBudget, type RouteOptions } from './routed-call.ts';

/**
 * `POST /v1/chat/completions`: validate, route the model (alias or `provider-id/model`: strategy, retries, breaker,
 * queue, fallbacks), call it with a signal that aborts when the client disconnects, and answer JSON or SSE with
 * what it cost (`usage.cost`, `x-gw-cost`). For streams the first chunk is pulled before any header is sent, so an
 * upstream refusal is still a normal JSON error with the right status.
 *
 * @example
 * app.post('/v1/chat/completions', chatCompletions({ routing, logger, pricing, maxJsonDepth: 64 }));
 */
export function chatCompletions(options: RouteOptions): Handler<GatewayEnv> {
  const { logger, pricing } = options;

  return async function chatCompletionsHandler(c) {
    const request = parseRequest(chatCompletionRequestSchema, parseJsonBody(await c.req.text(), options.maxJsonDepth));
    const stream = request.stream === true;
    const call = await beginRoutedCall(c, options, {
      maxOutputTokens: request.max_completion_tokens ?? request.max_tokens,
      temperature: request.temperature,
      endpoint: 'chat',
      model: request.model,
      stream,
      body: request,
      estimatePromptTokens: (vendor) => estimateChatTokens(request, { vendor }),
      cache: { endpoint: 'chat', request, sampled: isSampled(request), parse: parseCachedChat },
    });
    // Read before the call: the provider adds include_usage upstream for its own billing.
    const encoder = openAIChunkEncoder({ includeUsage: request.stream_options?.include_usage === true });
    const hit = call.cache?.hit;
    if (hit !== undefined) {
      if (stream) return streamCached(c, hit.response, { settle: call.settle, encoder, errorEvent });
      call.settle({ status: 'completed', relayedText: answerText(hit.response) });
      return writeCachedJson(c, hit.response);
    }
    const ticket = call.cache?.ticket;
    const { router, model, streamIdleMs, totalMs } = call.routed;
    request.model = model;

    if (!stream) {
      const response = await callWithinBudget(c, call, (signal) =>
        router.chat(request, { ...call.callOptions, signal }),
      );
      const usage = response.usage ?? undefined;
      const outcome = call.settle({ status: 'completed', usage, relayedText: answerText(response) });
      if (ticket !== undefined && outcome !== undefined) ticket.save(response, outcome);
      setCostHeaders(c, outcome, pricing);
      const cost = usage === undefined ? undefined : outcome?.cost;
      // The upstream's own text when the answer is as it came: no second serialisation.
      if (cost === undefined || usage === undefined)
        return writeJson(c, wireJson(response) ?? JSON.stringify(response));
      return writeJson(c, JSON.stringify({ ...response, usage: withCost(usage, cost, pricing) }));
    }

    return streamChat(c, {
      provider: router,
      call,
      request,
      logger,
      pricing,
      streamIdleTimeoutMs: streamIdleMs,
      totalTimeoutMs: totalMs,
      encoder,
      errorEvent,
      streams: options.streams,
      capture: ticket === undefined ? undefined : cacheStream(ticket),
    });
  };
}

/**
 * A cached chat completion read back (`undefined` when it does not parse: a miss).
 *
 * @example
 * cache: { endpoint: 'chat', request, sampled: isSampled(request), parse: parseCachedChat }
 */
export function parseCachedChat(value: unknown): ChatCompletionResponse | undefined {
  const parsed = chatCompletionResponseSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** A cached answer as JSON: billed nothing, so `usage.cost` and `x-gw-cost` are 0. */
function writeCachedJson(c: Context<GatewayEnv>, response: ChatCompletionResponse): Response {
  setAnswerHeader(c, 'x-gw-cost', '0');
  const usage = response.usage ?? undefined;
  return writeJson(c, JSON.stringify(usage === undefined ? response : { ...response, usage: { ...usage, cost: 0 } }));
}
