import { embeddingRequestSchema } from '@gw/providers';
import type { Handler } from 'hono';
import { beginRoutedCall, callWithinBudget, type RouteOptions } from './routed-call.ts';
import { parseJsonBody, parseRequest } from './request-body.ts';

/**
 * `POST /v1/embeddings`: validate (OpenAI shape), resolve the model (alias or `provider-id/model`),
 * call the provider's `embed` with a signal that aborts when the client disconnects, answer the
 * OpenAI embeddings response, and settle once with its usage (`completion_tokens: 0`).
 *
 * @example
 * app.post('/v1/embeddings', embeddings({ routing, logger }));
 */
export function embeddings(options: RouteOptions): Handler<{ Variables: { requestId: string } }> {
  const { routing, logger, settle: hook } = options;

  return async function embeddingsHandler(c) {
    const request = parseRequest(embeddingRequestSchema, parseJsonBody(await c.req.text()));
    const call = beginRoutedCall(c, { routing, logger, hook, model: request.model, stream: false });
    const { router, model } = call.routed;
    request.model = model;
    const response = await callWithinBudget(c, call, (signal) =>
      router.embed(request, { ...call.callOptions, signal }),
    );
    const settle = call.settle;
    const usage = response.usage;
    // The settle hook takes chat usage; an embedding has input tokens only.
    settle(
      usage == null
        ? undefined
        : { prompt_tokens: usage.prompt_tokens, completion_tokens: 0, total_tokens: usage.total_tokens },
      'completed',
    );
    return c.json(response);
  };
}
