import type { Usage } from '@gw/providers';
import type { Context } from 'hono';
import type { GatewayEnv } from '../gateway-env.ts';
import { setAnswerHeader } from '../relay/answer-headers.ts';
import type { RequestOutcome } from '../settle/settle-once.ts';
import type { Pricing, RequestCost } from './pricing.ts';

/**
 * `usage` with its cost in the reporting currency as `cost` (a number for display; the ledger keeps the exact
 * amount). A new object: the usage the caller holds is not changed.
 *
 * @example
 * const body = { ...response, usage: withCost(response.usage, cost, pricing) };
 */
export function withCost(usage: Usage, cost: RequestCost, pricing: Pricing): Usage {
  return { ...usage, cost: pricing.toNumber(cost) };
}

/**
 * Sets `x-gw-cost` for a settled JSON answer: the cost in the reporting currency, `unpriced` when the model that
 * served has no price; `x-gw-cost-estimated: true` when the vendor reported no usage and the gateway estimated it.
 *
 * @example
 * setCostHeaders(c, outcome, pricing);
 */
export function setCostHeaders(c: Context<GatewayEnv>, outcome: RequestOutcome | undefined, pricing: Pricing): void {
  if (outcome === undefined) return;
  if (outcome.cost !== undefined) setAnswerHeader(c, 'x-gw-cost', String(pricing.toNumber(outcome.cost)));
  else if (outcome.unpriced) setAnswerHeader(c, 'x-gw-cost', 'unpriced');
  if (outcome.estimated) setAnswerHeader(c, 'x-gw-cost-estimated', 'true');
}
