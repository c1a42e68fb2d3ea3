/**
 * `pnpm --filter @gw/ratelimit bench`: what one rate-limit check costs with the memory store, the gateway's hot
 * path (per-key RPM + TPM on every request). Prints µs and bytes allocated per check; it asserts nothing, since
 * timings depend on the machine (compare runs on the same one).
 *
 * Each check runs with the sliding window (the default) and with GCRA, side by side:
 * - store.take: the store alone, two limits (RPM + TPM) of one scope.
 * - limiter.take + settle: what a request pays, awaited, with its lease settled to the real usage.
 * - 10 000 scopes: the same over keys taken in turn (map lookups, the idle sweep), RPM + TPM + key+model RPM.
 * - refused: a take refused by its RPM (the error and its stack trace).
 *
 * Bytes per check: the young generation is made large enough that no collection runs during a batch, so the
 * growth of the used heap over the batch, divided by the checks, is what each one allocated.
 *
 * The limits are a large key's (100 000 RPM, 100 M TPM, 500 tokens a request) and the stores' clock moves 1 ms per
 * check, so that checks are allowed as they would be in production and the counters stay in use. A sliding window
 * then holds 60 000 entries per limit of the one busy scope, 6 per limit of each of the 10 000.
 */
import { createMemoryRateLimitStore } from './memory-store.ts';
import type { RateLimit, RateLimitAlgorithm } from './rate-limit.ts';
import { createRateLimiter } from './rate-limiter.ts';
import { composeScope } from './scope.ts';

const BATCH = 20_000;
const BATCHES = 25;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (pnpm --filter @gw/ratelimit bench does)');
const collect: () => void = gc;

let clock = Date.now();
const now = (): number => clock;

function limitsFor(id: string, algorithm: RateLimitAlgorithm, withModel = false): RateLimit[] {
  const scope = composeScope('key', id);
  const limits: RateLimit[] = [
    { scope, unit: 'requests', limit: 100_000, algorithm },
    { scope, unit: 'tokens', limit: 100_000_000, algorithm },
  ];
  if (withModel) {
    limits.push({ scope: composeScope('key', id, 'model', 'gpt-4o'), unit: 'requests', limit: 100_000, algorithm });
  }
  return limits;
}

async function measure(label: string, check: (index: number) => unknown): Promise<void> {
  const perCheckUs: number[] = [];
  const perCheckBytes: number[] = [];
  for (let batch = 0; batch < BATCHES; batch += 1) {
    collect();
    const heapBefore = process.memoryUsage().heapUsed;
    const start = process.hrtime.bigint();
    for (let index = 0; index < BATCH; index += 1) {
      clock += 1;
      const result = check(batch * BATCH + index);
      if (result instanceof Promise) await result;
    }
    const elapsed = Number(process.hrtime.bigint() - start);
    const heapAfter = process.memoryUsage().heapUsed;
    // The first batches warm the JIT up; only the later ones count.
    if (batch < 5) continue;
    perCheckUs.push(elapsed / BATCH / 1000);
    perCheckBytes.push((heapAfter - heapBefore) / BATCH);
  }
  perCheckUs.sort((a, b) => a - b);
  perCheckBytes.sort((a, b) => a - b);
  const median = (values: number[]): number => values[Math.floor(values.length / 2)] ?? Number.NaN;
  console.log(
    `${label.padEnd(56)} ${median(perCheckUs).toFixed(3)} µs/check (best ${perCheckUs[0]?.toFixed(3)})` +
      `  ${Math.round(median(perCheckBytes))} B/check`,
  );
}

const amounts = { requests: 1, tokens: 500 };
for (const algorithm of ['sliding-window', 'gcra'] as const) {
  const one = limitsFor('bench', algorithm);
  const store = createMemoryRateLimitStore({ now });
  await measure(`${algorithm}: store.take, RPM + TPM, one scope`, () => {
    if (!store.take(one, amounts).allowed) throw new Error('refused: the bench measures allowed checks');
  });

  const limiter = createRateLimiter({ store: createMemoryRateLimitStore({ now }) });
  await measure(`${algorithm}: limiter.take + settle, RPM + TPM`, async () => {
    const lease = await limiter.take(one, { tokens: 500 });
    await lease.settle(320);
  });

  const many = Array.from({ length: 10_000 }, (_, index) => limitsFor(`k${index}`, algorithm, true));
  const manyStore = createMemoryRateLimitStore({ now });
  await measure(`${algorithm}: store.take, 10 000 scopes, 3 limits`, (index) =>
    manyStore.take(many[index % many.length] ?? one, amounts),
  );

  const spent: RateLimit[] = [{ scope: composeScope('key', 'spent'), unit: 'requests', limit: 1, algorithm }];
  const refusing = createRateLimiter({ store: createMemoryRateLimitStore() });
  await refusing.take(spent);
  await measure(`${algorithm}: limiter.take refused (RateLimitedError)`, () =>
    refusing.take(spent).catch(() => undefined),
  );
}
