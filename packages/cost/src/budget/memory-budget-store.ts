import type { Money } from '../money.ts';
import { BudgetExceededError } from './budget-errors.ts';
import { periodEndOf, periodStartOf, type BudgetPeriod } from './budget-period.ts';
import {
  addSpent,
  budgetState,
  checkAmount,
  checkBudget,
  checkReserve,
  counterId,
  DEFAULT_RESERVATION_TTL_MS,
  LATE_SETTLE_WINDOW_MS,
  refusingIndex,
  strongerStatus,
  type Budget,
  type BudgetCallOptions,
  type BudgetReservation,
  type BudgetState,
  type BudgetStore,
  type BudgetStoreStats,
  type ReserveOptions,
  type SettleStatus,
} from './budget.ts';
import { createDeadlineHeap, type DeadlineHeap, type HeapItem } from './deadline-heap.ts';

/**
 * Options of {@link createMemoryBudgetStore}.
 *
 * @example
 * ```ts
 * const options: MemoryBudgetStoreOptions = { reservationTtlMs: 15 * 60_000 };
 * ```
 */
export interface MemoryBudgetStoreOptions {
  /** Clock in ms since the epoch, for periods and expiry. Default `Date.now`. */
  now?: (() => number) | undefined;
  /** Default TTL of a reservation, in ms (an integer > 0). Default 600 000 (10 minutes). */
  reservationTtlMs?: number | undefined;
}

/**
 * The memory store: a {@link BudgetStore} that also says how many counters it holds.
 *
 * @example
 * ```ts
 * const store: MemoryBudgetStore = createMemoryBudgetStore();
 * metrics.gauge('budget_counters', store.size());
 * ```
 */
export interface MemoryBudgetStore extends BudgetStore {
  /** Counters held now: one per scope, period and currency that has spend or reservations (or had, recently). */
  size(): number;
}

// One reservation in one counter. A live entry counts in `reserved` until its deadline (expiresAt); then it becomes
// a lapsed marker, which no longer counts but lets a late settle record its cost, until its new deadline.
interface Entry extends HeapItem {
  readonly id: string;
  readonly amount: bigint;
  lapsed: boolean;
}

// The spend and reservations of one scope, period and currency.
interface Counter {
  readonly period: BudgetPeriod;
  periodStart: number;
  /** When the period that starts at `periodStart` ends (Infinity for `'total'`): until then it cannot change. */
  periodEnd: number;
  spent: bigint;
  reserved: bigint;
  readonly entries: Map<string, Entry>;
  readonly heap: DeadlineHeap<Entry>;
}

// Counters looked at for forgetting: FORGET_STEPS every FORGET_EVERY calls (at most every counter once), enough to
// keep up with the calls that create them; in batches, so that a store of a few counters does not restart its walk
// on every call.
const FORGET_STEPS = 16;
const FORGET_EVERY = 8;

/**
 * Creates a budget store that keeps its counters in this process: exact (BigInt) and atomic (each call runs to the
 * end without yielding), but forgotten at a restart, so rebuild spend from a ledger with `setSpent` at start. For
 * several processes, use {@link createRedisBudgetStore}.
 *
 * A counter that holds nothing (no spend in its current period, no reservation) is forgotten, a couple per call,
 * so day and month counters of idle scopes do not accumulate; `'total'` counters with spend are kept for good.
 *
 * @example
 * ```ts
 * const store = createMemoryBudgetStore();
 * const budget: Budget = { scope: 'key:team-a', limit: money('20', 'USD'), period: 'day' };
 * const reservation = await store.reserve([budget], money('0.05', 'USD'));
 * await store.settle(reservation, money('0.0123', 'USD'));
 * ```
 */
export function createMemoryBudgetStore(options: MemoryBudgetStoreOptions = {}): MemoryBudgetStore {
  const clock = options.now ?? Date.now;
  const defaultTtlMs = options.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS;
  checkReserve([], { amount: 0n, currency: 'USD' }, defaultTtlMs);

  const counters = new Map<string, Counter>();
  // Map iterators stay valid while entries are deleted, and visit entries added later.
  let cursor = counters.entries();
  let calls = 0;
  // Reservation ids: unique in this store (no other process settles them), so a counter does; the random part tells
  // one store's ids from another's.
  const idPrefix = `${Math.random().toString(36).slice(2, 10)}-`;
  let lastId = 0;
  const stats: BudgetStoreStats = {
    reserved: 0,
    refused: 0,
    settled: 0,
    settledLate: 0,
    failedOpen: 0,
    failedClosed: 0,
    notRecorded: 0,
    storeErrors: 0,
    outages: 0,
    storeDown: false,
  };

  // Expired reservations stop counting; lapsed markers past their window are dropped; a new period starts at 0.
  function bringUpToDate(counter: Counter, now: number): void {
    for (let entry = counter.heap.peek(); entry !== undefined && entry.deadline <= now; entry = counter.heap.peek()) {
      counter.heap.remove(entry);
      if (entry.lapsed) {
        counter.entries.delete(entry.id);
        continue;
      }
      counter.reserved -= entry.amount;
      entry.lapsed = true;
      entry.deadline += LATE_SETTLE_WINDOW_MS;
      counter.heap.push(entry);
    }
    if (now < counter.periodEnd) return;
    const start = periodStartOf(counter.period, now);
    // Never back: a clock that steps back over a period's start keeps the newer period.
    if (counter.periodStart < start) {
      counter.periodStart = start;
      counter.periodEnd = periodEndOf(counter.period, start) ?? Infinity;
      counter.spent = 0n;
    }
  }

  // Each budget's counter id, by budget object: callers that keep their budgets (the gateway keeps a key's) do not
  // rebuild the string on every call.
  const ids = new WeakMap<Budget, string>();
  function idOf(budget: Budget): string {
    let id = ids.get(budget);
    if (id === undefined) {
      id = counterId(budget);
      ids.set(budget, id);
    }
    return id;
  }

  function existing(budget: Budget, now: number): Counter | undefined {
    const counter = counters.get(idOf(budget));
    if (counter !== undefined) bringUpToDate(counter, now);
    return counter;
  }

  function create(budget: Budget, now: number): Counter {
    const periodStart = periodStartOf(budget.period, now);
    const counter: Counter = {
      period: budget.period,
      periodStart,
      periodEnd: periodEndOf(budget.period, periodStart) ?? Infinity,
      spent: 0n,
      reserved: 0n,
      entries: new Map(),
      heap: createDeadlineHeap(),
    };
    counters.set(idOf(budget), counter);
    return counter;
  }

  function stateOf(budget: Budget, counter: Counter | undefined, now: number): BudgetState {
    if (counter === undefined) return budgetState(budget, 0n, 0n, periodStartOf(budget.period, now));
    return budgetState(budget, counter.spent, counter.reserved, counter.periodStart);
  }

  function forgetIdle(now: number): void {
    calls += 1;
    if (calls % FORGET_EVERY !== 0) return;
    const steps = Math.min(FORGET_STEPS, counters.size);
    for (let step = 0; step < steps; step += 1) {
      let next = cursor.next();
      if (next.done === true) {
        cursor = counters.entries();
        next = cursor.next();
        if (next.done === true) return;
      }
      const [id, counter] = next.value;
      bringUpToDate(counter, now);
      if (counter.entries.size === 0 && counter.spent === 0n) counters.delete(id);
    }
  }

  async function reserve(
    budgets: readonly Budget[],
    amount: Money,
    reserveOptions: ReserveOptions = {},
  ): Promise<BudgetReservation> {
    const ttlMs = reserveOptions.ttlMs ?? defaultTtlMs;
    checkReserve(budgets, amount, ttlMs);
    reserveOptions.signal?.throwIfAborted();
    const now = clock();
    forgetIdle(now);
    const found: Array<Counter | undefined> = [];
    let fitsAll = true;
    for (const budget of budgets) {
      const counter = existing(budget, now);
      found.push(counter);
      const used = counter === undefined ? 0n : counter.spent + counter.reserved;
      if (used + amount.amount > budget.limit.amount) fitsAll = false;
    }
    if (!fitsAll) {
      const before = budgets.map((budget, index) => stateOf(budget, found[index], now));
      const fits = before.map(
        (state) => state.spent.amount + state.reserved.amount + amount.amount <= state.limit.amount,
      );
      stats.refused += 1;
      const refused = refusingIndex(before, fits);
      throw new BudgetExceededError({ refused: before[refused] as BudgetState, requested: amount, budgets: before });
    }
    lastId += 1;
    const id = idPrefix + lastId;
    const expiresAt = now + ttlMs;
    const states = budgets.map((budget, index) => {
      const counter = found[index] ?? create(budget, now);
      const entry: Entry = { id, amount: amount.amount, lapsed: false, deadline: expiresAt, index: -1 };
      counter.entries.set(id, entry);
      counter.heap.push(entry);
      counter.reserved += amount.amount;
      return stateOf(budget, counter, now);
    });
    stats.reserved += 1;
    return { id, amount, budgets: [...budgets], states, reservedAt: now, expiresAt, degraded: false };
  }

  async function settle(
    reservation: BudgetReservation,
    actual: Money,
    callOptions: BudgetCallOptions = {},
  ): Promise<SettleStatus> {
    checkAmount('the actual cost', actual, reservation.amount.currency);
    callOptions.signal?.throwIfAborted();
    const now = clock();
    let status: SettleStatus = 'already_settled';
    for (const budget of reservation.budgets) {
      const counter = existing(budget, now);
      const entry = counter?.entries.get(reservation.id);
      if (counter === undefined || entry === undefined) continue;
      counter.heap.remove(entry);
      counter.entries.delete(entry.id);
      if (!entry.lapsed) counter.reserved -= entry.amount;
      counter.spent = addSpent(counter.spent, actual.amount);
      status = strongerStatus(status, entry.lapsed ? 'settled_late' : 'settled');
    }
    if (status === 'settled') stats.settled += 1;
    if (status === 'settled_late') stats.settledLate += 1;
    return status;
  }

  async function snapshot(budgets: readonly Budget[], callOptions: BudgetCallOptions = {}): Promise<BudgetState[]> {
    for (const budget of budgets) checkBudget(budget);
    callOptions.signal?.throwIfAborted();
    const now = clock();
    return budgets.map((budget) => stateOf(budget, existing(budget, now), now));
  }

  async function remaining(budget: Budget, callOptions: BudgetCallOptions = {}): Promise<BudgetState> {
    const [state] = await snapshot([budget], callOptions);
    return state as BudgetState;
  }

  async function setSpent(budget: Budget, spent: Money, callOptions: BudgetCallOptions = {}): Promise<BudgetState> {
    checkBudget(budget);
    checkAmount('the spend', spent, budget.limit.currency);
    callOptions.signal?.throwIfAborted();
    const now = clock();
    const counter = existing(budget, now) ?? create(budget, now);
    counter.spent = spent.amount;
    return stateOf(budget, counter, now);
  }

  return { reserve, settle, remaining, snapshot, setSpent, stats: () => ({ ...stats }), size: () => counters.size };
}
