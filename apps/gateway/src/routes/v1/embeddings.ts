import { embeddingRequestSchema } from '@gw/providers';
import type { Handler } from 'hono';
import type { GatewayEnv } from '../../gateway-env.ts';
import { writeJson } from '../../relay/write-response.ts';
import { parseJsonBody, parseRequest } from './request-body.ts';
import { beginRoutedCall, callWithinBudget, type RouteOptions } from './routed-call.ts';

/**
 * `POST /v1/embeddings`: validate (OpenAI shape), route the model (alias or `provider-id/model`), call the
 * provider's `embed` with a signal that aborts when the client disconnects, answer the OpenAI embeddings response,
 * and settle once with its usage (`completion_tokens: 0`).
 *
 * @example
 * app.post('/v1/embeddings', embeddings({ routing, logger }));
 */
export function embeddings(options: RouteOptions): Handler<GatewayEnv> {
  const { routing, logger, settle: hook, maxJsonDepth } = options;

  return async function embeddingsHandler(c) {
    const request = parseRequest(embeddingRequestSchema, parseJsonBody(await c.req.text(), maxJsonDepth));
    const call = beginRoutedCall(c, { routing, logger, hook, model: request.model, stream: false });
    const { router, model } = call.routed;
    request.model = model;
    const response = await callWithinBudget(c, call, (signal) =>
      router.embed(request, { ...call.callOptions, signal }),
    );
    const usage = response.usage;
    // The settle hook takes chat usage; an embedding has input tokens only.
    const settled =
      usage == null
        ? undefined
        : { prompt_tokens: usage.prompt_tokens, completion_tokens: 0, total_tokens: usage.total_tokens };
    call.settle(settled, 'completed');
    return writeJson(c, JSON.stringify(response));
  };
}
