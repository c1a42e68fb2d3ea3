// One suite for every BudgetStore: memory-budget-store.test.ts and redis-budget-store.test.ts run it, so the two
// stores must agree to the unit. Each test builds its own store (the Redis factory gives each its own key prefix)
// on a clock the test moves by hand.
import { expect, it } from 'vitest';
import { isCostError } from '../cost-error.ts';
import { money, sumMoney, type Money } from '../money.ts';
import { isBudgetExceededError, type BudgetExceededError } from './budget-errors.ts';
import { MAX_BUDGET_UNITS, type Budget, type BudgetReservation, type BudgetStore } from './budget.ts';

/** A new, empty store on the given clock (ms since the epoch). */
export type BudgetStoreFactory = (now: () => number) => BudgetStore;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const usd = (value: string): Money => money(value, 'USD');
const units = (amount: bigint): Money => ({ amount, currency: 'USD' });
const time = (iso: string): number => Date.parse(iso);

/** The rejection of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected a rejection'),
    (error: unknown) => error,
  );
}

async function exceeded(promise: Promise<unknown>): Promise<BudgetExceededError> {
  const error = await rejection(promise);
  if (!isBudgetExceededError(error)) throw error;
  return error;
}

async function costErrorKind(promise: Promise<unknown>): Promise<string> {
  const error = await rejection(promise);
  return isCostError(error) ? error.kind : `not a CostError: ${String(error)}`;
}

/** Deterministic pseudo-random integers in [0, bound), so a failure replays. */
function randomInts(seed: number): (bound: number) => number {
  let state = seed;
  return (bound) => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state % bound;
  };
}

/** Registers the shared store tests in the current `describe`. */
export function budgetStoreSuite(createStore: BudgetStoreFactory): void {
  function setup(startIso = '2026-12-03T10:00:00.000Z'): {
    store: BudgetStore;
    advance: (ms: number) => void;
    spentOf: (budget: Budget) => Promise<Money>;
  } {
    let clock = time(startIso);
    const store = createStore(() => clock);
    return {
      store,
      advance: (ms) => {
        clock += ms;
      },
      spentOf: async (budget) => (await store.remaining(budget)).spent,
    };
  }

  it('reserves within the limit, then refuses with the budget, what remains and when it resets', async () => {
    const { store } = setup();
    const daily: Budget = { scope: 'key:a', limit: usd('1'), period: 'day' };

    const first = await store.reserve([daily], usd('0.4'));
    expect(first).toMatchObject({ amount: usd('0.4'), degraded: false, reservedAt: time('2026-12-03T10:00:00Z') });
    expect(first.expiresAt).toBe(first.reservedAt + 10 * MINUTE);
    expect(first.states).toEqual([
      {
        scope: 'key:a',
        period: 'day',
        limit: usd('1'),
        spent: usd('0'),
        reserved: usd('0.4'),
        remaining: usd('0.6'),
        periodStart: time('2026-12-03T00:00:00Z'),
        resetsAt: time('2026-12-04T00:00:00Z'),
      },
    ]);
    expect((await store.reserve([daily], usd('0.6'))).states[0]?.remaining).toEqual(usd('0'));

    const error = await exceeded(store.reserve([daily], usd('0.000000000001')));
    expect(error).toMatchObject({
      kind: 'budget_exceeded',
      status: 402,
      retryable: false,
      scope: 'key:a',
      period: 'day',
      limit: usd('1'),
      remaining: usd('0'),
      requested: usd('0.000000000001'),
      resetsAt: time('2026-12-04T00:00:00Z'),
    });
    expect(error.message).toBe(
      'budget of 1 USD per day for key:a exceeded: 0 USD left, 0.000000000001 USD needed; it resets at 2026-12-04T00:00:00.000Z',
    );
    expect(store.stats()).toMatchObject({ reserved: 2, refused: 1 });
  });

  it('is all or nothing across budgets, and names the refusing budget that resets last', async () => {
    const { store } = setup();
    const key: Budget = { scope: 'key:a', limit: usd('10'), period: 'month' };
    const global: Budget = { scope: 'global', limit: usd('1'), period: 'day' };

    const error = await exceeded(store.reserve([key, global], usd('2')));
    expect(error).toMatchObject({ scope: 'global', remaining: usd('1'), resetsAt: time('2026-12-04T00:00:00Z') });
    expect(error.budgets.map((state) => [state.scope, state.reserved])).toEqual([
      ['key:a', usd('0')],
      ['global', usd('0')],
    ]);
    // Nothing was held on the budget that had room.
    expect((await store.snapshot([key, global])).map((state) => state.reserved)).toEqual([usd('0'), usd('0')]);

    const ok = await store.reserve([key, global], usd('1'));
    expect(ok.states.map((state) => state.remaining)).toEqual([usd('9'), usd('0')]);

    // Both refuse now: the month budget resets later than the day budget, and a total budget never does.
    const tight: Budget = { scope: 'key:a', limit: usd('1'), period: 'month' };
    expect(await exceeded(store.reserve([global, tight], usd('1')))).toMatchObject({
      scope: 'key:a',
      period: 'month',
      resetsAt: time('2027-01-01T00:00:00Z'),
    });
    const lifetime: Budget = { scope: 'key:b', limit: usd('0'), period: 'total' };
    expect(await exceeded(store.reserve([global, lifetime, tight], usd('1')))).toMatchObject({
      scope: 'key:b',
      resetsAt: undefined,
    });
  });

  it('settles at the actual cost, less or more than reserved, and the next reservations see it', async () => {
    const { store, spentOf } = setup();
    const budget: Budget = { scope: 'key:a', limit: usd('1'), period: 'month' };

    // A request cancelled early: reserved its worst case, settles what was produced.
    const cancelled = await store.reserve([budget], usd('0.5'));
    expect(await store.settle(cancelled, usd('0.013'))).toBe('settled');
    expect(await store.remaining(budget)).toMatchObject({
      spent: usd('0.013'),
      reserved: usd('0'),
      remaining: usd('0.987'),
    });

    // An estimate that was too low: the overrun is spent all the same.
    const low = await store.reserve([budget], usd('0.5'));
    expect(await store.settle(low, usd('0.9'))).toBe('settled');
    expect(await spentOf(budget)).toEqual(usd('0.913'));
    await exceeded(store.reserve([budget], usd('0.1')));
    await store.reserve([budget], usd('0.087'));

    const over = await store.settle(await store.reserve([{ ...budget, scope: 'key:b' }], usd('1')), usd('1.5'));
    expect(over).toBe('settled');
    expect((await store.remaining({ ...budget, scope: 'key:b' })).remaining).toEqual(usd('-0.5'));
    expect(store.stats()).toMatchObject({ settled: 3, settledLate: 0 });
  });

  it('settles a reservation once: a second settle changes nothing', async () => {
    const { store, spentOf } = setup();
    const budgets: Budget[] = [
      { scope: 'key:a', limit: usd('1'), period: 'day' },
      { scope: 'global', limit: usd('5'), period: 'total' },
    ];
    const reservation = await store.reserve(budgets, usd('0.5'));
    expect(await store.settle(reservation, usd('0.25'))).toBe('settled');
    expect(await store.settle(reservation, usd('0.25'))).toBe('already_settled');
    expect(await store.settle({ ...reservation }, usd('0.4'))).toBe('already_settled');
    expect(await spentOf(budgets[0] as Budget)).toEqual(usd('0.25'));
    expect(await spentOf(budgets[1] as Budget)).toEqual(usd('0.25'));
    expect(store.stats()).toMatchObject({ settled: 1 });
  });

  it('stops counting an unsettled reservation exactly at its TTL; a late settle still records the spend', async () => {
    const { store, advance } = setup();
    const budget: Budget = { scope: 'key:a', limit: usd('1'), period: 'total' };
    const crashed = await store.reserve([budget], usd('1'));

    advance(10 * MINUTE - 1);
    await exceeded(store.reserve([budget], usd('0.1')));
    expect((await store.remaining(budget)).reserved).toEqual(usd('1'));
    advance(1);
    expect((await store.remaining(budget)).reserved).toEqual(usd('0'));
    await store.reserve([budget], usd('0.1'));

    expect(await store.settle(crashed, usd('0.3'))).toBe('settled_late');
    expect(await store.settle(crashed, usd('0.3'))).toBe('already_settled');
    expect(await store.remaining(budget)).toMatchObject({ spent: usd('0.3'), reserved: usd('0.1') });
    expect(store.stats()).toMatchObject({ settled: 0, settledLate: 1 });
  });

  it('expires reservations with different TTLs each at its own deadline', async () => {
    const { store, advance } = setup();
    const budget: Budget = { scope: 'key:a', limit: usd('100'), period: 'day' };
    await store.reserve([budget], usd('1'), { ttlMs: 60_000 });
    await store.reserve([budget], usd('2'), { ttlMs: 10_000 });
    await store.reserve([budget], usd('4'), { ttlMs: 30_000 });
    await store.reserve([budget], usd('8'), { ttlMs: 30_000 });
    const reserved = async () => (await store.remaining(budget)).reserved;

    expect(await reserved()).toEqual(usd('15'));
    advance(10_000);
    expect(await reserved()).toEqual(usd('13'));
    advance(19_999);
    expect(await reserved()).toEqual(usd('13'));
    advance(1);
    expect(await reserved()).toEqual(usd('1'));
    advance(30_000);
    expect(await reserved()).toEqual(usd('0'));
  });

  it('forgets a lapsed reservation 24 hours after it expired: settling it then records nothing', async () => {
    const { store, advance, spentOf } = setup();
    const budget: Budget = { scope: 'key:a', limit: usd('1'), period: 'total' };
    const early = await store.reserve([budget], usd('0.5'), { ttlMs: 1000 });
    const late = await store.reserve([budget], usd('0.5'), { ttlMs: 1000 });

    advance(1000 + 24 * HOUR - 1);
    expect(await store.settle(early, usd('0.2'))).toBe('settled_late');
    advance(1);
    expect(await store.settle(late, usd('0.2'))).toBe('already_settled');
    expect(await spentOf(budget)).toEqual(usd('0.2'));
  });

  it('starts a day budget from zero at UTC midnight, a month budget on the 1st, and never a total budget', async () => {
    // 5 s before midnight: a Redis store lets the period's counters expire at its end, by Redis's own clock, so the
    // first snapshot must come before that real time has passed.
    const { store, advance } = setup('2028-02-29T23:59:55.000Z');
    const budgets: Budget[] = [
      { scope: 'key:a', limit: usd('1'), period: 'day' },
      { scope: 'key:a', limit: usd('10'), period: 'month' },
      { scope: 'key:a', limit: usd('100'), period: 'total' },
    ];
    await store.settle(await store.reserve(budgets, usd('0.5')), usd('0.5'));
    expect(await store.snapshot(budgets)).toEqual([
      expect.objectContaining({
        spent: usd('0.5'),
        periodStart: time('2028-02-29T00:00:00Z'),
        resetsAt: time('2028-03-01T00:00:00Z'),
      }),
      expect.objectContaining({
        spent: usd('0.5'),
        periodStart: time('2028-02-01T00:00:00Z'),
        resetsAt: time('2028-03-01T00:00:00Z'),
      }),
      expect.objectContaining({ spent: usd('0.5'), periodStart: undefined, resetsAt: undefined }),
    ]);

    advance(5000);
    expect(await store.snapshot(budgets)).toEqual([
      expect.objectContaining({
        spent: usd('0'),
        remaining: usd('1'),
        periodStart: time('2028-03-01T00:00:00Z'),
        resetsAt: time('2028-03-02T00:00:00Z'),
      }),
      expect.objectContaining({
        spent: usd('0'),
        remaining: usd('10'),
        periodStart: time('2028-03-01T00:00:00Z'),
        resetsAt: time('2028-04-01T00:00:00Z'),
      }),
      expect.objectContaining({ spent: usd('0.5'), remaining: usd('99.5') }),
    ]);

    // The last month of a year resets into January of the next.
    advance(time('2028-12-31T23:00:00Z') - time('2028-03-01T00:00:00Z'));
    expect((await store.remaining(budgets[1] as Budget)).resetsAt).toBe(time('2029-01-01T00:00:00Z'));
  });

  it('keeps a reservation made before midnight counting after it, and spends its cost in the day it settles', async () => {
    const { store, advance } = setup('2026-12-03T23:59:00.000Z');
    const budget: Budget = { scope: 'key:a', limit: usd('1'), period: 'day' };
    await store.settle(await store.reserve([budget], usd('0.1')), usd('0.1'));
    const running = await store.reserve([budget], usd('0.8'));

    advance(90_000); // 00:00:30 the next day
    expect(await store.remaining(budget)).toMatchObject({
      spent: usd('0'),
      reserved: usd('0.8'),
      remaining: usd('0.2'),
      periodStart: time('2026-12-04T00:00:00Z'),
    });
    await exceeded(store.reserve([budget], usd('0.3')));
    expect(await store.settle(running, usd('0.5'))).toBe('settled');
    expect(await store.remaining(budget)).toMatchObject({ spent: usd('0.5'), reserved: usd('0') });
  });

  it('reports a budget never used as whole, and keeps the spend when its limit changes', async () => {
    const { store } = setup();
    const budget: Budget = { scope: 'key:new', limit: usd('10'), period: 'month' };
    expect(await store.remaining(budget)).toEqual({
      scope: 'key:new',
      period: 'month',
      limit: usd('10'),
      spent: usd('0'),
      reserved: usd('0'),
      remaining: usd('10'),
      periodStart: time('2026-12-01T00:00:00Z'),
      resetsAt: time('2027-01-01T00:00:00Z'),
    });
    await store.settle(await store.reserve([budget], usd('3')), usd('3'));

    const lowered: Budget = { ...budget, limit: usd('2') };
    expect((await store.remaining(lowered)).remaining).toEqual(usd('-1'));
    // Over its limit, even a reservation of nothing is refused.
    expect(await exceeded(store.reserve([lowered], usd('0')))).toMatchObject({ remaining: usd('-1') });
    expect((await store.remaining({ ...budget, limit: usd('5') })).remaining).toEqual(usd('2'));
  });

  it('sets the spend of the current period, keeping the reservations', async () => {
    const { store } = setup();
    const budget: Budget = { scope: 'key:a', limit: usd('1'), period: 'day' };
    const reservation = await store.reserve([budget], usd('0.3'));
    expect(await store.setSpent(budget, usd('0.5'))).toMatchObject({
      spent: usd('0.5'),
      reserved: usd('0.3'),
      remaining: usd('0.2'),
    });
    await exceeded(store.reserve([budget], usd('0.3')));
    await store.settle(reservation, usd('0.1'));
    expect(await store.remaining(budget)).toMatchObject({ spent: usd('0.6'), reserved: usd('0') });
    expect(await store.setSpent(budget, usd('0'))).toMatchObject({ spent: usd('0'), remaining: usd('1') });
  });

  it('keeps one counter per currency, and refuses amounts in another currency than the budget', async () => {
    const { store } = setup();
    const dollars: Budget = { scope: 'key:a', limit: usd('1'), period: 'day' };
    const yuan: Budget = { scope: 'key:a', limit: money('7', 'CNY'), period: 'day' };
    const reservation = await store.reserve([dollars], usd('1'));
    expect((await store.remaining(yuan)).reserved).toEqual(money('0', 'CNY'));
    await store.reserve([yuan], money('7', 'CNY'));

    expect(await costErrorKind(store.reserve([dollars], money('0.1', 'CNY')))).toBe('currency_mismatch');
    expect(await costErrorKind(store.reserve([dollars, yuan], usd('0')))).toBe('currency_mismatch');
    expect(await costErrorKind(store.settle(reservation, money('1', 'CNY')))).toBe('currency_mismatch');
    expect(await costErrorKind(store.setSpent(dollars, money('1', 'CNY')))).toBe('currency_mismatch');
  });

  it('compares and adds exactly above 2^53 units, and holds the spend at the ceiling', async () => {
    const { store, spentOf } = setup();
    // 50 000.000000000001 USD: 5 * 10^16 + 1 units, where a double cannot tell 1 unit apart.
    const budget: Budget = { scope: 'key:big', limit: units(50_000_000_000_000_001n), period: 'month' };
    await store.setSpent(budget, units(49_999_999_999_999_999n));
    await exceeded(store.reserve([budget], units(3n)));
    const fits = await store.reserve([budget], units(2n));
    expect(fits.states[0]?.remaining).toEqual(units(0n));
    await exceeded(store.reserve([budget], units(1n)));
    await store.settle(fits, units(1n));
    expect(await spentOf(budget)).toEqual(units(50_000_000_000_000_000n));
    await store.reserve([budget], units(1n));

    const full: Budget = { scope: 'key:full', limit: units(MAX_BUDGET_UNITS), period: 'total' };
    await store.setSpent(full, units(MAX_BUDGET_UNITS - 5n));
    const last = await store.reserve([full], units(5n));
    expect(last.states[0]?.remaining).toEqual(units(0n));
    await store.settle(last, units(MAX_BUDGET_UNITS));
    expect(await spentOf(full)).toEqual(units(MAX_BUDGET_UNITS));
  });

  it('refuses misuse with a CostError and reserves nothing', async () => {
    const { store } = setup();
    const budget: Budget = { scope: 'key:a', limit: usd('1'), period: 'day' };
    const cases: [string, () => Promise<unknown>][] = [
      ['unknown period', () => store.reserve([{ ...budget, period: 'week' as 'day' }], usd('0.1'))],
      ['empty scope', () => store.reserve([{ ...budget, scope: '' }], usd('0.1'))],
      ['scope too long', () => store.reserve([{ ...budget, scope: 'k'.repeat(513) }], usd('0.1'))],
      ['negative amount', () => store.reserve([budget], usd('-0.1'))],
      ['amount as a number', () => store.reserve([budget], { amount: 1 as unknown as bigint, currency: 'USD' })],
      ['limit above the ceiling', () => store.reserve([{ ...budget, limit: units(MAX_BUDGET_UNITS + 1n) }], usd('0'))],
      ['amount above the ceiling', () => store.reserve([budget], units(MAX_BUDGET_UNITS + 1n))],
      ['the same budget twice', () => store.reserve([budget, { ...budget, limit: usd('2') }], usd('0.1'))],
      ['ttl of zero', () => store.reserve([budget], usd('0.1'), { ttlMs: 0 })],
      ['fractional ttl', () => store.reserve([budget], usd('0.1'), { ttlMs: 1.5 })],
      ['negative spend', () => store.setSpent(budget, usd('-1'))],
      ['snapshot of a bad budget', () => store.snapshot([{ ...budget, scope: '' }])],
    ];
    for (const [name, call] of cases) expect(await costErrorKind(call()), name).toBe('invalid_budget');
    expect((await store.remaining(budget)).reserved).toEqual(usd('0'));
    expect(store.stats()).toMatchObject({ reserved: 0, refused: 0 });
  });

  it('reserves nothing for an empty list of budgets, and succeeds', async () => {
    const { store } = setup();
    await expect(store.reserve([], usd('-1'))).rejects.toMatchObject({ kind: 'invalid_budget' });
    const reservation = await store.reserve([], usd('1'));
    expect(reservation).toMatchObject({ budgets: [], states: [], degraded: false });
    expect(await store.settle(reservation, usd('1'))).toBe('already_settled');
    expect(await store.snapshot([])).toEqual([]);
  });

  it('rejects with the abort reason when the signal is already aborted, and reserves nothing', async () => {
    const { store } = setup();
    const budget: Budget = { scope: 'key:a', limit: usd('1'), period: 'day' };
    const reason = new Error('client left');
    const signal = AbortSignal.abort(reason);
    expect(await rejection(store.reserve([budget], usd('0.5'), { signal }))).toBe(reason);
    const reservation = await store.reserve([budget], usd('0.5'));
    expect(await rejection(store.settle(reservation, usd('0.5'), { signal }))).toBe(reason);
    expect(await rejection(store.remaining(budget, { signal }))).toBe(reason);
    expect(await rejection(store.setSpent(budget, usd('0'), { signal }))).toBe(reason);
    // The aborted settle did not count: settling again does.
    expect(await store.settle(reservation, usd('0.5'))).toBe('settled');
  });

  it('never lets more through than the budget: of 5N reservations offered at once exactly N are held', async () => {
    const { store, spentOf } = setup();
    const n = 40;
    // An amount with all twelve decimals used, and a limit of exactly N of them above 2^53 units.
    const amount = usd('1234.567890123457');
    const budget: Budget = { scope: 'key:race', limit: units(amount.amount * BigInt(n)), period: 'month' };
    const outcomes = await Promise.allSettled(Array.from({ length: 5 * n }, () => store.reserve([budget], amount)));
    const held = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    expect(held).toHaveLength(n);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(isBudgetExceededError(outcome.reason)).toBe(true);
    }

    const random = randomInts(7);
    const actuals = held.map(() => units(BigInt(random(1_000_000_000)) * 1_234_567n));
    await Promise.all(held.map((reservation, index) => store.settle(reservation, actuals[index] as Money)));
    const spent = await spentOf(budget);
    expect(spent).toEqual(sumMoney(actuals, 'USD'));
    expect(spent.amount <= budget.limit.amount).toBe(true);
  });

  it('keeps the sum of settled costs equal to the spend while reservations and settles interleave', async () => {
    const { store, spentOf } = setup();
    const budget: Budget = { scope: 'key:churn', limit: usd('10'), period: 'day' };
    const random = randomInts(11);
    const settled: Money[] = [];
    const requests = Array.from({ length: 200 }, async () => {
      let reservation: BudgetReservation;
      try {
        reservation = await store.reserve([budget], usd('0.5'));
      } catch (error) {
        if (isBudgetExceededError(error)) return;
        throw error;
      }
      const actual = units(BigInt(random(500_000_000_001)));
      settled.push(actual);
      await store.settle(reservation, actual);
    });
    await Promise.all(requests);
    const spent = await spentOf(budget);
    expect(spent).toEqual(sumMoney(settled, 'USD'));
    expect(spent.amount <= budget.limit.amount).toBe(true);
    expect(settled.length).toBeGreaterThanOrEqual(20);
  });
}
