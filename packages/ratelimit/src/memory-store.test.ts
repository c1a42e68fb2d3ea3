import { describe, expect, it } from 'vitest';
import { createMemoryRateLimitStore } from './memory-store.ts';
import type { RateLimit } from './rate-limit.ts';
import { storeSuite } from './test-store-suite.ts';

describe('createMemoryRateLimitStore: the shared store suite', () => {
  storeSuite((now) => createMemoryRateLimitStore({ now }));
});

describe('createMemoryRateLimitStore', () => {
  const perMinute = (scope: string): RateLimit => ({ scope, unit: 'requests', limit: 10 });

  for (const algorithm of ['sliding-window', 'gcra'] as const) {
    it(`${algorithm}: forgets scopes whose limits have been whole again for a window, as later takes go by`, () => {
      let clock = 0;
      const store = createMemoryRateLimitStore({ now: () => clock });
      const limit = (scope: string): RateLimit[] => [{ scope, unit: 'requests', limit: 10, algorithm }];
      for (let index = 0; index < 100; index += 1) store.take(limit(`ip:${index}`), { requests: 1, tokens: 0 });
      expect(store.size()).toBe(100);

      // A minute later every one of them is whole again, but kept for one more window in case it is back soon.
      clock += 60_000;
      for (let index = 0; index < 60; index += 1) store.take(limit('ip:busy'), { requests: 1, tokens: 0 });
      expect(store.size()).toBe(101);

      // After that window, the takes of a single busy scope sweep them away.
      clock += 60_000;
      for (let index = 0; index < 60; index += 1) store.take(limit('ip:busy'), { requests: 1, tokens: 0 });
      expect(store.size()).toBe(1);
    });
  }

  it('keeps a scope that is still in use, and its debt', () => {
    let clock = 0;
    const store = createMemoryRateLimitStore({ now: () => clock });
    const limit = [{ scope: 'key:1', unit: 'requests', limit: 1 } as const];
    expect(store.take(limit, { requests: 1, tokens: 0 }).allowed).toBe(true);
    for (let index = 0; index < 50; index += 1) store.take([perMinute(`other:${index}`)], { requests: 1, tokens: 0 });
    clock += 59_000;
    expect(store.take(limit, { requests: 1, tokens: 0 }).allowed).toBe(false);
  });

  it('holds at most maxScopes scopes, forgetting those not used for the longest first', () => {
    const store = createMemoryRateLimitStore({ now: () => 0, maxScopes: 50 });
    const victim = [{ scope: 'key:steady', unit: 'requests', limit: 1 } as const];
    expect(store.take(victim, { requests: 1, tokens: 0 }).allowed).toBe(true);
    for (let index = 0; index < 1000; index += 1) {
      store.take([perMinute(`ip:${index}`)], { requests: 10, tokens: 0 });
      expect(store.size()).toBeLessThanOrEqual(50);
      // A scope in steady use survives the flood: it is never the least recently used.
      if (index % 10 === 0) expect(store.take(victim, { requests: 1, tokens: 0 }).allowed).toBe(false);
    }
    // The newest scopes are still spent; the old ones were forgotten and start whole.
    expect(store.take([perMinute('ip:999')], { requests: 1, tokens: 0 }).allowed).toBe(false);
    expect(store.take([perMinute('ip:0')], { requests: 1, tokens: 0 }).allowed).toBe(true);
  });

  it('never forgets, at the cap, a scope of the take being made', () => {
    const store = createMemoryRateLimitStore({ now: () => 0, maxScopes: 2 });
    const limits: RateLimit[] = [perMinute('a'), perMinute('b'), perMinute('c')];
    store.take(limits, { requests: 10, tokens: 0 });
    // All three were debited, though only two fit under the cap: the next take of each is refused.
    for (const limit of limits) expect(store.take([limit], { requests: 1, tokens: 0 }).allowed).toBe(false);
  });

  it('keeps a very long scope as a digest: distinct from its neighbours, the same on every take', () => {
    const store = createMemoryRateLimitStore({ now: () => 0 });
    const long = 'x'.repeat(1_000_000);
    const limit = (scope: string): RateLimit[] => [{ scope, unit: 'requests', limit: 1 }];
    expect(store.take(limit(`${long}a`), { requests: 1, tokens: 0 }).allowed).toBe(true);
    expect(store.take(limit(`${long}b`), { requests: 1, tokens: 0 }).allowed).toBe(true);
    expect(store.take(limit(`${long}a`), { requests: 1, tokens: 0 }).allowed).toBe(false);
    // The state still names the scope as the caller gave it.
    expect(store.take(limit(`${long}a`), { requests: 1, tokens: 0 }).states[0]?.scope).toHaveLength(1_000_001);
  });

  it('refuses an invalid maxScopes', () => {
    expect(() => createMemoryRateLimitStore({ maxScopes: 0 })).toThrow(RangeError);
  });
});
