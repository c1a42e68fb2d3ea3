import { estimateChatTokens } from '@gw/cost';
import type { ChatCompletionRequest, EmbeddingRequest, RouterOptions } from '@gw/providers';
import { embeddingInputTokens } from './embedding-input-tokens.ts';
import type { Pricing } from './pricing.ts';

/**
 * The output a chat request is priced with for the `cost` strategy when it sets no `max_tokens`: a typical answer's
 * length. Only the order of the deployments matters, and the same count goes to each.
 */
export const COST_ROUTING_OUTPUT_TOKENS = 500;

// Both request shapes carry index signatures, so `in` alone does not tell them apart for the compiler.
function isChat(request: ChatCompletionRequest | EmbeddingRequest): request is ChatCompletionRequest {
  return 'messages' in request;
}

/**
 * The router's `price` option: what the request would cost on the deployment, in 10^-12 units of the reporting
 * currency, from the catalog (overrides and imported prices included): the prompt estimated without a tokenizer and
 * `max_tokens` of output (else {@link COST_ROUTING_OUTPUT_TOKENS}), so prompt-size tiers and the balance of input
 * and output prices count. `undefined` for an unpriced deployment: the router picks one only when no candidate has a
 * price.
 *
 * @example
 * const router = createRouter({ models, price: routePrice(pricing) });
 */
export function routePrice(pricing: Pricing): NonNullable<RouterOptions['price']> {
  // The router asks once or twice per candidate for the same request: its token counts are estimated once.
  const estimates = new WeakMap<object, { prompt: number; output: number }>();
  const estimate = (request: ChatCompletionRequest | EmbeddingRequest) => {
    const known = estimates.get(request);
    if (known !== undefined) return known;
    const counted = isChat(request)
      ? {
          prompt: estimateChatTokens(request),
          output: request.max_completion_tokens ?? request.max_tokens ?? COST_ROUTING_OUTPUT_TOKENS,
        }
      : { prompt: embeddingInputTokens(request.input, undefined), output: 0 };
    estimates.set(request, counted);
    return counted;
  };

  return (deployment, request) => {
    const priced = { providerId: deployment.providerId, kind: deployment.provider.kind, model: deployment.model };
    if (pricing.priceOf(priced) === undefined) return undefined;
    const { prompt, output } = estimate(request);
    const cost = pricing.costOf(
      { prompt_tokens: prompt, completion_tokens: output, total_tokens: prompt + output },
      priced,
    );
    return cost === undefined ? undefined : Number(cost.total.amount);
  };
}
