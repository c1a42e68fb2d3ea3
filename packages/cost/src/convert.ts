import { CostError } from './cost-error.ts';
import { type ExactDecimal, divideHalfEven, readDecimal } from './decimal.ts';
import { checkCurrency, type Money } from './money.ts';

/**
 * Exchange rates as configured: `rates[X]` is how many units of X one unit of `base` (the reporting currency)
 * buys. `{ base: 'USD', rates: { CNY: 7.1 } }` says 1 USD = 7.1 CNY.
 */
export interface ExchangeRates {
  readonly base: string;
  readonly rates: Readonly<Record<string, number | string>>;
}

function rateOf(currency: string, rates: ExchangeRates): ExactDecimal {
  if (currency === rates.base) return { digits: 1n, scale: 0 };
  const configured = Object.hasOwn(rates.rates, currency) ? rates.rates[currency] : undefined;
  if (configured === undefined) {
    const known = [rates.base, ...Object.keys(rates.rates)].join(', ');
    throw new CostError('unknown_currency', `no exchange rate for ${currency}; the rates know ${known}`);
  }
  const rate = readDecimal(configured);
  if (rate === undefined || rate.digits <= 0n) {
    throw new CostError(
      'invalid_rate',
      `the rate for ${currency} must be a positive decimal, got ${String(configured)}`,
    );
  }
  return rate;
}

/**
 * Converts an amount into another currency with configured rates. The rates are read as exact decimals and the
 * result is rounded once, half to even, to the smallest unit (10^-12): converting is the one step of billing that
 * rounds. The source currency is the amount's own, so the two cannot disagree.
 *
 * Throws a `CostError`: `unknown_currency` when either currency has no rate, `invalid_rate` for a rate that is not
 * a positive decimal; never NaN.
 *
 * @example
 * ```ts
 * const rates = { base: 'USD', rates: { CNY: 7.1 } };
 * formatMoney(convert(money('71', 'CNY'), 'USD', rates)); // '10'
 * formatMoney(convert(money('1', 'USD'), 'CNY', rates)); // '7.1'
 * ```
 */
export function convert(amount: Money, to: string, rates: ExchangeRates): Money {
  checkCurrency(to);
  if (amount.currency === to) return amount;
  checkCurrency(rates.base);
  const from = rateOf(amount.currency, rates);
  const target = rateOf(to, rates);
  // amount / from × target, with both rates as digits / 10^scale: one exact fraction, one rounding.
  const numerator = amount.amount * target.digits * 10n ** BigInt(from.scale);
  const denominator = from.digits * 10n ** BigInt(target.scale);
  return { amount: divideHalfEven(numerator, denominator), currency: to };
}
