// One suite for every RateLimitStore: memory-store.test.ts and redis-store.test.ts run it, so the two stores
// must agree number for number. Each test builds its own store (the Redis factory gives each its own prefix)
// on a clock the test moves by hand.
import { expect, it } from 'vitest';
import type { RateLimit, RateLimitAmounts, RateLimitStore, StoreTakeResult } from './rate-limit.ts';

/** A store on the given clock (ms); a new, empty one on each call. */
export type StoreFactory = (now: () => number) => RateLimitStore;

const MINUTE = 60_000;
// A whole minute of the epoch, so fixed windows start exactly at T0.
const T0 = 28_333_334 * MINUTE;

function requests(scope: string, limit: number, extra: Partial<RateLimit> = {}): RateLimit {
  return { scope, unit: 'requests', limit, ...extra };
}

function tokens(scope: string, limit: number, extra: Partial<RateLimit> = {}): RateLimit {
  return { scope, unit: 'tokens', limit, ...extra };
}

/** Registers the shared store tests in the current `describe`. */
export function storeSuite(createStore: StoreFactory): void {
  function setup(): {
    store: RateLimitStore;
    advance: (ms: number) => void;
    take: (limits: RateLimit[], amounts?: Partial<RateLimitAmounts>) => Promise<StoreTakeResult>;
    takeMany: (count: number, limits: RateLimit[], amounts?: Partial<RateLimitAmounts>) => Promise<boolean[]>;
  } {
    let clock = T0;
    const store = createStore(() => clock);
    const take = async (limits: RateLimit[], amounts: Partial<RateLimitAmounts> = {}) =>
      store.take(limits, { requests: amounts.requests ?? 1, tokens: amounts.tokens ?? 0 });
    return {
      store,
      advance: (ms) => {
        clock += ms;
      },
      take,
      takeMany: async (count, limits, amounts) => {
        const allowed: boolean[] = [];
        for (let index = 0; index < count; index += 1) allowed.push((await take(limits, amounts)).allowed);
        return allowed;
      },
    };
  }

  it('gcra: N per minute lets N through at once, then refuses, and says when one more fits', async () => {
    const { take, takeMany, advance } = setup();
    const limit = [requests('user:1', 10)];

    expect(await takeMany(9, limit)).toEqual(Array.from({ length: 9 }, () => true));
    const tenth = await take(limit);
    expect(tenth).toMatchObject({ allowed: true, refusedIndex: -1, retryAfterMs: 0 });
    expect(tenth.states).toEqual([{ scope: 'user:1', unit: 'requests', limit: 10, remaining: 0, resetMs: 60_000 }]);

    const refused = await take(limit);
    expect(refused).toMatchObject({ allowed: false, refusedIndex: 0, retryAfterMs: 6000 });
    expect(refused.states[0]).toMatchObject({ remaining: 0, resetMs: 60_000 });

    // Capacity returns one request every 6 s, not all at once at the end of the minute.
    advance(5999);
    expect((await take(limit)).allowed).toBe(false);
    advance(1);
    const one = await take(limit);
    expect(one.allowed).toBe(true);
    expect(one.states[0]).toMatchObject({ remaining: 0, resetMs: 60_000 });
    expect((await take(limit)).allowed).toBe(false);

    advance(60_000);
    expect(await takeMany(11, limit)).toEqual([...Array.from({ length: 10 }, () => true), false]);
  });

  it('gcra: never refuses while fewer than N were let through in the last minute', async () => {
    const { take, advance } = setup();
    const limit = [requests('user:1', 5)];
    const passed: number[] = [];
    let clock = 0;
    // A fixed pseudo-random sequence of gaps (0 to 20 s), dense enough to hit the limit often.
    let seed = 7;
    for (let step = 0; step < 300; step += 1) {
      seed = (seed * 48_271) % 2_147_483_647;
      const gap = seed % 3 === 0 ? 0 : seed % 20_000;
      advance(gap);
      clock += gap;
      const inLastMinute = passed.filter((at) => at > clock - MINUTE).length;
      const result = await take(limit);
      if (inLastMinute < 5) expect(result.allowed, `at ${clock} ms with ${inLastMinute} in the last minute`).toBe(true);
      if (result.allowed) passed.push(clock);
    }
    // The limit was reached and refused many times, so the check above meant something.
    expect(passed.length).toBeLessThan(300);
  });

  it('gcra: a limit that does not divide the minute still lets exactly N through at once', async () => {
    const { takeMany } = setup();
    expect(await takeMany(8, [requests('user:1', 7)])).toEqual([...Array.from({ length: 7 }, () => true), false]);
    expect(await takeMany(4, [tokens('user:1', 3, { windowMs: 1000 })], { tokens: 1 })).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });

  it('gcra: counts single tokens of a limit of a billion per minute', async () => {
    // A billion per minute drains 16 666.67 tokens per ms: an arrival time kept in epoch ms could not tell one
    // token from none, the units kept here can.
    const { take, advance } = setup();
    const limit = [tokens('key:1', 1_000_000_000)];
    expect((await take(limit, { tokens: 1_000_000_000 })).allowed).toBe(true);
    advance(1);
    expect((await take(limit, { tokens: 16_666 })).allowed).toBe(true);
    const refused = await take(limit, { tokens: 1 });
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: 1 });
    expect(refused.states[0]?.remaining).toBe(0);
  });

  it('checks several limits all or nothing: a refused take debits none of them', async () => {
    const { take, takeMany } = setup();
    const key = requests('{key:1}', 5);
    const keyModel = requests('{key:1}:model:m', 2);
    const keyTokens = tokens('{key:1}', 1000);

    expect(await takeMany(2, [key, keyModel, keyTokens], { tokens: 100 })).toEqual([true, true]);
    const refused = await take([key, keyModel, keyTokens], { tokens: 100 });
    expect(refused).toMatchObject({ allowed: false, refusedIndex: 1, retryAfterMs: 30_000 });
    // The states show the other limits untouched by the refusal: 3 requests and 800 tokens left.
    expect(refused.states.map((state) => state.remaining)).toEqual([3, 0, 800]);

    expect(await takeMany(4, [key, keyTokens], { tokens: 100 })).toEqual([true, true, true, false]);
  });

  it('refuses on the limit with the longest wait, and reports it', async () => {
    const { take, takeMany } = setup();
    const fast = requests('a', 60); // one per second back
    const slow = requests('b', 2); // one per 30 s back
    expect(await takeMany(2, [fast, slow])).toEqual([true, true]);
    expect(await take([fast, slow])).toMatchObject({ allowed: false, refusedIndex: 1, retryAfterMs: 30_000 });
  });

  it('keeps counters apart by scope, unit, algorithm and window', async () => {
    const { takeMany } = setup();
    expect(await takeMany(2, [requests('a', 1)])).toEqual([true, false]);
    expect(await takeMany(1, [requests('b', 1)])).toEqual([true]);
    expect(await takeMany(1, [tokens('a', 1)], { tokens: 1 })).toEqual([true]);
    expect(await takeMany(1, [requests('a', 1, { windowMs: 1000 })])).toEqual([true]);
    expect(await takeMany(1, [requests('a', 1, { algorithm: 'fixed-window' })])).toEqual([true]);
    // `a` and `{a}` are two scopes in every store.
    expect(await takeMany(1, [requests('{a}', 1)])).toEqual([true]);
  });

  it('tokens: the estimate is debited, then a refund or an extra debit corrects it', async () => {
    const { store, take, advance } = setup();
    const limit = [tokens('key:1', 1000)];

    const first = await take(limit, { tokens: 800 });
    expect(first.states[0]).toMatchObject({ remaining: 200, resetMs: 48_000 });
    expect((await take(limit, { tokens: 800 })).allowed).toBe(false);

    // The call used 200 tokens, not 800: 600 come back.
    await store.adjust(limit, -600, first.at);
    const second = await take(limit, { tokens: 800 });
    expect(second.allowed).toBe(true);
    expect(second.states[0]?.remaining).toBe(0);

    // That one used 1500: 700 more, into debt. Even a take of 0 tokens waits until the debt is repaid.
    await store.adjust(limit, 700, second.at);
    const inDebt = await take(limit, { tokens: 0 });
    expect(inDebt).toMatchObject({ allowed: false, retryAfterMs: 42_000 });
    expect(inDebt.states[0]).toMatchObject({ remaining: 0, resetMs: 102_000 });
    advance(42_000);
    expect((await take(limit, { tokens: 0 })).allowed).toBe(true);
    expect((await take(limit, { tokens: 1 })).allowed).toBe(false);
  });

  it('a refund never makes a limit more than whole', async () => {
    const { store, take, takeMany } = setup();
    const limit = [tokens('key:1', 100)];
    const first = await take(limit, { tokens: 10 });
    await store.adjust(limit, -1000, first.at);
    expect(await takeMany(2, limit, { tokens: 100 })).toEqual([true, false]);
  });

  it('an amount larger than the whole limit is refused with an infinite wait, even when the limit is whole', async () => {
    const { take } = setup();
    expect(await take([tokens('key:1', 1000)], { tokens: 1001 })).toMatchObject({
      allowed: false,
      refusedIndex: 0,
      retryAfterMs: Infinity,
    });
    expect(await take([tokens('key:1', 1000, { algorithm: 'fixed-window' })], { tokens: 1001 })).toMatchObject({
      allowed: false,
      retryAfterMs: Infinity,
    });
    expect((await take([tokens('key:1', 1000)], { tokens: 1000 })).allowed).toBe(true);
  });

  it('fixed-window: counts per calendar window and starts from zero when it ends', async () => {
    const { take, takeMany, advance } = setup();
    const limit = [requests('key:1', 3, { algorithm: 'fixed-window' })];

    advance(59_000);
    expect(await takeMany(2, limit)).toEqual([true, true]);
    const third = await take(limit);
    expect(third.states[0]).toEqual({ scope: 'key:1', unit: 'requests', limit: 3, remaining: 0, resetMs: 1000 });
    expect(await take(limit)).toMatchObject({ allowed: false, retryAfterMs: 1000 });

    advance(1000);
    const next = await take(limit);
    expect(next.allowed).toBe(true);
    expect(next.states[0]).toMatchObject({ remaining: 2, resetMs: 60_000 });
  });

  it('fixed-window: a day is a UTC day', async () => {
    const { take, takeMany, advance } = setup();
    const perDay = [requests('key:1', 2, { algorithm: 'fixed-window', windowMs: 86_400_000 })];
    const untilMidnight = 86_400_000 - (T0 % 86_400_000);
    expect((await take(perDay)).states[0]?.resetMs).toBe(untilMidnight);
    expect(await takeMany(2, perDay)).toEqual([true, false]);
    advance(untilMidnight);
    expect(await takeMany(1, perDay)).toEqual([true]);
  });

  it('fixed-window: a correction applies to the window of its take, and is dropped once that window ended', async () => {
    const { store, take, takeMany, advance } = setup();
    const limit = [tokens('key:1', 1000, { algorithm: 'fixed-window' })];
    const first = await take(limit, { tokens: 900 });
    await store.adjust(limit, -800, first.at);
    expect((await take(limit, { tokens: 900 })).states[0]?.remaining).toBe(0);

    advance(MINUTE);
    const late = await take(limit, { tokens: 500 });
    await store.adjust(limit, 10_000, first.at);
    expect(late.allowed).toBe(true);
    expect(await takeMany(2, limit, { tokens: 500 })).toEqual([true, false]);
  });

  it('a take of zero units passes without debiting', async () => {
    const { takeMany } = setup();
    const limit = [requests('key:1', 1)];
    expect(await takeMany(3, limit, { requests: 0 })).toEqual([true, true, true]);
    expect(await takeMany(2, limit)).toEqual([true, false]);
  });

  it('an empty list of limits is allowed', async () => {
    const { take } = setup();
    expect(await take([])).toMatchObject({ allowed: true, states: [], refusedIndex: -1 });
  });
}
