import { estimateChatTokens } from '@gw/cost';
import type { ChatCompletionRequest, EmbeddingRequest, RouterOptions } from '@gw/providers';
import type { ConfigIssue } from '../config/config-error.ts';
import type { GatewayConfig } from '../config/schema.ts';
import type { ModelResolver } from '../routing/resolve-model.ts';
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

/**
 * The aliases that route by cost although none of their targets has a price (catalog, imported prices or
 * `pricing.models`): such a strategy could only fall back to round-robin, so the configuration is refused, naming the
 * alias and its unpriced targets. An alias with some priced targets is accepted: its unpriced ones are the last
 * resort, and the start-up report warns about them.
 *
 * @example
 * const issues = unpricedCostRoutes(config, resolver, pricing);
 * if (issues.length > 0) throw new ConfigError(issues);
 */
export function unpricedCostRoutes(config: GatewayConfig, resolver: ModelResolver, pricing: Pricing): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  config.models.forEach((model, index) => {
    const route = resolver.routes.get(model.name);
    if (model.strategy !== 'cost' || route === undefined || route.targets.length === 0) return;
    const unpriced = route.targets
      .filter((target) => {
        const deployment = { providerId: target.providerId, kind: target.provider.kind, model: target.model };
        return pricing.priceOf(deployment) === undefined;
      })
      .map((target) => `${target.providerId}/${target.model}`);
    if (unpriced.length < route.targets.length) return;
    issues.push({
      path: `models[${index}].strategy`,
      message: `model "${model.name}" routes by cost, but none of its targets has a price (${unpriced.join(', ')}): add them to pricing.models (or use baseModel), or choose another strategy`,
    });
  });
  return issues;
}
