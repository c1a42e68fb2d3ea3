// The vocabulary shared by the budget stores: what a budget is, what a reservation holds, and the contract both
// stores keep (memory-budget-store.ts, redis-budget-store.ts). test-budget-store-suite.ts holds them to it.
import { CostError } from '../cost-error.ts';
import { checkCurrency, type Money } from '../money.ts';
import { periodEndOf, type BudgetPeriod } from './budget-period.ts';

/**
 * The largest amount a budget counter holds, in 10^-12 currency units: 2^63 − 1, Redis's signed 64-bit integer
 * (`HINCRBY`), about 9.22 million currency units. Limits, reservations and settled amounts above it are refused
 * (`CostError` `invalid_budget`) by both stores, so that a budget that works in memory works in Redis; a spent
 * counter that would pass it stays at it.
 *
 * @example
 * ```ts
 * if (money(config.limit, 'USD').amount > MAX_BUDGET_UNITS) throw new Error('budget too large for one counter');
 * ```
 */
export const MAX_BUDGET_UNITS = 2n ** 63n - 1n;

/**
 * Default of a reservation's TTL: 10 minutes, longer than the longest request a gateway lets run.
 *
 * @example
 * ```ts
 * const ttlMs = Math.max(DEFAULT_RESERVATION_TTL_MS, 2 * requestTimeoutMs);
 * ```
 */
export const DEFAULT_RESERVATION_TTL_MS = 600_000;

/**
 * How long a store remembers a reservation that expired unsettled, so that a settle arriving late still records
 * what was spent (and a second one does not): 24 hours. After that a settle of it does nothing.
 *
 * @example
 * ```ts
 * if (Date.now() > reservation.expiresAt + LATE_SETTLE_WINDOW_MS) logger.warn('settle too late to be recorded');
 * ```
 */
export const LATE_SETTLE_WINDOW_MS = 86_400_000;

// Scopes become Redis keys and error messages; a gateway's are key ids and names, far shorter than this.
const MAX_SCOPE_LENGTH = 512;

/**
 * One spending limit: at most `limit` per `period` for `scope`. Budgets with the same scope, period and currency
 * share one counter whatever `limit` says, so a limit changed at runtime keeps the spend so far.
 *
 * @example
 * ```ts
 * const budget: Budget = { scope: 'key:team-a', limit: money('50', 'USD'), period: 'month' };
 * ```
 */
export interface Budget {
  /** Whose budget it is, e.g. `'key:<id>'` or `'global'`: 1 to 512 characters. */
  readonly scope: string;
  /** At most 2^63 − 1 units of 10^-12 ({@link MAX_BUDGET_UNITS}); its currency is the budget's. */
  readonly limit: Money;
  readonly period: BudgetPeriod;
}

/**
 * Where a budget stands: for an `x-gw-budget-remaining` header and an admin view.
 *
 * @example
 * ```ts
 * const state: BudgetState = await store.remaining(budget);
 * headers.set('x-gw-budget-remaining', formatMoney(state.remaining));
 * ```
 */
export interface BudgetState {
  readonly scope: string;
  readonly period: BudgetPeriod;
  readonly limit: Money;
  /** Settled spend in the current period. */
  readonly spent: Money;
  /** Held by reservations that are neither settled nor expired. */
  readonly reserved: Money;
  /** `limit − spent − reserved`: negative after an overrun (a request that cost more than it reserved). */
  readonly remaining: Money;
  /** When the current period started (ms since the epoch); undefined for `'total'`. */
  readonly periodStart: number | undefined;
  /** When it starts again from zero (ms since the epoch); undefined for `'total'`. */
  readonly resetsAt: number | undefined;
}

/**
 * Options of {@link BudgetStore.reserve}.
 *
 * @example
 * ```ts
 * await store.reserve(budgets, worstCase, { ttlMs: 30 * 60_000, signal } satisfies ReserveOptions);
 * ```
 */
export interface ReserveOptions {
  /**
   * After this many ms an unsettled reservation stops counting (its process may have crashed). Default: the
   * store's, 10 minutes unless set. Make it longer than the longest request, or a slow request's reservation lapses
   * while it runs and others may spend the same money.
   */
  ttlMs?: number | undefined;
  /** Aborting it while the store answers rejects the call with the abort reason. */
  signal?: AbortSignal | undefined;
}

/**
 * Options of the other store calls.
 *
 * @example
 * ```ts
 * await store.settle(reservation, actual, { signal: AbortSignal.timeout(1000) } satisfies BudgetCallOptions);
 * ```
 */
export interface BudgetCallOptions {
  signal?: AbortSignal | undefined;
}

/**
 * What a successful {@link BudgetStore.reserve} returns; hand it back to {@link BudgetStore.settle}.
 *
 * @example
 * ```ts
 * const reservation: BudgetReservation = await store.reserve([keyBudget, globalBudget], worstCase);
 * ```
 */
export interface BudgetReservation {
  /** Unique per reservation (random in the Redis store, which processes share). */
  readonly id: string;
  readonly amount: Money;
  readonly budgets: readonly Budget[];
  /** Each budget after this reservation, in the order given; empty when `degraded`. */
  readonly states: readonly BudgetState[];
  /** The store's clock when it reserved (ms). */
  readonly reservedAt: number;
  /** When the reservation stops counting unless settled (ms, the store's clock). */
  readonly expiresAt: number;
  /**
   * True when the store could not be reached and let the request through (fail-open): nothing is held. Settling
   * it still records the spend if the store is back by then.
   */
  readonly degraded: boolean;
}

/**
 * What a {@link BudgetStore.settle} did.
 * - `'settled'`: the reservation was released and the actual cost added to the spend.
 * - `'settled_late'`: the reservation had expired (it no longer counted); the actual cost was added all the same,
 *   since it was spent.
 * - `'already_settled'`: nothing; the reservation was settled before (or expired more than 24 hours ago).
 * - `'not_recorded'`: the store could not be reached; the spend is not counted (the outage is reported and counted,
 *   and a later settle of the same reservation may try again).
 *
 * @example
 * ```ts
 * const status: SettleStatus = await store.settle(reservation, actual);
 * if (status === 'not_recorded') logger.warn({ scope }, 'budget spend not recorded: Redis down');
 * ```
 */
export type SettleStatus = 'settled' | 'settled_late' | 'already_settled' | 'not_recorded';

/**
 * Counters since the store was created.
 *
 * @example
 * ```ts
 * const { refused, storeDown }: BudgetStoreStats = store.stats();
 * ```
 */
export interface BudgetStoreStats {
  /** Reservations made. */
  reserved: number;
  /** Reservations refused with a `BudgetExceededError`. */
  refused: number;
  /** Settles that released a reservation and recorded its cost. */
  settled: number;
  /** Settles of reservations that had expired, recorded all the same. */
  settledLate: number;
  /** Reservations let through unheld because the store failed (`failMode: 'open'`). */
  failedOpen: number;
  /** Reservations refused with a `BudgetUnavailableError` because the store failed (`failMode: 'closed'`). */
  failedClosed: number;
  /** Settles whose cost could not be recorded because the store failed. */
  notRecorded: number;
  /** Store calls that failed, of any kind. */
  storeErrors: number;
  /** Outages: `store_down` events. */
  outages: number;
  /** Whether the last store call failed. */
  storeDown: boolean;
}

/**
 * Budgets kept in one place: {@link createMemoryBudgetStore} (this process) or {@link createRedisBudgetStore}
 * (every process sharing a Redis). Both obey the same test suite. A gateway calls `reserve` before an upstream call
 * with the worst-case cost and `settle` after it with the actual cost.
 *
 * @example
 * ```ts
 * const reservation = await store.reserve(budgets, worstCase); // or a BudgetExceededError (402)
 * try {
 *   response = await callUpstream();
 * } finally {
 *   await store.settle(reservation, costSoFar()); // also when the call failed or was cancelled
 * }
 * ```
 */
export interface BudgetStore {
  /**
   * Checks that `spent + reserved + amount <= limit` for every budget and, if so, adds `amount` to all their
   * reservations, atomically; otherwise reserves nothing and rejects with a `BudgetExceededError` naming the
   * budget. Misuse rejects with a `CostError`: `currency_mismatch` when `amount` and a limit differ in currency,
   * `invalid_budget` for the rest. An empty list reserves nothing and succeeds.
   */
  reserve(budgets: readonly Budget[], amount: Money, options?: ReserveOptions): Promise<BudgetReservation>;
  /**
   * Releases the reservation and adds `actual` (less or more than reserved) to the spend of each of its budgets,
   * in the period current at the settle. Only the first settle counts; an expired reservation's cost is recorded
   * too. Never rejects because the store is down (it resolves `'not_recorded'`); rejects with a `CostError` for an
   * `actual` in another currency or out of range, and with the signal's reason when aborted. Do not pass the
   * request's own signal: a cancelled request must still settle what it produced.
   */
  settle(reservation: BudgetReservation, actual: Money, options?: BudgetCallOptions): Promise<SettleStatus>;
  /** Where one budget stands now. Rejects with a `BudgetUnavailableError` when the store cannot be reached. */
  remaining(budget: Budget, options?: BudgetCallOptions): Promise<BudgetState>;
  /** Where each budget stands now, in the order given. Rejects like {@link BudgetStore.remaining}. */
  snapshot(budgets: readonly Budget[], options?: BudgetCallOptions): Promise<BudgetState[]>;
  /**
   * Replaces the spend of the budget's current period (reservations are kept). For a gateway that keeps its truth
   * in a ledger: after a restart with the memory store, sum the ledger's costs of each budget's scope since
   * `(await store.remaining(budget)).periodStart` and set them here before serving traffic; with Redis, only after
   * Redis lost its data. Not a way to add spend while requests run: a settle between the sum and this call would be
   * lost or counted twice.
   */
  setSpent(budget: Budget, spent: Money, options?: BudgetCallOptions): Promise<BudgetState>;
  stats(): BudgetStoreStats;
}

/** Throws a `CostError` (`invalid_budget`) naming what is wrong with `budget`. */
export function checkBudget(budget: Budget): void {
  const scope: unknown = budget.scope;
  if (typeof scope !== 'string' || scope.length === 0 || scope.length > MAX_SCOPE_LENGTH) {
    throw new CostError('invalid_budget', `a budget's scope must be a string of 1 to ${MAX_SCOPE_LENGTH} characters`);
  }
  const period: unknown = budget.period;
  if (period !== 'day' && period !== 'month' && period !== 'total') {
    throw new CostError(
      'invalid_budget',
      `period must be 'day', 'month' or 'total', got ${String(period)} for ${scope}`,
    );
  }
  if (!unitsInRange(budget.limit)) checkUnits(`the limit of ${scope}`, budget.limit);
  else checkCurrency(budget.limit.currency);
}

/** Throws a `CostError` unless `value` is Money from 0 to {@link MAX_BUDGET_UNITS} in `currency`. */
export function checkAmount(name: string, value: Money, currency: string): void {
  checkUnits(name, value);
  if (value.currency !== currency) {
    throw new CostError(
      'currency_mismatch',
      `${name} is in ${value.currency} but the budget is in ${currency}; convert it first (convert())`,
    );
  }
}

function unitsInRange(value: Money): boolean {
  const amount: unknown = value.amount;
  return typeof amount === 'bigint' && amount >= 0n && amount <= MAX_BUDGET_UNITS;
}

function checkUnits(name: string, value: Money): void {
  const amount: unknown = value.amount;
  if (typeof amount !== 'bigint' || amount < 0n || amount > MAX_BUDGET_UNITS) {
    throw new CostError(
      'invalid_budget',
      `${name} must be Money from 0 to ${MAX_BUDGET_UNITS} units of 10^-12 (about 9.2 million), got ${String(amount)}`,
    );
  }
  checkCurrency(value.currency);
}

/** Checks a reservation's input. Throws a `CostError` naming the first problem. */
export function checkReserve(budgets: readonly Budget[], amount: Money, ttlMs: number): void {
  const list: unknown = budgets;
  if (!Array.isArray(list)) throw new CostError('invalid_budget', 'budgets must be an array');
  checkUnits('the amount to reserve', amount);
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new CostError('invalid_budget', `ttlMs must be an integer > 0, got ${ttlMs}`);
  }
  for (const budget of budgets) {
    checkBudget(budget);
    checkAmount('the amount to reserve', amount, budget.limit.currency);
  }
  if (budgets.length < 2) return;
  const counters = new Set<string>();
  for (const budget of budgets) {
    const counter = counterId(budget);
    if (counters.has(counter)) {
      throw new CostError(
        'invalid_budget',
        `the ${budget.period} ${budget.limit.currency} budget of ${budget.scope} is listed twice in one reservation`,
      );
    }
    counters.add(counter);
  }
}

/** One counter per scope, period and currency. Period and currency have fixed shapes, so this is unambiguous. */
export function counterId(budget: Budget): string {
  return `${budget.period}:${budget.limit.currency}:${budget.scope}`;
}

/** A budget's state from its counter's spent, reserved and period start. */
export function budgetState(budget: Budget, spent: bigint, reserved: bigint, periodStart: number): BudgetState {
  const currency = budget.limit.currency;
  return {
    scope: budget.scope,
    period: budget.period,
    limit: budget.limit,
    spent: { amount: spent, currency },
    reserved: { amount: reserved, currency },
    remaining: { amount: budget.limit.amount - spent - reserved, currency },
    periodStart: budget.period === 'total' ? undefined : periodStart,
    resetsAt: periodEndOf(budget.period, periodStart),
  };
}

/**
 * Which of the budgets that refused to name: the one that resets last (a `'total'` budget never does), so that the
 * reset time in the answer is when the request can really pass; the first given among equals.
 */
export function refusingIndex(states: readonly BudgetState[], fits: readonly boolean[]): number {
  let chosen = -1;
  let latest = -Infinity;
  states.forEach((state, index) => {
    if (fits[index] === true) return;
    const resetsAt = state.resetsAt ?? Infinity;
    if (resetsAt > latest) {
      latest = resetsAt;
      chosen = index;
    }
  });
  return chosen;
}

/** The smaller of `spent + actual` and the ceiling: a counter never overflows. */
export function addSpent(spent: bigint, actual: bigint): bigint {
  const total = spent + actual;
  return total > MAX_BUDGET_UNITS ? MAX_BUDGET_UNITS : total;
}

const STATUS_RANK: Record<SettleStatus, number> = {
  already_settled: 0,
  not_recorded: 1,
  settled_late: 2,
  settled: 3,
};

/** A settle's status over several budgets: the strongest of theirs (one that released a reservation wins). */
export function strongerStatus(a: SettleStatus, b: SettleStatus): SettleStatus {
  return STATUS_RANK[b] > STATUS_RANK[a] ? b : a;
}
