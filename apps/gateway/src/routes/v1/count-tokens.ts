import { countChatTokens, estimateChatTokens } from '@gw/cost';
import { anthropicMessagesRequestSchema, fromAnthropicRequest } from '@gw/providers/formats';
import type { Handler } from 'hono';
import type { GatewayEnv } from '../../gateway-env.ts';
import type { GatewayRouting } from '../../routing/gateway-routing.ts';
import { writeJson } from '../../relay/write-response.ts';
import { parseJsonBody, parseRequest } from './request-body.ts';
import { assertModelAllowed } from './routed-call.ts';

/** What `POST /v1/messages/count_tokens` needs. */
export interface CountTokensOptions {
  routing: GatewayRouting;
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
 * `POST /v1/messages/count_tokens`: Anthropic's token counting (`{ input_tokens }`) for any target, without an
 * upstream call (nothing is billed or recorded). The model is routed as `/v1/messages` routes it (alias or
 * `provider-id/model`, the key's model list applies), and the prompt (system, messages, tools) is counted for the
 * first deployment of that route: exactly with its encoding (js-tiktoken, through `@gw/cost`) when it is an `openai`
 * provider, estimated for that vendor's tokenizer otherwise, Anthropic included, and then the answer carries
 * `x-gw-tokens-estimated: true`. Errors answer in Anthropic's envelope.
 *
 * @example
 * app.post('/v1/messages/count_tokens', countTokens({ routing, maxJsonDepth: 64 }));
 */
export function countTokens(options: CountTokensOptions): Handler<GatewayEnv> {
  return async function countTokensHandler(c) {
    const body = parseJsonBody(await c.req.text(), options.maxJsonDepth);
    const request = parseRequest(anthropicMessagesRequestSchema, withMaxTokens(body));
    assertModelAllowed(c, request.model);
    const target = options.routing.route(request.model).deployments[0];
    const canonical = fromAnthropicRequest(request, { nativeAnthropic: false });
    let inputTokens: number;
    if (target?.kind === 'openai') {
      inputTokens = await countChatTokens({ ...canonical, model: target.model }, { signal: c.req.raw.signal });
    } else {
      inputTokens = estimateChatTokens(canonical, { vendor: target?.kind });
      c.header(TOKENS_ESTIMATED_HEADER, 'true');
    }
    return writeJson(c, JSON.stringify({ input_tokens: inputTokens }));
  };
}
