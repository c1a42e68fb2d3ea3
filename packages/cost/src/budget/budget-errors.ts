import { formatMoney, type Money } from '../money.ts';
import type { BudgetPeriod } from './budget-period.ts';
import type { BudgetState } from './budget.ts';

// Symbol.for, so the guards also recognise errors from a second copy of this package in node_modules.
const BUDGET_EXCEEDED_MARKER: unique symbol = Symbol.for('gw.error.budget-exceeded');
const BUDGET_UNAVAILABLE_MARKER: unique symbol = Symbol.for('gw.error.budget-unavailable');

// A scope is whatever a caller composed; an error message echoing all of it would be a leak of its own.
const MAX_SCOPE_IN_MESSAGE = 200;

const PERIOD_WORDS: Record<BudgetPeriod, string> = { day: 'per day', month: 'per month', total: 'in total' };

/**
 * Rejection of `reserve` when a budget has no room for the amount: `kind: 'budget_exceeded'`, `status: 402`
 * (Payment Required: the client's money, not the server's capacity, ran out). Nothing was reserved, from any budget.
 * Not retryable before `resetsAt` (never, for a `'total'` budget).
 *
 * @example
 * ```ts
 * try {
 *   reservation = await store.reserve(budgets, worstCase);
 * } catch (error) {
 *   if (!isBudgetExceededError(error)) throw error;
 *   return Response.json(
 *     { error: { message: error.message, type: 'budget_exceeded', code: 'budget_exceeded', param: null } },
 *     { status: error.status },
 *   );
 * }
 * ```
 */
export class BudgetExceededError extends Error {
  readonly [BUDGET_EXCEEDED_MARKER] = true;
  override readonly name = 'BudgetExceededError';
  readonly kind = 'budget_exceeded';
  readonly status = 402;
  readonly retryable = false;
  /** The budget that refused (the one that resets last, when several did). */
  readonly scope: string;
  readonly period: BudgetPeriod;
  readonly limit: Money;
  /** What that budget has left before this request (`limit − spent − reserved`; negative after an overrun). */
  readonly remaining: Money;
  /** The amount that did not fit. */
  readonly requested: Money;
  /** When that budget starts again from zero (ms since the epoch); undefined for a `'total'` budget. */
  readonly resetsAt: number | undefined;
  /** Every budget of the reservation as it stands (nothing reserved), in the order given. */
  readonly budgets: readonly BudgetState[];

  constructor(options: { refused: BudgetState; requested: Money; budgets: readonly BudgetState[] }) {
    const { refused } = options;
    const scope =
      refused.scope.length > MAX_SCOPE_IN_MESSAGE ? `${refused.scope.slice(0, MAX_SCOPE_IN_MESSAGE)}…` : refused.scope;
    const { currency } = refused.limit;
    const left = refused.remaining.amount < 0n ? { amount: 0n, currency } : refused.remaining;
    const reset = refused.resetsAt === undefined ? '' : `; it resets at ${new Date(refused.resetsAt).toISOString()}`;
    super(
      `budget of ${formatMoney(refused.limit)} ${currency} ${PERIOD_WORDS[refused.period]} for ${scope} exceeded: ` +
        `${formatMoney(left)} ${currency} left, ${formatMoney(options.requested)} ${currency} needed${reset}`,
    );
    this.scope = refused.scope;
    this.period = refused.period;
    this.limit = refused.limit;
    this.remaining = refused.remaining;
    this.requested = options.requested;
    this.resetsAt = refused.resetsAt;
    this.budgets = options.budgets;
  }
}

/**
 * True when `error` is a {@link BudgetExceededError}, also across duplicate installs of this package.
 *
 * @example
 * ```ts
 * if (isBudgetExceededError(error)) metrics.increment('budget_refusals', { scope: error.scope });
 * ```
 */
export function isBudgetExceededError(error: unknown): error is BudgetExceededError {
  return typeof error === 'object' && error !== null && Reflect.get(error, BUDGET_EXCEEDED_MARKER) === true;
}

/**
 * Rejection of a budget store that could not decide (Redis down, or slower than its timeout): of `reserve` with
 * `failMode: 'closed'`, and of `remaining`, `snapshot` and `setSpent` in either mode. Shaped like a 503
 * (`kind: 'overloaded'`, retryable): the request was not judged, not refused. The store's error is the `cause`.
 *
 * @example
 * ```ts
 * if (isBudgetUnavailableError(error)) return new Response('budgets unavailable, try again', { status: 503 });
 * ```
 */
export class BudgetUnavailableError extends Error {
  readonly [BUDGET_UNAVAILABLE_MARKER] = true;
  override readonly name = 'BudgetUnavailableError';
  readonly kind = 'overloaded';
  readonly status = 503;
  readonly retryable = true;

  constructor(options: { cause: unknown }) {
    super('the budget store is unavailable', { cause: options.cause });
  }
}

/**
 * True when `error` is a {@link BudgetUnavailableError}, also across duplicate installs of this package.
 *
 * @example
 * ```ts
 * if (isBudgetUnavailableError(error)) metrics.increment('budget_store_down');
 * ```
 */
export function isBudgetUnavailableError(error: unknown): error is BudgetUnavailableError {
  return typeof error === 'object' && error !== null && Reflect.get(error, BUDGET_UNAVAILABLE_MARKER) === true;
}
