import {
  DEFAULT_ALGORITHM,
  DEFAULT_WINDOW_MS,
  TIME_EPSILON_MS,
  unitSlack,
  type LimitState,
  type RateLimit,
  type RateLimitAlgorithm,
  type RateLimitAmounts,
  type RateLimitStore,
  type RateLimitUnit,
  type StoreTakeResult,
} from './rate-limit.ts';
import { boundedScope } from './scope.ts';
import { SlidingLog } from './sliding-log.ts';

// The same algorithms as redis-scripts.ts, line for line, so that a limit behaves the same in one process and
// across many; test-store-suite.ts runs one suite against both.
//
// The sliding window (the default) is a log of the takes of the last window with their sum (sliding-log.ts): a
// take fits when that sum plus its cost stays within `limit`, and a refused one can wait until enough of the
// oldest entries have left the window.
//
// GCRA in its continuous-state form (ITU-T I.371's leaky bucket, equivalent to the theoretical-arrival-time form):
// a limit keeps the units it owes and when that was written. What it owes drains at `limit / windowMs` units per
// ms; a take of `cost` fits when what it owes plus `cost` stays within `limit`. Units, not an arrival time in
// absolute ms, because at today's epoch a double resolves only ~0.24 µs, more than one token of a 100-million
// TPM limit. A limit that owes nothing is the same as no state, which is what lets idle scopes be forgotten.
// A fixed window keeps the window's index and the units counted in it.

/** Default of {@link MemoryRateLimitStoreOptions.maxScopes}. */
const DEFAULT_MAX_SCOPES = 100_000;
// Scopes looked at by the incremental sweep on each take: enough to keep up with one new scope per take.
const SWEEP_PER_TAKE = 2;
// Scopes compared when one must be forgotten at the cap: the least recently used of them goes (Redis's sampled LRU).
const EVICTION_SAMPLE = 16;

/**
 * Options of {@link createMemoryRateLimitStore}.
 *
 * @example
 * ```ts
 * const options: MemoryRateLimitStoreOptions = { maxScopes: 10_000 };
 * ```
 */
export interface MemoryRateLimitStoreOptions {
  /** Clock in ms. Default `Date.now` (fixed windows align to it, so it should be wall-clock time). */
  now?: (() => number) | undefined;
  /**
   * Most scopes held at once. Idle scopes (whose limits have been whole again for a window) are dropped as takes
   * go by; past the cap, a scope not used for a while is forgotten (the least recently used of a sample of 16),
   * which lets its limits start whole. The scopes of the take being made are never forgotten during it, so a take
   * of more new scopes than the cap goes over it. Default 100 000.
   */
  maxScopes?: number | undefined;
}

/**
 * The in-process store. Create it with {@link createMemoryRateLimitStore}.
 *
 * @example
 * ```ts
 * const store: MemoryRateLimitStore = createMemoryRateLimitStore();
 * console.log(store.size()); // scopes held
 * ```
 */
export interface MemoryRateLimitStore extends RateLimitStore {
  take(limits: readonly RateLimit[], amounts: RateLimitAmounts, signal?: AbortSignal): StoreTakeResult;
  adjust(limits: readonly RateLimit[], delta: number, at: number, signal?: AbortSignal): void;
  /** Scopes held now (each with the counters of its limits). */
  size(): number;
}

interface Counter {
  readonly unit: RateLimitUnit;
  readonly algorithm: RateLimitAlgorithm;
  readonly windowMs: number;
  /** sliding-window: the takes in the window; undefined for the other algorithms. */
  readonly log: SlidingLog | undefined;
  /** gcra: units owed at time `stamp`; fixed-window: units counted in window `stamp`. */
  value: number;
  /** gcra: when `value` was written, in ms; fixed-window: the window's index, floor(time / windowMs). */
  stamp: number;
  /**
   * From this time on the counter can be forgotten: one window after it is whole again (its newest take out of the
   * window, nothing owed, or its window over). The extra window keeps a scope with steady traffic from being
   * dropped and rebuilt between two of its requests.
   */
  forgetAt: number;
}

interface ScopeEntry {
  readonly key: string;
  /** The counters of the scope's limits: usually one to three, so a scan beats another map. */
  readonly counters: Counter[];
  /** Where the entry sits in the sweep list. */
  slot: number;
  /** The number of the last take (or adjust) that used it: its age for eviction, and "in use now". */
  usedIn: number;
}

/**
 * Creates a store that keeps counters in this process: for one replica, tests, or as the fallback when no Redis
 * is configured. Takes are synchronous and allocate only their answer (one state per limit).
 *
 * @example
 * ```ts
 * const limiter = createRateLimiter({ store: createMemoryRateLimitStore() });
 * const lease = await limiter.take([{ scope: 'user:42', unit: 'requests', limit: 60 }]);
 * ```
 */
export function createMemoryRateLimitStore(options: MemoryRateLimitStoreOptions = {}): MemoryRateLimitStore {
  const now = options.now ?? Date.now;
  const maxScopes = options.maxScopes ?? DEFAULT_MAX_SCOPES;
  if (!Number.isSafeInteger(maxScopes) || maxScopes < 1) {
    throw new RangeError(`maxScopes must be an integer >= 1, got ${maxScopes}`);
  }

  const scopes = new Map<string, ScopeEntry>();
  // Counts takes and adjusts; an entry used by the current one is never swept or evicted under its feet.
  let operation = 0;
  // The same entries in an array the sweep walks a little on every take. An array, not a Map iterator: stepping an
  // iterator allocates its result objects, and this runs on every request.
  const sweepList: ScopeEntry[] = [];
  let sweepIndex = 0;
  // Scratch for the two phases of a take (check all, then write all), reused so a take allocates no arrays.
  const pendingCounters: Counter[] = [];
  const pendingCosts: number[] = [];
  const pendingValues: number[] = [];
  const pendingStamps: number[] = [];
  const pendingForgetAt: number[] = [];
  const remainingBefore: number[] = [];
  const remainingAfter: number[] = [];
  const resetBefore: number[] = [];
  const resetAfter: number[] = [];

  function counterOf(
    limit: RateLimit,
    algorithm: RateLimitAlgorithm,
    windowMs: number,
    create: boolean,
  ): Counter | undefined {
    const key = boundedScope(limit.scope);
    let entry = scopes.get(key);
    if (entry === undefined) {
      if (!create) return undefined;
      if (scopes.size >= maxScopes) evictOne();
      entry = { key, counters: [], slot: sweepList.length, usedIn: operation };
      scopes.set(key, entry);
      sweepList.push(entry);
    }
    entry.usedIn = operation;
    const counters = entry.counters;
    for (let index = 0; index < counters.length; index += 1) {
      const counter = counters[index] as Counter;
      if (counter.unit === limit.unit && counter.algorithm === algorithm && counter.windowMs === windowMs) {
        return counter;
      }
    }
    if (!create) return undefined;
    const log = algorithm === 'sliding-window' ? new SlidingLog() : undefined;
    const counter: Counter = { unit: limit.unit, algorithm, windowMs, log, value: 0, stamp: -1, forgetAt: 0 };
    counters.push(counter);
    return counter;
  }

  function isIdle(entry: ScopeEntry, at: number): boolean {
    if (entry.usedIn === operation) return false;
    const counters = entry.counters;
    for (let index = 0; index < counters.length; index += 1) {
      if ((counters[index] as Counter).forgetAt > at) return false;
    }
    return true;
  }

  function remove(entry: ScopeEntry): void {
    scopes.delete(entry.key);
    // The last entry of the list takes the removed one's place, so removal is O(1).
    const last = sweepList.pop() as ScopeEntry;
    if (last !== entry) {
      sweepList[entry.slot] = last;
      last.slot = entry.slot;
    }
  }

  function sweep(at: number, count: number): void {
    for (let step = 0; step < count && sweepList.length > 0; step += 1) {
      if (sweepIndex >= sweepList.length) sweepIndex = 0;
      const entry = sweepList[sweepIndex] as ScopeEntry;
      // A removed entry's slot now holds another one, looked at on the next step.
      if (isIdle(entry, at)) remove(entry);
      else sweepIndex += 1;
    }
  }

  function evictOne(): void {
    // Idle scopes go first; only when the sweep finds none is a live scope forgotten: the least recently used of a
    // sample, so that a flood of new scopes cannot push out (and so reset) the limits of a scope in steady use.
    const before = scopes.size;
    sweep(now(), 64);
    if (scopes.size < before) return;
    let oldest: ScopeEntry | undefined;
    for (let step = 0; step < EVICTION_SAMPLE && step < sweepList.length; step += 1) {
      const entry = sweepList[(sweepIndex + step) % sweepList.length] as ScopeEntry;
      if (entry.usedIn !== operation && (oldest === undefined || entry.usedIn < oldest.usedIn)) oldest = entry;
    }
    if (oldest !== undefined) remove(oldest);
    sweepIndex += EVICTION_SAMPLE;
  }

  function take(limits: readonly RateLimit[], amounts: RateLimitAmounts): StoreTakeResult {
    operation += 1;
    const at = now();
    sweep(at, SWEEP_PER_TAKE);
    let refusedIndex = -1;
    let retryAfterMs = 0;

    // Phase 1: where each limit stands before and would stand after the take, and whether it fits.
    for (let index = 0; index < limits.length; index += 1) {
      const limit = limits[index] as RateLimit;
      const windowMs = limit.windowMs ?? DEFAULT_WINDOW_MS;
      const algorithm = limit.algorithm ?? DEFAULT_ALGORITHM;
      const cost = limit.unit === 'requests' ? amounts.requests : amounts.tokens;
      const counter = counterOf(limit, algorithm, windowMs, true) as Counter;
      const slack = unitSlack(limit.limit);
      let used: number;
      let resetBeforeMs: number;
      let resetAfterMs: number;
      let waitMs = 0;

      if (counter.log !== undefined) {
        const log = counter.log;
        log.trim(at - windowMs);
        used = Math.max(0, log.sum);
        const newest = log.newest();
        const newestAfter = cost > 0 ? Math.max(newest, at) : newest;
        resetBeforeMs = newest === -Infinity ? 0 : newest + windowMs - at;
        resetAfterMs = newestAfter === -Infinity ? 0 : newestAfter + windowMs - at;
        pendingForgetAt[index] = newestAfter + 2 * windowMs;
        if (used + cost > limit.limit + slack) {
          waitMs =
            cost > limit.limit + slack
              ? Infinity
              : Math.max(1, Math.ceil(log.freedBy(cost, limit.limit + slack) + windowMs - at - TIME_EPSILON_MS));
        }
      } else if (algorithm === 'fixed-window') {
        const window = Math.floor(at / windowMs);
        used = counter.stamp === window ? counter.value : 0;
        resetBeforeMs = (window + 1) * windowMs - at;
        resetAfterMs = resetBeforeMs;
        pendingStamps[index] = window;
        pendingForgetAt[index] = (window + 2) * windowMs;
        if (used + cost > limit.limit + slack) {
          waitMs = cost > limit.limit + slack ? Infinity : Math.max(1, Math.ceil(resetBeforeMs - TIME_EPSILON_MS));
        }
      } else {
        const msPerUnit = windowMs / limit.limit;
        used = counter.stamp < 0 ? 0 : Math.max(0, counter.value - (at - counter.stamp) / msPerUnit);
        resetBeforeMs = used * msPerUnit;
        resetAfterMs = (used + cost) * msPerUnit;
        pendingStamps[index] = at;
        pendingForgetAt[index] = at + resetAfterMs + windowMs;
        if (used + cost > limit.limit + slack) {
          waitMs =
            cost > limit.limit + slack
              ? Infinity
              : Math.max(1, Math.ceil((used + cost - limit.limit) * msPerUnit - TIME_EPSILON_MS));
        }
      }
      pendingCounters[index] = counter;
      pendingCosts[index] = cost;
      pendingValues[index] = used + cost;
      remainingBefore[index] = limit.limit - used;
      remainingAfter[index] = limit.limit - used - cost;
      resetBefore[index] = resetBeforeMs;
      resetAfter[index] = resetAfterMs;
      if (waitMs > retryAfterMs) {
        retryAfterMs = waitMs;
        refusedIndex = index;
      }
    }

    // Phase 2: debit every limit, or none; report each as it now stands.
    const allowed = refusedIndex === -1;
    const remaining = allowed ? remainingAfter : remainingBefore;
    const reset = allowed ? resetAfter : resetBefore;
    const states: LimitState[] = new Array<LimitState>(limits.length);
    for (let index = 0; index < limits.length; index += 1) {
      const limit = limits[index] as RateLimit;
      if (allowed) {
        const counter = pendingCounters[index] as Counter;
        counter.forgetAt = pendingForgetAt[index] as number;
        const cost = pendingCosts[index] as number;
        // Two limits of one take on the same counter debit it once, as the other algorithms' writes do.
        if (counter.log !== undefined) {
          if (cost > 0 && pendingCounters.indexOf(counter) === index) counter.log.add(at, cost);
        } else {
          counter.value = pendingValues[index] as number;
          counter.stamp = pendingStamps[index] as number;
        }
      }
      states[index] = {
        scope: limit.scope,
        unit: limit.unit,
        limit: limit.limit,
        remaining: Math.max(0, Math.floor((remaining[index] as number) + unitSlack(limit.limit))),
        resetMs: Math.max(0, Math.ceil((reset[index] as number) - TIME_EPSILON_MS)),
      };
    }
    return { allowed, at, states, refusedIndex, retryAfterMs };
  }

  function adjust(limits: readonly RateLimit[], delta: number, at: number): void {
    operation += 1;
    const current = now();
    for (const limit of limits) {
      const windowMs = limit.windowMs ?? DEFAULT_WINDOW_MS;
      const algorithm = limit.algorithm ?? DEFAULT_ALGORITHM;
      // A refund to a limit already forgotten (whole) changes nothing; an extra debit recreates it.
      const counter = counterOf(limit, algorithm, windowMs, delta > 0);
      if (counter === undefined) continue;
      if (counter.log !== undefined) {
        const cutoff = current - windowMs;
        counter.log.trim(cutoff);
        counter.log.adjust(at, delta, cutoff);
        counter.forgetAt = counter.log.newest() + 2 * windowMs;
        continue;
      }
      if (algorithm === 'fixed-window') {
        if (counter.stamp === Math.floor(at / windowMs)) counter.value = Math.max(0, counter.value + delta);
        continue;
      }
      const msPerUnit = windowMs / limit.limit;
      const used = counter.stamp < 0 ? 0 : Math.max(0, counter.value - (current - counter.stamp) / msPerUnit);
      counter.value = Math.max(0, used + delta);
      counter.stamp = current;
      counter.forgetAt = current + counter.value * msPerUnit + windowMs;
    }
  }

  return { take, adjust, size: () => scopes.size };
}
