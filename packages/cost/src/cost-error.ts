/**
 * Why `@gw/cost` refused, as a closed set. A `switch` over it is exhaustive; never branch on `error.message`.
 * - `invalid_price`: a price entry (built-in, override or imported) is malformed: negative, more than six decimals
 *   per million tokens, a tier out of order, a currency that is not three capital letters.
 * - `invalid_usage`: token counts that cannot be billed: negative, fractional, or parts larger than their whole
 *   (cached + cache-write tokens above `prompt_tokens`, reasoning tokens above `completion_tokens`).
 * - `currency_mismatch`: two amounts in different currencies were added, subtracted or compared.
 * - `unknown_currency`: a conversion named a currency the rates do not list.
 * - `invalid_rate`: an exchange rate that is not a positive decimal.
 * - `import_failed`: a LiteLLM price file could not be read or does not have LiteLLM's shape.
 * - `too_few_models`: a LiteLLM price file parsed, but to fewer usable models than the threshold (a truncated or
 *   wrong file would otherwise replace a whole catalog).
 * - `invalid_budget`: a budget or a budget call that cannot be served: an unknown period, an empty or overlong
 *   scope, a negative amount or one above the counters' ceiling, the same budget twice in one reservation, a TTL
 *   that is not a positive integer, budgets across hash tags on Redis Cluster.
 */
export type CostErrorKind =
  | 'invalid_price'
  | 'invalid_usage'
  | 'currency_mismatch'
  | 'unknown_currency'
  | 'invalid_rate'
  | 'import_failed'
  | 'too_few_models'
  | 'invalid_budget';

// Symbol.for, so the guard also recognises errors from a second copy of this package in node_modules.
const COST_ERROR_MARKER: unique symbol = Symbol.for('gw.error.cost');

/**
 * The one error `@gw/cost` throws when it refuses. It is about the caller's data (a price, a usage, a rate, a
 * file), so it carries no HTTP status: the gateway decides whether that is a 500 (its own config) or a 400.
 *
 * @example
 * ```ts
 * try {
 *   convert(money('1.00', 'EUR'), 'USD', { base: 'USD', rates: { CNY: 7.1 } });
 * } catch (error) {
 *   if (isCostError(error) && error.kind === 'unknown_currency') console.log(error.message);
 * }
 * ```
 */
export class CostError extends Error {
  readonly [COST_ERROR_MARKER] = true;
  override readonly name = 'CostError';
  readonly kind: CostErrorKind;

  constructor(kind: CostErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
  }
}

/**
 * True when `error` is a {@link CostError}, also across duplicate installs of this package.
 *
 * @example
 * ```ts
 * if (isCostError(error) && error.kind === 'too_few_models') keepThePreviousCatalog();
 * ```
 */
export function isCostError(error: unknown): error is CostError {
  return typeof error === 'object' && error !== null && Reflect.get(error, COST_ERROR_MARKER) === true;
}
