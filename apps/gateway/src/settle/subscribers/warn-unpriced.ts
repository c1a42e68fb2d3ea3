import type { Pricing } from '../../cost/pricing.ts';
import type { Logger } from '../../observability/logger.ts';
import type { SettleHook } from '../settle-once.ts';

// Models are named by clients for direct addressing: the set of those already warned about is bounded.
const MAX_WARNED = 1000;

/**
 * Warns once per model that served a request without a price (the request is flagged `unpriced` in the ledger and
 * answered `x-gw-cost: unpriced`, never billed as free), so an operator adds it to `pricing.models`, or, when its
 * price is in a currency `pricing.rates` does not convert, adds that rate.
 *
 * @example
 * const settle = combineSettleHooks([warnUnpriced(logger, pricing)]);
 */
export function warnUnpriced(logger: Logger, pricing: Pricing): SettleHook {
  const warned = new Set<string>();
  return (outcome) => {
    if (!outcome.unpriced) return;
    const model = `${outcome.providerId}/${outcome.upstreamModel}`;
    if (warned.has(model) || warned.size >= MAX_WARNED) return;
    warned.add(model);
    const fields = { provider: outcome.providerId, model: outcome.upstreamModel };
    const currency =
      outcome.kind === undefined
        ? undefined
        : pricing.missingRate({ providerId: outcome.providerId, kind: outcome.kind, model: outcome.upstreamModel });
    if (currency === undefined) {
      logger.warn(`model "${model}" has no price: its requests are flagged unpriced; add it to pricing.models`, fields);
      return;
    }
    logger.warn(
      `model "${model}" is priced in ${currency} and pricing.rates has no ${currency} rate: its requests are flagged unpriced; add pricing.rates.${currency} (${currency} per 1 ${pricing.currency})`,
      { ...fields, currency },
    );
  };
}
