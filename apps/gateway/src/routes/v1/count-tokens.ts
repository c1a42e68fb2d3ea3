import { countChatTokens, estimateChatTokens } from '@gw/cost';
import { anthropicMessagesRequestSchema, fromAnthropicRequest } from '@gw/providers/formats';
import type { Handler } from 'hono';
import type { GatewayEnv } from '../../gateway-env.ts';
import type { Logger } from '../../observability/logger.ts';
import type { GatewayRouting } from '../../routing/gateway-routing.ts';
import type { ProviderRegistry } from '../../routing/provider-registry.ts';
import { startDeadline } from '../../routing/deadline.ts';
import { writeJson } from '../../relay/write-response.ts';
import { parseJsonBody, parseRequest } from './request-body.ts';
import { assertModelAllowed } from './routed-call.ts';

/** What `POST /v1/messages/count_tokens` needs. */
export interface CountTokensOptions {
  routing: GatewayRouting;
  /** The providers, for the ones with a counting API of their own (Anthropic). */
  registry: ProviderRegistry;
  logger: Logger;
  /** Request bodies nesting deeper are refused (`server.maxJsonDepth`). */
  maxJsonDepth: number;
}

/** The header that says the count is an estimate (no public tokenizer for the target's vendor). */
export const TOKENS_ESTIMATED_HEADER = 'x-gw-tokens-estimated';

// Anthropic's count_tokens body is a Messages request without `max_tokens`; the schema requires one, and the count
// does not depend on it.
function withMaxTokens(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || 'max_tokens' in body) return body;
  return { ...body, max_tokens: 1 };
}

/**
 * `POST /v1/messages/count_tokens`: Anthropic's token counting (`{ input_tokens }`) for any target; nothing is billed
 * or recorded. The model is routed as `/v1/messages` routes it (alias or `provider-id/model`, the key's model list
 * applies), and the prompt (system, messages, tools) is counted for the first deployment of that route: exactly with
 * its encoding (js-tiktoken, through `@gw/cost`) for an `openai` provider; by the vendor's own counting API for an
 * `anthropic` one (free at Anthropic); estimated for that vendor's tokenizer otherwise, or when the vendor's count
 * fails, and then the answer carries `x-gw-tokens-estimated: true`. Errors answer in Anthropic's envelope.
 *
 * @example
 * app.post('/v1/messages/count_tokens', countTokens({ routing, registry, logger, maxJsonDepth: 64 }));
 */
export function countTokens(options: CountTokensOptions): Handler<GatewayEnv> {
  return async function countTokensHandler(c) {
    const body = parseJsonBody(await c.req.text(), options.maxJsonDepth);
    const request = parseRequest(anthropicMessagesRequestSchema, withMaxTokens(body));
    assertModelAllowed(c, request.model);
    const routed = options.routing.route(request.model);
    const target = routed.deployments[0];
    const native = target?.kind === 'anthropic';
    const canonical = fromAnthropicRequest(request, { nativeAnthropic: native });
    canonical.model = target?.model ?? request.model;
    if (target?.kind === 'openai') {
      const exact = await countChatTokens({ ...canonical, model: target.model }, { signal: c.req.raw.signal });
      return writeJson(c, JSON.stringify({ input_tokens: exact }));
    }
    const vendor = target === undefined ? undefined : options.registry.enabled.get(target.providerId)?.provider;
    if (vendor?.countTokens !== undefined) {
      const deadline = startDeadline(c.req.raw.signal, routed.jsonTotalMs);
      try {
        const counted = await vendor.countTokens(canonical, { signal: deadline.signal });
        return writeJson(c, JSON.stringify({ input_tokens: counted }));
      } catch (error) {
        if (c.req.raw.signal.aborted) throw error;
        // A count is advice, not a billed call: when the vendor cannot give it, an estimate still can.
        options.logger.warn('the vendor could not count tokens; answering an estimate', {
          requestId: c.get('requestId'),
          provider: target?.providerId,
          error,
        });
      } finally {
        deadline.clear();
      }
    }
    const estimate = estimateChatTokens(canonical, { vendor: target?.kind });
    c.header(TOKENS_ESTIMATED_HEADER, 'true');
    return writeJson(c, JSON.stringify({ input_tokens: estimate }));
  };
}
