import { setAnswerHeader } from '../../relay/answer-headers.ts';
import { embeddingRequestSchema, embeddingResponseSchema, type EmbeddingResponse } from '@gw/providers';
import type { Handler } from 'hono';
import { embeddingInputTokens } from '../../cost/embedding-input-tokens.ts';
import { setCostHeaders } from '../../cost/usage-cost.ts';
import type { GatewayEnv } from '../../gateway-env.ts';
import { writeJson } from '../../relay/write-response.ts';
import { parseJsonBody, parseRequest } from './request-body.ts';
import { beginRoutedCall, callWithinBudget, type RouteOptions } from './routed-call.ts';

/**
 * `POST /v1/embeddings`: validate (OpenAI shape), route the model (alias or `provider-id/model`), call the
 * provider's `embed` with a signal that aborts when the client disconnects, answer the OpenAI embeddings response
 * with its cost (`usage.cost`, `x-gw-cost`), and settle once with its usage (input tokens only).
 *
 * @example
 * app.post('/v1/embeddings', embeddings({ routing, logger, pricing, maxJsonDepth: 64 }));
 */
export function embeddings(options: RouteOptions): Handler<GatewayEnv> {
  const { pricing } = options;

  return async function embeddingsHandler(c) {
    const request = parseRequest(embeddingRequestSchema, parseJsonBody(await c.req.text(), options.maxJsonDepth));
    const call = await beginRoutedCall(c, options, {
      endpoint: 'embeddings',
      model: request.model,
      stream: false,
      body: request,
      estimatePromptTokens: (vendor) => embeddingInputTokens(request.input, vendor),
      // Embeddings are not sampled: the same input gives the same vectors.
      cache: { endpoint: 'embeddings', request, sampled: false, parse: parseCachedEmbeddings },
    });
    const hit = call.cache?.hit;
    if (hit !== undefined) {
      call.settle({ status: 'completed' });
      setAnswerHeader(c, 'x-gw-cost', '0');
      const cached = hit.response;
      return writeJson(
        c,
        JSON.stringify(cached.usage == null ? cached : { ...cached, usage: { ...cached.usage, cost: 0 } }),
      );
    }
    const { router, model } = call.routed;
    request.model = model;
    const response = await callWithinBudget(c, call, (signal) =>
      router.embed(request, { ...call.callOptions, signal }),
    );
    const reported = response.usage;
    // The settle takes chat usage; an embedding has input tokens only.
    const usage =
      reported == null
        ? undefined
        : { prompt_tokens: reported.prompt_tokens, completion_tokens: 0, total_tokens: reported.total_tokens };
    const outcome = call.settle({ status: 'completed', usage });
    if (call.cache?.ticket !== undefined && outcome !== undefined) call.cache.ticket.save(response, outcome);
    setCostHeaders(c, outcome, pricing);
    const cost = outcome?.cost;
    if (cost === undefined || reported == null) return writeJson(c, JSON.stringify(response));
    return writeJson(c, JSON.stringify({ ...response, usage: { ...reported, cost: pricing.toNumber(cost) } }));
  };
}

function parseCachedEmbeddings(value: unknown): EmbeddingResponse | undefined {
  const parsed = embeddingResponseSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
