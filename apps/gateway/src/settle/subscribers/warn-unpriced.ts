import type { Logger } from '../../observability/logger.ts';
import type { SettleHook } from '../settle-once.ts';

// Models are named by clients for direct addressing: the set of those already warned about is bounded.
const MAX_WARNED = 1000;

/**
 * Warns once per model that served a request without a price (the request is flagged `unpriced` in the ledger and
 * answered `x-gw-cost: unpriced`, never billed as free), so an operator adds it to `pricing.models`.
 *
 * @example
 * const settle = combineSettleHooks([warnUnpriced(logger)]);
 */
export function warnUnpriced(logger: Logger): SettleHook {
  const warned = new Set<string>();
  return (outcome) => {
    if (!outcome.unpriced) return;
    const model = `${outcome.providerId}/${outcome.upstreamModel}`;
    if (warned.has(model) || warned.size >= MAX_WARNED) return;
    warned.add(model);
    logger.warn(`model "${model}" has no price: its requests are flagged unpriced; add it to pricing.models`, {
      provider: outcome.providerId,
      model: outcome.upstreamModel,
    });
  };
}
