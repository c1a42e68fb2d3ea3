// One suite for every RateLimitStore: memory-store.test.ts and redis-store.test.ts run it, so the two stores
// must agree number for number. Each test builds its own store (the Redis factory gives each its own prefix)
// on a clock the test moves by hand.
import { expect, it } from 'vitest';
import type { RateLimit, RateLimitAlgorithm, RateLimitAmounts, RateLimitStore, StoreTakeResult } from './rate-limit.ts';

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

const gcra = { algorithm: 'gcra' } as const;

/** The algorithms whose outcome does not depend on the calendar: the tests that hold for both run for both. */
const ROLLING: readonly RateLimitAlgorithm[] = ['sliding-window', 'gcra'];

/** A fixed pseudo-random sequence (Park–Miller), so that a failure replays the same way. */
function sequence(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 48_271) % 2_147_483_647;
    return state;
  };
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

  it('sliding-window (the default): N per minute lets N through at once, then refuses until the oldest leave the window', async () => {
    const { take, takeMany, advance } = setup();
    const limit = [requests('user:1', 10)];

    expect(await takeMany(4, limit)).toEqual([true, true, true, true]);
    advance(20_000);
    expect(await takeMany(5, limit)).toEqual([true, true, true, true, true]);
    const tenth = await take(limit);
    expect(tenth).toMatchObject({ allowed: true, refusedIndex: -1, retryAfterMs: 0 });
    expect(tenth.states).toEqual([{ scope: 'user:1', unit: 'requests', limit: 10, remaining: 0, resetMs: 60_000 }]);

    // Nothing comes back until the four taken at the start leave the window, 60 s after them.
    const refused = await take(limit);
    expect(refused).toMatchObject({ allowed: false, refusedIndex: 0, retryAfterMs: 40_000 });
    expect(refused.states[0]).toMatchObject({ remaining: 0, resetMs: 60_000 });
    expect((await take([requests('user:1', 10, { algorithm: 'sliding-window' })])).allowed).toBe(false);
    advance(39_999);
    expect(await take(limit)).toMatchObject({ allowed: false, retryAfterMs: 1 });

    // Then all four at once; the next wait is for the six taken 20 s in.
    advance(1);
    expect(await takeMany(4, limit)).toEqual([true, true, true, true]);
    const fifth = await take(limit);
    expect(fifth).toMatchObject({ allowed: false, retryAfterMs: 20_000 });
    expect(fifth.states[0]).toMatchObject({ remaining: 0, resetMs: 60_000 });
    advance(20_000);
    expect(await takeMany(7, limit)).toEqual([...Array.from({ length: 6 }, () => true), false]);
  });

  it('sliding-window: under a steady stream, every rolling minute holds at most N, and none refuses below N', async () => {
    const { take, advance } = setup();
    const limit = [requests('key:1', 10)];
    const passed: number[] = [];
    let clock = 0;
    // Gaps of 0 to 3 s, a third of them 0 (bursts): about four times the limit, for ten minutes.
    const next = sequence(11);
    for (let step = 0; step < 400; step += 1) {
      const seed = next();
      const gap = seed % 3 === 0 ? 0 : seed % 3000;
      advance(gap);
      clock += gap;
      const inWindow = passed.filter((at) => at > clock - MINUTE);
      const result = await take(limit);
      const where = `at ${clock} ms with ${inWindow.length} in the last minute`;
      expect(result.allowed, where).toBe(inWindow.length < 10);
      if (result.allowed) {
        passed.push(clock);
        expect(result.states[0], where).toMatchObject({ remaining: 9 - inWindow.length, resetMs: MINUTE });
      } else {
        // The wait is until the oldest of the last minute leaves it.
        expect(result.retryAfterMs, where).toBe((inWindow[0] as number) + MINUTE - clock);
      }
    }
    // Every minute-long window that starts at a take holds at most 10, and the limit was reached often.
    const busiest = Math.max(
      ...passed.map((start) => passed.filter((at) => at >= start && at < start + MINUTE).length),
    );
    expect(busiest).toBe(10);
    expect(passed.length).toBeLessThan(300);
  });

  it('sliding-window: thousands of takes and corrections, on a clock that sometimes steps back, match a plain list', async () => {
    // The reference: a list of every take let through with what it cost in the end, dropped once it has left the
    // window (at or before now − 1 min); a take fits when the list's sum plus its cost is within the limit.
    const { store, take, advance } = setup();
    const limit = [tokens('key:1', 50_000)];
    // `at` on the test's clock, from 0; `takenAt` as the store answered it, for the correction.
    let list: { at: number; takenAt: number; cost: number }[] = [];
    let clock = 0;
    const next = sequence(13);
    for (let step = 0; step < 3000; step += 1) {
      const roll = next();
      // A busy spell (a third of the takes in the same ms as the one before), then a quiet one; now and then the
      // clock steps back by up to 2 s.
      const gap = roll % 50 === 0 ? -(roll % 2000) : roll % 3 === 0 ? 0 : roll % (step < 2000 ? 40 : 1500);
      advance(gap);
      clock += gap;
      list = list.filter((entry) => entry.at > clock - MINUTE);
      const used = list.reduce((sum, entry) => sum + entry.cost, 0);
      const where = `step ${step} at ${clock} ms with ${used} in the list`;

      const recent = list.slice(-30);
      const settled = recent[roll % 7 === 0 ? roll % recent.length : -1];
      if (settled !== undefined) {
        // The call used between nothing and twice its estimate.
        const actual = next() % (2 * settled.cost + 1);
        await store.adjust(limit, actual - settled.cost, settled.takenAt);
        settled.cost = actual;
        continue;
      }

      const cost = next() % 100;
      const result = await take(limit, { tokens: cost });
      expect(result.allowed, where).toBe(used + cost <= 50_000);
      if (result.allowed) list.push({ at: clock, takenAt: result.at, cost });
      const held = list.filter((entry) => entry.cost > 0).sort((a, b) => a.at - b.at);
      const newest = held.at(-1);
      expect(result.states[0], where).toMatchObject({
        remaining: Math.max(0, 50_000 - used - (result.allowed ? cost : 0)),
        resetMs: newest === undefined ? 0 : newest.at + MINUTE - clock,
      });
      if (!result.allowed) {
        let rest = used;
        const freeing = held.find((entry) => (rest -= entry.cost) + cost <= 50_000) as { at: number };
        expect(result.retryAfterMs, where).toBe(freeing.at + MINUTE - clock);
      }
    }
  });

  it('sliding-window: the token estimate is debited, then a refund or an extra debit corrects it', async () => {
    const { store, take, advance } = setup();
    const limit = [tokens('key:1', 1000)];

    const first = await take(limit, { tokens: 800 });
    expect(first.states[0]).toMatchObject({ remaining: 200, resetMs: 60_000 });
    expect(await take(limit, { tokens: 800 })).toMatchObject({ allowed: false, retryAfterMs: 60_000 });

    // The call used 200 tokens, not 800: 600 come back at once.
    await store.adjust(limit, -600, first.at);
    advance(10_000);
    const second = await take(limit, { tokens: 800 });
    expect(second.allowed).toBe(true);
    expect(second.states[0]).toMatchObject({ remaining: 0, resetMs: 60_000 });

    // That one used 900: 100 more, into debt. Even a take of 0 tokens waits, until the first take (200 tokens)
    // leaves the window; the second alone then fits.
    await store.adjust(limit, 100, second.at);
    const inDebt = await take(limit, { tokens: 0 });
    expect(inDebt).toMatchObject({ allowed: false, retryAfterMs: 50_000 });
    expect(inDebt.states[0]).toMatchObject({ remaining: 0, resetMs: 60_000 });
    advance(50_000);
    expect((await take(limit, { tokens: 0 })).allowed).toBe(true);
    expect((await take(limit, { tokens: 100 })).states[0]?.remaining).toBe(0);
    expect(await take(limit, { tokens: 1 })).toMatchObject({ allowed: false, retryAfterMs: 10_000 });
  });

  it('sliding-window: a take refunded in full leaves the window at once', async () => {
    const { store, take, advance } = setup();
    const limit = [tokens('key:1', 1000)];
    await take(limit, { tokens: 300 });
    advance(10_000);
    const failed = await take(limit, { tokens: 700 });
    // The call failed and used nothing: the window is whole again when the first take leaves it, in 50 s.
    await store.adjust(limit, -700, failed.at);
    expect((await take(limit, { tokens: 0 })).states[0]).toMatchObject({ remaining: 700, resetMs: 50_000 });
  });

  it('sliding-window: a correction to a take that has left the window changes nothing', async () => {
    const { store, take, advance } = setup();
    const limit = [tokens('key:1', 1000)];
    const first = await take(limit, { tokens: 600 });
    advance(30_000);
    expect((await take(limit, { tokens: 400 })).allowed).toBe(true);
    advance(30_000);
    expect((await take(limit, { tokens: 600 })).allowed).toBe(true);

    await store.adjust(limit, -600, first.at);
    await store.adjust(limit, 5000, first.at);
    // Still 400 + 600 in the window: the next unit waits for the 400 to leave.
    expect(await take(limit, { tokens: 1 })).toMatchObject({ allowed: false, retryAfterMs: 30_000 });
  });

  it('sliding-window: takes in the same ms stay apart, and their corrections add up exactly', async () => {
    const { store, take, takeMany } = setup();
    const limit = [tokens('key:1', 1000)];
    const takes = [
      await take(limit, { tokens: 300 }),
      await take(limit, { tokens: 300 }),
      await take(limit, { tokens: 300 }),
    ];
    expect(takes.map((result) => result.states[0]?.remaining)).toEqual([700, 400, 100]);
    expect(new Set(takes.map((result) => result.at)).size).toBe(1);

    // They used 100, 0 and 400 tokens: 500 in all.
    await store.adjust(limit, -200, (takes[0] as StoreTakeResult).at);
    await store.adjust(limit, -300, (takes[1] as StoreTakeResult).at);
    await store.adjust(limit, 100, (takes[2] as StoreTakeResult).at);
    expect(await takeMany(2, limit, { tokens: 250 })).toEqual([true, true]);
    expect(await take(limit, { tokens: 1 })).toMatchObject({ allowed: false, retryAfterMs: 60_000 });
  });

  it('sliding-window: a correction of a take of 0 units debits the window it was taken in', async () => {
    const { store, take, advance } = setup();
    const limit = [tokens('key:1', 1000)];
    const empty = await take(limit, { tokens: 0 });
    advance(20_000);
    await store.adjust(limit, 700, empty.at);
    expect(await take(limit, { tokens: 301 })).toMatchObject({ allowed: false, retryAfterMs: 40_000 });
    expect((await take(limit, { tokens: 300 })).states[0]).toMatchObject({ remaining: 0, resetMs: 60_000 });
  });

  it('gcra: N per minute lets N through at once, then refuses, and says when one more fits', async () => {
    const { take, takeMany, advance } = setup();
    const limit = [requests('user:1', 10, gcra)];

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
    const limit = [requests('user:1', 5, gcra)];
    const passed: number[] = [];
    let clock = 0;
    // A fixed pseudo-random sequence of gaps (0 to 20 s), dense enough to hit the limit often.
    const next = sequence(7);
    for (let step = 0; step < 300; step += 1) {
      const seed = next();
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
    expect(await takeMany(8, [requests('user:1', 7, gcra)])).toEqual([...Array.from({ length: 7 }, () => true), false]);
    expect(await takeMany(4, [tokens('user:1', 3, { windowMs: 1000, ...gcra })], { tokens: 1 })).toEqual([
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
    const limit = [tokens('key:1', 1_000_000_000, gcra)];
    expect((await take(limit, { tokens: 1_000_000_000 })).allowed).toBe(true);
    advance(1);
    expect((await take(limit, { tokens: 16_666 })).allowed).toBe(true);
    const refused = await take(limit, { tokens: 1 });
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: 1 });
    expect(refused.states[0]?.remaining).toBe(0);
  });

  for (const [algorithm, waitMs] of [
    ['sliding-window', 60_000],
    ['gcra', 30_000],
  ] as const) {
    it(`${algorithm}: checks several limits all or nothing: a refused take debits none of them`, async () => {
      const { take, takeMany } = setup();
      const key = requests('{key:1}', 5, { algorithm });
      const keyModel = requests('{key:1}:model:m', 2, { algorithm });
      const keyTokens = tokens('{key:1}', 1000, { algorithm });

      expect(await takeMany(2, [key, keyModel, keyTokens], { tokens: 100 })).toEqual([true, true]);
      const refused = await take([key, keyModel, keyTokens], { tokens: 100 });
      expect(refused).toMatchObject({ allowed: false, refusedIndex: 1, retryAfterMs: waitMs });
      // The states show the other limits untouched by the refusal: 3 requests and 800 tokens left.
      expect(refused.states.map((state) => state.remaining)).toEqual([3, 0, 800]);

      expect(await takeMany(4, [key, keyTokens], { tokens: 100 })).toEqual([true, true, true, false]);
    });

    it(`${algorithm}: refuses on the limit with the longest wait, and reports it`, async () => {
      const { take, takeMany } = setup();
      const short = requests('a', 2, { algorithm, windowMs: 10_000 });
      const long = requests('b', 2, { algorithm });
      expect(await takeMany(2, [short, long])).toEqual([true, true]);
      // Both are spent; the minute's limit is the one that decides when a retry can pass.
      expect(await take([short, long])).toMatchObject({ allowed: false, refusedIndex: 1, retryAfterMs: waitMs });
    });
  }

  it('keeps counters apart by scope, unit, algorithm and window', async () => {
    const { takeMany } = setup();
    expect(await takeMany(2, [requests('a', 1)])).toEqual([true, false]);
    expect(await takeMany(1, [requests('b', 1)])).toEqual([true]);
    expect(await takeMany(1, [tokens('a', 1)], { tokens: 1 })).toEqual([true]);
    expect(await takeMany(1, [requests('a', 1, { windowMs: 1000 })])).toEqual([true]);
    expect(await takeMany(1, [requests('a', 1, gcra)])).toEqual([true]);
    expect(await takeMany(1, [requests('a', 1, { algorithm: 'fixed-window' })])).toEqual([true]);
    // `a` and `{a}` are two scopes in every store.
    expect(await takeMany(1, [requests('{a}', 1)])).toEqual([true]);
    // No algorithm named is the sliding window: the same counter.
    expect(await takeMany(1, [requests('a', 1, { algorithm: 'sliding-window' })])).toEqual([false]);
  });

  for (const algorithm of ['sliding-window', 'gcra', 'fixed-window'] as const) {
    it(`${algorithm}: two limits of one take on the same counter debit it once`, async () => {
      const { takeMany } = setup();
      const tight = requests('a', 3, { algorithm });
      const loose = requests('a', 5, { algorithm });
      expect(await takeMany(4, [tight, loose])).toEqual([true, true, true, false]);
      expect(await takeMany(3, [loose])).toEqual([true, true, false]);
    });

    it(`${algorithm}: an amount larger than the whole limit is refused with an infinite wait, even when the limit is whole`, async () => {
      const { take } = setup();
      expect(await take([tokens('key:1', 1000, { algorithm })], { tokens: 1001 })).toMatchObject({
        allowed: false,
        refusedIndex: 0,
        retryAfterMs: Infinity,
      });
      expect((await take([tokens('key:1', 1000, { algorithm })], { tokens: 1000 })).allowed).toBe(true);
    });

    it(`${algorithm}: a take of zero units passes without debiting`, async () => {
      const { takeMany } = setup();
      const limit = [requests('key:1', 1, { algorithm })];
      expect(await takeMany(3, limit, { requests: 0 })).toEqual([true, true, true]);
      expect(await takeMany(2, limit)).toEqual([true, false]);
    });
  }

  for (const algorithm of ROLLING) {
    it(`${algorithm}: a refund never makes a limit more than whole`, async () => {
      const { store, take, takeMany } = setup();
      const limit = [tokens('key:1', 100, { algorithm })];
      const first = await take(limit, { tokens: 10 });
      await store.adjust(limit, -1000, first.at);
      expect(await takeMany(2, limit, { tokens: 100 })).toEqual([true, false]);
    });
  }

  it('gcra: the token estimate is debited, then a refund or an extra debit corrects it', async () => {
    const { store, take, advance } = setup();
    const limit = [tokens('key:1', 1000, gcra)];

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

  it('an empty list of limits is allowed', async () => {
    const { take } = setup();
    expect(await take([])).toMatchObject({ allowed: true, states: [], refusedIndex: -1 });
  });
}
