// Cost of a budget check on the request path: reserve before the upstream call, settle after it, against a key's
// budget and a global one. Run by hand: `pnpm --filter @gw/cost bench:budget` (the Redis part needs REDIS_URL).
// Prints numbers; asserts nothing.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createMemoryBudgetStore, createRedisBudgetStore, money, type Budget, type BudgetStore } from '../index.ts';

const budgets: Budget[] = [
  { scope: 'key:bench', limit: money('1000000', 'USD'), period: 'month' },
  { scope: 'global', limit: money('9000000', 'USD'), period: 'day' },
];
const worstCase = money('0.0421', 'USD');
const actual = money('0.0133', 'USD');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? NaN;
}

/** Median and best µs per reserve + settle over `batches` batches of `size` sequential pairs. */
async function sequential(store: BudgetStore, batches: number, size: number): Promise<[number, number]> {
  const perPair: number[] = [];
  for (let batch = 0; batch < batches; batch += 1) {
    const start = performance.now();
    for (let index = 0; index < size; index += 1) {
      await store.settle(await store.reserve(budgets, worstCase), actual);
    }
    perPair.push(((performance.now() - start) * 1000) / size);
  }
  return [median(perPair), Math.min(...perPair)];
}

const memory = createMemoryBudgetStore();
await sequential(memory, 2, 10_000); // warm-up
const [memoryMedian, memoryBest] = await sequential(memory, 20, 10_000);
console.log(
  `memory: reserve + settle, two budgets: ${memoryMedian.toFixed(2)} µs median (${memoryBest.toFixed(2)} best)`,
);

const refusing = createMemoryBudgetStore();
const empty: Budget[] = [{ scope: 'key:empty', limit: money('0', 'USD'), period: 'day' }];
let refusedStart = performance.now();
for (let index = 0; index < 1000; index += 1) await refusing.reserve(empty, worstCase).catch(() => undefined);
refusedStart = ((performance.now() - refusedStart) * 1000) / 1000;
console.log(`memory: refused reserve (a BudgetExceededError): ${refusedStart.toFixed(2)} µs`);

const url = process.env.REDIS_URL ?? '';
if (url === '') {
  console.log('redis: skipped (REDIS_URL is not set)');
} else {
  const redis = new Redis(url);
  await once(redis, 'ready'); // the store sends nothing to a client that is not ready
  const prefix = `gw-bench:budget:${randomUUID()}:`;
  const store = createRedisBudgetStore({ client: redis, prefix, timeoutMs: 5000, failMode: 'closed' });
  await sequential(store, 1, 500); // warm-up, and the scripts loaded
  const roundTrips: number[] = [];
  for (let index = 0; index < 2000; index += 1) {
    const start = performance.now();
    await store.settle(await store.reserve(budgets, worstCase), actual);
    roundTrips.push((performance.now() - start) * 1000);
  }
  console.log(
    `redis: reserve + settle, two budgets, one at a time: ${median(roundTrips).toFixed(0)} µs median, ` +
      `${percentile(roundTrips, 0.99).toFixed(0)} µs p99`,
  );

  const inFlight = 64;
  const total = 20_000;
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < total) {
        next += 1;
        await store.settle(await store.reserve(budgets, worstCase), actual);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  console.log(
    `redis: ${inFlight} requests in flight: ${(total / seconds).toFixed(0)} reserve + settle pairs per second`,
  );

  // A crashed process leaves its reservations behind; the first call after they expire moves them all. Its clock
  // is moved by hand, so that no call in between sweeps them first.
  let clock = Date.now();
  const crashed = createRedisBudgetStore({ client: redis, prefix, now: () => clock, timeoutMs: 60_000 });
  for (const count of [1000, 10_000]) {
    const scope: Budget[] = [{ scope: `key:crash-${count}`, limit: money('1000000', 'USD'), period: 'day' }];
    for (let index = 0; index < count; index += 100) {
      await Promise.all(Array.from({ length: 100 }, () => crashed.reserve(scope, worstCase, { ttlMs: 60_000 })));
    }
    clock += 60_000;
    const calls: string[] = [];
    for (let reserved = -1n; reserved !== 0n;) {
      const callStart = performance.now();
      reserved = (await crashed.remaining(scope[0] as Budget)).reserved.amount;
      calls.push((performance.now() - callStart).toFixed(1));
    }
    console.log(
      `redis: ${count} reservations expired at once: freed by ${calls.length} calls of ${calls.join(', ')} ms`,
    );
  }

  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
}
