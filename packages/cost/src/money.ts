import { CostError } from './cost-error.ts';
import { divideHalfEven, formatScaled, toScaledInteger } from './decimal.ts';

/**
 * Decimal digits of one currency unit held by {@link Money.amount}: amounts count 10^-12 currency units. Prices
 * are integer millionths of a currency unit per million tokens (10^-6 per 10^6 tokens = 10^-12 per token), so
 * `tokens × price` is already an integer of this unit: no division, no rounding, anywhere in billing. See
 * docs/decisions/2026-12-03-money.md.
 */
export const MONEY_SCALE = 12;

const UNIT = 10n ** BigInt(MONEY_SCALE);
const CURRENCY_PATTERN = /^[A-Z]{3}$/;

/**
 * An exact amount of one currency. `amount` is a BigInt of 10^-12 currency units (picodollars for USD), so sums
 * of any number of requests are exact and never overflow. BigInt does not survive `JSON.stringify`: use
 * {@link moneyToNumber} or {@link formatMoney} at the edge.
 */
export interface Money {
  readonly amount: bigint;
  /** ISO 4217 code as the vendor bills it, e.g. `'USD'` or `'CNY'`. */
  readonly currency: string;
}

/**
 * Checks that `currency` looks like an ISO 4217 code and returns it.
 * Throws a `CostError` of kind `invalid_price` otherwise.
 */
// The currencies seen valid so far: a budget checks the same one or two on every request.
const validCurrencies = new Set<string>();

export function checkCurrency(currency: string): string {
  if (validCurrencies.has(currency)) return currency;
  if (!CURRENCY_PATTERN.test(currency)) {
    throw new CostError('invalid_price', `currency ${JSON.stringify(currency)} is not a three-letter ISO 4217 code`);
  }
  // Bounded: only codes that passed, and there are at most 26^3 of them.
  validCurrencies.add(currency);
  return currency;
}

/**
 * Money from decimal text or a number of currency units, read exactly (`'0.1'` is one tenth, not a binary float
 * near it). At most 12 decimals. Throws a `CostError` (`invalid_price`) for anything else.
 *
 * @example
 * ```ts
 * money('2.50', 'USD'); // { amount: 2500000000000n, currency: 'USD' }
 * money(7, 'CNY');
 * ```
 */
export function money(value: string | number, currency: string): Money {
  const amount = toScaledInteger(value, MONEY_SCALE);
  if (amount === undefined) {
    throw new CostError('invalid_price', `${JSON.stringify(value)} is not an amount with at most 12 decimals`);
  }
  return { amount, currency: checkCurrency(currency) };
}

/**
 * Zero of a currency: the start of a sum.
 *
 * @example
 * ```ts
 * const spent = records.reduce((sum, record) => addMoney(sum, record.cost), zeroMoney('USD'));
 * ```
 */
export function zeroMoney(currency: string): Money {
  return { amount: 0n, currency: checkCurrency(currency) };
}

function sameCurrency(a: Money, b: Money, operation: string): void {
  if (a.currency !== b.currency) {
    throw new CostError(
      'currency_mismatch',
      `cannot ${operation} ${a.currency} and ${b.currency}; convert one of them first (convert())`,
    );
  }
}

/**
 * `a + b`, exactly. Throws a `CostError` (`currency_mismatch`) when the currencies differ.
 *
 * @example
 * ```ts
 * addMoney(money('0.10', 'USD'), money('0.20', 'USD')); // exactly 0.30 USD
 * ```
 */
export function addMoney(a: Money, b: Money): Money {
  sameCurrency(a, b, 'add');
  return { amount: a.amount + b.amount, currency: a.currency };
}

/**
 * `a - b`, exactly (may be negative: a budget's remainder after an overrun). Throws a `CostError`
 * (`currency_mismatch`) when the currencies differ.
 *
 * @example
 * ```ts
 * const left = subtractMoney(budget, spent);
 * ```
 */
export function subtractMoney(a: Money, b: Money): Money {
  sameCurrency(a, b, 'subtract');
  return { amount: a.amount - b.amount, currency: a.currency };
}

/**
 * -1, 0 or 1 as `a` is less than, equal to or more than `b`. Throws a `CostError` (`currency_mismatch`) when the
 * currencies differ.
 *
 * @example
 * ```ts
 * if (compareMoney(addMoney(spent, estimate), budget) > 0) refuse();
 * ```
 */
export function compareMoney(a: Money, b: Money): -1 | 0 | 1 {
  sameCurrency(a, b, 'compare');
  return a.amount < b.amount ? -1 : a.amount > b.amount ? 1 : 0;
}

/**
 * The sum of `amounts`, all in `currency` (which an empty list needs to be a sum at all).
 *
 * @example
 * ```ts
 * sumMoney(breakdowns.map((breakdown) => breakdown.total), 'USD');
 * ```
 */
export function sumMoney(amounts: Iterable<Money>, currency: string): Money {
  let total = zeroMoney(currency);
  for (const amount of amounts) total = addMoney(total, amount);
  return total;
}

/**
 * The amount as a JS number of currency units, for display, metrics and JSON (`usage.cost`). A float: exact up to
 * about 9,000 currency units at full precision, and never to be added back up; sum {@link Money} instead.
 *
 * @example
 * ```ts
 * moneyToNumber(breakdown.total); // 0.00123
 * ```
 */
export function moneyToNumber(value: Money): number {
  const whole = value.amount / UNIT;
  const fraction = value.amount % UNIT;
  return Number(whole) + Number(fraction) / Number(UNIT);
}

/**
 * Exact decimal text of the amount. With `decimals`, rounded half to even to that many decimals and padded (for
 * invoices: `decimals: 2`); without, every significant decimal and no trailing zeros.
 *
 * @example
 * ```ts
 * formatMoney(money('0.000125', 'USD')); // '0.000125'
 * formatMoney(money('0.125', 'USD'), { decimals: 2 }); // '0.12'
 * ```
 */
export function formatMoney(value: Money, options?: { decimals?: number | undefined }): string {
  const decimals = options?.decimals;
  if (decimals === undefined) return formatScaled(value.amount, MONEY_SCALE);
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > MONEY_SCALE) {
    throw new RangeError(`decimals must be an integer from 0 to ${MONEY_SCALE}`);
  }
  const rounded = divideHalfEven(value.amount, 10n ** BigInt(MONEY_SCALE - decimals));
  const text = formatScaled(rounded, decimals);
  if (decimals === 0) return text;
  const [whole, fraction = ''] = text.split('.');
  return `${whole}.${fraction.padEnd(decimals, '0')}`;
}
