import { describe, expect, it } from 'vitest';
import { money } from '../money.ts';
import type { Budget } from './budget.ts';
import { createMemoryBudgetStore } from './memory-budget-store.ts';
import { budgetStoreSuite } from './test-budget-store-suite.ts';

describe('createMemoryBudgetStore: the shared store suite', () => {
  budgetStoreSuite((now) => createMemoryBudgetStore({ now }));
});

describe('createMemoryBudgetStore', () => {
  it('uses its reservationTtlMs as the default TTL', async () => {
    let clock = Date.parse('2026-12-03T10:00:00Z');
    const store = createMemoryBudgetStore({ now: () => clock, reservationTtlMs: 5000 });
    const budget: Budget = { scope: 'key:a', limit: money('1', 'USD'), period: 'day' };
    const reservation = await store.reserve([budget], money('1', 'USD'));
    expect(reservation.expiresAt - reservation.reservedAt).toBe(5000);
    clock += 5000;
    expect((await store.remaining(budget)).reserved).toEqual(money('0', 'USD'));
  });

  it('gives every reservation an id of its own, and another store other ids', async () => {
    const store = createMemoryBudgetStore();
    const other = createMemoryBudgetStore();
    const budget: Budget = { scope: 'key:ids', limit: money('1', 'USD'), period: 'total' };
    const ids = new Set<string>();
    for (let index = 0; index < 500; index += 1) {
      ids.add((await store.reserve([budget], money('0.001', 'USD'))).id);
    }
    expect(ids.size).toBe(500);
    // A reservation of one store is not another's: settling it there finds nothing.
    const foreign = await other.reserve([budget], money('0.001', 'USD'));
    expect(ids.has(foreign.id)).toBe(false);
    expect(await store.settle(foreign, money('0.001', 'USD'))).toBe('already_settled');
    expect((await store.remaining(budget)).reserved).toEqual(money('0.5', 'USD'));
  });

  it('refuses a default TTL that is not a positive integer', () => {
    expect(() => createMemoryBudgetStore({ reservationTtlMs: -1 })).toThrow('ttlMs must be an integer > 0');
  });

  it('forgets the counters of idle scopes once their period is over, and keeps what they must', async () => {
    let clock = Date.parse('2026-12-03T10:00:00Z');
    const store = createMemoryBudgetStore({ now: () => clock });
    const day = (scope: string): Budget => ({ scope, limit: money('1', 'USD'), period: 'day' });
    for (let index = 0; index < 1000; index += 1) {
      await store.settle(await store.reserve([day(`user:${index}`)], money('0.1', 'USD')), money('0.1', 'USD'));
    }
    const lifetime: Budget = { scope: 'user:0', limit: money('1', 'USD'), period: 'total' };
    await store.setSpent(lifetime, money('0.4', 'USD'));
    const pending = await store.reserve([day('user:pending')], money('0.5', 'USD'), { ttlMs: 48 * 3_600_000 });

    expect(store.size()).toBe(1002);

    // The next day, reservations look at two counters each on average: 600 of them visit every one.
    clock += 86_400_000;
    for (let index = 0; index < 600; index += 1) {
      await store.settle(await store.reserve([day('user:busy')], money('0', 'USD')), money('0', 'USD'));
    }
    // Left: the total with spend, the day with a pending reservation, and today's busy counter (spent nothing, so
    // forgotten too when the cursor passes it, and made again by the next reservation).
    expect(store.size()).toBeLessThanOrEqual(3);
    expect(store.size()).toBeGreaterThanOrEqual(2);
    // What must stay stayed: the total's spend and the pending reservation (now in a new day, still counted).
    expect((await store.remaining(lifetime)).spent).toEqual(money('0.4', 'USD'));
    expect((await store.remaining(day('user:pending'))).reserved).toEqual(money('0.5', 'USD'));
    expect(await store.settle(pending, money('0.2', 'USD'))).toBe('settled');
  });
});
