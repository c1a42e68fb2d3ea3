// UTC calendar periods of a budget. The Redis store computes the same bounds in Lua (redis-budget-scripts.ts);
// redis-budget-store.test.ts holds the two to agreeing on thousands of instants, month ends and leap days included.

/**
 * How long a budget's spend accumulates before it starts again from zero: a UTC calendar day, a UTC calendar month,
 * or never (`'total'`).
 *
 * @example
 * ```ts
 * const period: BudgetPeriod = 'month';
 * ```
 */
export type BudgetPeriod = 'day' | 'month' | 'total';

const DAY_MS = 86_400_000;

/** The start (ms since the epoch) of the period that contains `now`; 0 for `'total'`. */
export function periodStartOf(period: BudgetPeriod, now: number): number {
  switch (period) {
    case 'total':
      return 0;
    case 'day':
      return Math.floor(now / DAY_MS) * DAY_MS;
    case 'month': {
      const date = new Date(now);
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
    }
  }
}

/** The end (exclusive, ms) of the period that starts at `start`: when it resets. Undefined for `'total'`. */
export function periodEndOf(period: BudgetPeriod, start: number): number | undefined {
  switch (period) {
    case 'total':
      return undefined;
    case 'day':
      return start + DAY_MS;
    case 'month': {
      const date = new Date(start);
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1); // Date.UTC carries month 12 into January
    }
  }
}
