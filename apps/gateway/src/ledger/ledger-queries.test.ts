import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLedgerDatabase, type LedgerDatabase } from './ledger-database.ts';
import { isLedgerError } from './ledger-error.ts';
import { createLedgerQueries, type LedgerQueries } from './ledger-queries.ts';
import { insertRows } from './ledger-records.ts';
import type { LedgerRow } from './ledger-row.ts';
import { ledgerRow, announceSkip, TEST_DIALECTS, type ScratchDatabase } from './test-helpers.ts';

const INT64_MAX = 2n ** 63n - 1n;
const at = (iso: string) => new Date(iso);

async function invalidQuery(action: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await action();
  } catch (error) {
    return isLedgerError(error) ? error.kind : String(error);
  }
  return undefined;
}

describe.each(TEST_DIALECTS)('ledger queries on $dialect', (testDialect) => {
  const { skip, create } = testDialect;
  announceSkip(testDialect, 'ledger query tests');
  let scratch: ScratchDatabase;
  let database: LedgerDatabase;
  let queries: LedgerQueries;

  beforeEach(async () => {
    if (skip !== undefined) return;
    scratch = await create();
    database = await openLedgerDatabase(scratch.url);
    queries = createLedgerQueries(database);
  });
  afterEach(async () => {
    if (skip !== undefined) return;
    await database.close();
    await scratch.drop();
  });

  const test = it.skipIf(skip !== undefined);
  const skipped = skip === undefined ? '' : ` (skipped: ${skip})`;

  test(`stores every column and reads it back exactly, money to the last 10^-12${skipped}`, async () => {
    const full = ledgerRow({
      requestId: 'req-full',
      createdAt: at('2026-12-03T10:11:12.345Z'),
      apiKeyId: 'vk_123',
      model: 'chat',
      provider: 'anthropic-eu',
      upstreamModel: 'claude-sonnet-4-5',
      endpoint: 'messages',
      stream: true,
      status: 'failed',
      httpStatus: 429,
      errorKind: 'rate_limit',
      attempts: 3,
      fallback: true,
      ttftMs: 0,
      latencyMs: 2_147_483_647,
      tokens: { input: 2_147_483_647, cachedInput: 1, cacheWrite: 2, output: 3, reasoning: 4 },
      // Amounts a JS number cannot hold: 2^63-1 and 2^53+1.
      cost: {
        currency: 'CNY',
        input: INT64_MAX,
        cachedInput: 9_007_199_254_740_993n,
        cacheWrite: 1n,
        output: 0n,
        reasoning: 123_456_789_012_345n,
        total: INT64_MAX,
      },
      estimated: true,
    });
    const bare = ledgerRow({
      requestId: 'req-bare',
      apiKeyId: null,
      stream: false,
      status: 'cancelled',
      httpStatus: null,
      errorKind: null,
      ttftMs: null,
      tokens: { input: 0, cachedInput: 0, cacheWrite: 0, output: 0, reasoning: 0 },
      cost: null,
      estimated: false,
    });
    expect(await insertRows(database, [full, bare])).toBe(2);
    expect(await queries.getRequest('req-full')).toEqual(full);
    expect(await queries.getRequest('req-bare')).toEqual(bare);
    expect(await queries.getRequest('req-missing')).toBeUndefined();
  });

  test(`ignores a row whose request id it already holds, in the same batch or a later one${skipped}`, async () => {
    const first = ledgerRow({ requestId: 'req-1', model: 'first' });
    expect(await insertRows(database, [first, ledgerRow({ requestId: 'req-1', model: 'second' })])).toBe(1);
    expect(await insertRows(database, [first, ledgerRow({ requestId: 'req-2' })])).toBe(1);
    expect((await queries.getRequest('req-1'))?.model).toBe('first');
    expect((await queries.listRequests()).rows.map((row) => row.requestId).sort()).toEqual(['req-1', 'req-2']);
  });

  test(`lists newest first across pages, rows sharing a millisecond included, each exactly once${skipped}`, async () => {
    const rows: LedgerRow[] = [];
    for (let index = 0; index < 23; index += 1) {
      // Groups of three rows share a timestamp: the request id breaks the tie.
      rows.push(
        ledgerRow({
          requestId: `r${String(index).padStart(2, '0')}`,
          createdAt: new Date(1_000_000 + Math.floor(index / 3)),
        }),
      );
    }
    await insertRows(database, rows.slice().reverse());
    const seen: string[] = [];
    let before: string | undefined;
    let pages = 0;
    do {
      const page = await queries.listRequests({ limit: 5, before });
      seen.push(...page.rows.map((row) => row.requestId));
      before = page.next ?? undefined;
      pages += 1;
    } while (before !== undefined);
    expect(pages).toBe(5);
    expect(seen).toEqual(rows.map((row) => row.requestId).reverse());
  });

  test(`filters by model, provider, status, key and time range${skipped}`, async () => {
    await insertRows(database, [
      ledgerRow({ requestId: 'a', model: 'chat', provider: 'openai', createdAt: at('2026-12-01T00:00:00Z') }),
      ledgerRow({
        requestId: 'b',
        model: 'chat',
        provider: 'glm',
        status: 'failed',
        createdAt: at('2026-12-02T00:00:00Z'),
      }),
      ledgerRow({
        requestId: 'c',
        model: 'embed',
        provider: 'openai',
        apiKeyId: 'vk_2',
        createdAt: at('2026-12-03T00:00:00Z'),
      }),
      ledgerRow({
        requestId: 'd',
        model: 'chat',
        provider: 'openai',
        apiKeyId: null,
        createdAt: at('2026-12-04T00:00:00Z'),
      }),
    ]);
    const ids = async (options: Parameters<LedgerQueries['listRequests']>[0]) =>
      (await queries.listRequests(options)).rows.map((row) => row.requestId);
    expect(await ids({ model: 'chat' })).toEqual(['d', 'b', 'a']);
    expect(await ids({ provider: 'openai', model: 'chat' })).toEqual(['d', 'a']);
    expect(await ids({ status: 'failed' })).toEqual(['b']);
    expect(await ids({ keyId: 'vk_2' })).toEqual(['c']);
    expect(await ids({ from: at('2026-12-02T00:00:00Z'), to: at('2026-12-04T00:00:00Z') })).toEqual(['c', 'b']);
    expect(await ids({ model: 'nothing' })).toEqual([]);
  });

  test(`refuses a limit out of range and a cursor it did not make${skipped}`, async () => {
    expect(await invalidQuery(() => queries.listRequests({ limit: 0 }))).toBe('invalid_query');
    expect(await invalidQuery(() => queries.listRequests({ limit: 1001 }))).toBe('invalid_query');
    expect(await invalidQuery(() => queries.listRequests({ before: 'not-a-cursor' }))).toBe('invalid_query');
    expect(await invalidQuery(() => queries.usage({ groupBy: 'day', from: new Date(Number.NaN) }))).toBe(
      'invalid_query',
    );
  });

  test(`sums usage per UTC day and hour, per currency, exactly${skipped}`, async () => {
    const cost = (total: bigint, currency = 'USD') => ({
      currency,
      input: total,
      cachedInput: 0n,
      cacheWrite: 0n,
      output: 0n,
      reasoning: 0n,
      total,
    });
    const tokens = { input: 10, cachedInput: 1, cacheWrite: 2, output: 5, reasoning: 3 };
    await insertRows(database, [
      ledgerRow({ createdAt: at('2026-12-03T09:59:59.999Z'), tokens, cost: cost(1n) }),
      ledgerRow({ createdAt: at('2026-12-03T10:00:00.000Z'), tokens, cost: cost(2n) }),
      ledgerRow({ createdAt: at('2026-12-03T10:30:00.000Z'), tokens, cost: cost(7_000_000_000_000n, 'CNY') }),
      ledgerRow({ createdAt: at('2026-12-03T23:59:59.999Z'), tokens, cost: null }),
      ledgerRow({ createdAt: at('2026-12-04T00:00:00.000Z'), tokens, cost: cost(4n), estimated: true }),
      // Outside the range asked for.
      ledgerRow({ createdAt: at('2026-12-05T00:00:00.000Z'), tokens, cost: cost(1000n) }),
    ]);
    const range = { from: at('2026-12-03T00:00:00Z'), to: at('2026-12-05T00:00:00Z') };
    const times = (tokenCount: number) => ({
      input: 10 * tokenCount,
      cachedInput: tokenCount,
      cacheWrite: 2 * tokenCount,
      output: 5 * tokenCount,
      reasoning: 3 * tokenCount,
    });
    expect(await queries.usage({ groupBy: 'day', ...range })).toEqual([
      {
        group: '2026-12-03T00:00:00.000Z',
        requests: 4,
        errors: 0,
        unpriced: 1,
        estimated: 0,
        tokens: times(4),
        cost: { USD: 3n, CNY: 7_000_000_000_000n },
        cacheHits: 0,
        costSaved: {},
      },
      {
        group: '2026-12-04T00:00:00.000Z',
        requests: 1,
        errors: 0,
        unpriced: 0,
        estimated: 1,
        tokens: times(1),
        cost: { USD: 4n },
        cacheHits: 0,
        costSaved: {},
      },
    ]);
    expect(
      (await queries.usage({ groupBy: 'hour', ...range })).map((group) => [group.group, group.requests, group.cost]),
    ).toEqual([
      ['2026-12-03T09:00:00.000Z', 1, { USD: 1n }],
      ['2026-12-03T10:00:00.000Z', 2, { USD: 2n, CNY: 7_000_000_000_000n }],
      ['2026-12-03T23:00:00.000Z', 1, {}],
      ['2026-12-04T00:00:00.000Z', 1, { USD: 4n }],
    ]);
  });

  test(`counts cache hits and sums what they saved, exactly, apart from the cost${skipped}`, async () => {
    const zero = { currency: 'USD', input: 0n, cachedInput: 0n, cacheWrite: 0n, output: 0n, reasoning: 0n, total: 0n };
    const noTokens = { input: 0, cachedInput: 0, cacheWrite: 0, output: 0, reasoning: 0 };
    // Past 2^63 together: the sum must still be exact on SQLite.
    const big = 2n ** 62n + 7n;
    const hit = ledgerRow({ model: 'chat', tokens: noTokens, cost: zero, cacheHit: true, costSaved: big });
    await insertRows(database, [
      ledgerRow({ model: 'chat' }),
      hit,
      ledgerRow({ model: 'chat', tokens: noTokens, cost: zero, cacheHit: true, costSaved: big }),
    ]);
    const [group] = await queries.usage({ groupBy: 'model' });
    expect(group?.requests).toBe(3);
    expect(group?.cacheHits).toBe(2);
    expect(group?.costSaved).toEqual({ USD: 2n * big });
    expect(group?.cost).toEqual({ USD: 360_000_000n });
    expect(await queries.getRequest(hit.requestId)).toEqual(hit);
  });

  test(`groups usage by model, provider and key (requests without a key grouped as null)${skipped}`, async () => {
    await insertRows(database, [
      ledgerRow({ model: 'chat', provider: 'openai', apiKeyId: 'vk_a' }),
      ledgerRow({ model: 'chat', provider: 'glm', apiKeyId: null }),
      ledgerRow({ model: 'embed', provider: 'openai', apiKeyId: 'vk_a' }),
    ]);
    const summary = async (groupBy: 'model' | 'provider' | 'key') =>
      (await queries.usage({ groupBy })).map((group) => [group.group, group.requests, group.cost.USD]);
    expect(await summary('model')).toEqual([
      ['chat', 2, 720_000_000n],
      ['embed', 1, 360_000_000n],
    ]);
    expect(await summary('provider')).toEqual([
      ['glm', 1, 360_000_000n],
      ['openai', 2, 720_000_000n],
    ]);
    expect(await summary('key')).toEqual([
      [null, 1, 360_000_000n],
      ['vk_a', 2, 720_000_000n],
    ]);
  });

  test(`splits each hour by model, provider or key, and counts failed requests as errors${skipped}`, async () => {
    const cost = (total: bigint) => ({
      input: total,
      cachedInput: 0n,
      cacheWrite: 0n,
      output: 0n,
      reasoning: 0n,
      total,
      currency: 'USD',
    });
    await insertRows(database, [
      ledgerRow({ createdAt: at('2026-12-03T10:05:00Z'), model: 'chat', apiKeyId: 'vk_a', cost: cost(5n) }),
      ledgerRow({ createdAt: at('2026-12-03T10:06:00Z'), model: 'chat', apiKeyId: null, cost: cost(7n) }),
      ledgerRow({
        createdAt: at('2026-12-03T10:07:00Z'),
        model: 'chat',
        apiKeyId: 'vk_a',
        status: 'failed',
        httpStatus: 500,
        errorKind: 'server',
        cost: null,
      }),
      ledgerRow({ createdAt: at('2026-12-03T10:08:00Z'), model: 'embed', apiKeyId: 'vk_a', status: 'cancelled' }),
      ledgerRow({ createdAt: at('2026-12-03T11:00:00Z'), model: 'embed', apiKeyId: 'vk_b', cost: cost(11n) }),
    ]);
    const range = { from: at('2026-12-03T00:00:00Z'), to: at('2026-12-04T00:00:00Z') };
    const series = async (split: 'model' | 'key') =>
      (await queries.usage({ groupBy: 'hour', split, ...range })).map((group) => [
        group.group,
        group.split,
        group.requests,
        group.errors,
        group.cost.USD ?? null,
      ]);
    expect(await series('model')).toEqual([
      ['2026-12-03T10:00:00.000Z', 'chat', 3, 1, 12n],
      ['2026-12-03T10:00:00.000Z', 'embed', 1, 0, 360_000_000n],
      ['2026-12-03T11:00:00.000Z', 'embed', 1, 0, 11n],
    ]);
    expect(await series('key')).toEqual([
      ['2026-12-03T10:00:00.000Z', null, 1, 0, 7n],
      ['2026-12-03T10:00:00.000Z', 'vk_a', 3, 1, 5n + 360_000_000n],
      ['2026-12-03T11:00:00.000Z', 'vk_b', 1, 0, 11n],
    ]);
  });

  test(`gives p50 and p95 latency and time to first token per model, of completed requests in range${skipped}`, async () => {
    const rows = [];
    // chat: latencies 10, 20, ... 200 (20 samples): nearest rank p50 is the 10th (100), p95 the 19th (190).
    for (let index = 1; index <= 20; index++) {
      rows.push(
        ledgerRow({
          requestId: `chat-${index}`,
          createdAt: at('2026-12-03T10:00:00Z'),
          model: 'chat',
          latencyMs: 10 * (21 - index),
          // Only the streams (every other one) have a time to first token: 2, 4, ... 20 → p50 10, p95 20.
          ttftMs: index % 2 === 0 ? index : null,
        }),
      );
    }
    rows.push(
      ledgerRow({
        requestId: 'solo',
        createdAt: at('2026-12-03T10:00:00Z'),
        model: 'solo',
        latencyMs: 42,
        ttftMs: null,
      }),
      // A failure and a row outside the range do not count.
      ledgerRow({
        requestId: 'solo-failed',
        createdAt: at('2026-12-03T10:00:00Z'),
        model: 'solo',
        latencyMs: 90_000,
        status: 'failed',
      }),
      ledgerRow({ requestId: 'old', createdAt: at('2026-12-01T10:00:00Z'), model: 'solo', latencyMs: 90_000 }),
    );
    await insertRows(database, rows);
    expect(await queries.latency({ from: at('2026-12-03T00:00:00Z'), to: at('2026-12-04T00:00:00Z') })).toEqual([
      { model: 'chat', latency: { samples: 20, p50: 100, p95: 190 }, ttft: { samples: 10, p50: 10, p95: 20 } },
      { model: 'solo', latency: { samples: 1, p50: 42, p95: 42 }, ttft: { samples: 0, p50: null, p95: null } },
    ]);
    expect(await queries.latency({ from: at('2026-12-05T00:00:00Z') })).toEqual([]);
  });

  test(`sums past 2^63 units without overflow or rounding${skipped}`, async () => {
    // Four requests of about $4.6 million each: the sum passes 2^63 units of 10^-12 (about $9.2 million), where
    // SQLite's SUM fails and a float would round.
    const big = 2n ** 62n + 12_345n;
    const rows = Array.from({ length: 4 }, () =>
      ledgerRow({
        cost: { currency: 'USD', input: big, cachedInput: 0n, cacheWrite: 0n, output: 0n, reasoning: 0n, total: big },
      }),
    );
    await insertRows(database, [...rows, ledgerRow({ cost: null })]);
    const [group] = await queries.usage({ groupBy: 'model' });
    expect(group?.cost).toEqual({ USD: 4n * big });
    expect(group?.requests).toBe(5);
  });

  test(`prunes rows older than a date in batches and keeps the rest${skipped}`, async () => {
    const old = Array.from({ length: 11 }, (_, index) =>
      ledgerRow({ createdAt: new Date(Date.UTC(2026, 0, 1, 0, index)) }),
    );
    const kept = [
      ledgerRow({ createdAt: at('2026-06-01T00:00:00Z') }),
      ledgerRow({ createdAt: at('2026-06-02T00:00:00Z') }),
    ];
    await insertRows(database, [...old, ...kept]);
    expect(await queries.prune(at('2026-06-01T00:00:00Z'), { batchSize: 3 })).toBe(11);
    expect((await queries.listRequests()).rows.map((row) => row.requestId)).toEqual(
      kept.map((row) => row.requestId).reverse(),
    );
    expect(await queries.prune(at('2026-06-01T00:00:00Z'))).toBe(0);
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    await expect(queries.prune(at('2027-01-01T00:00:00Z'), { signal: controller.signal })).rejects.toThrow(
      'shutting down',
    );
    expect((await queries.listRequests()).rows).toHaveLength(2);
  });
});
