import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { isCostError } from '../cost-error.ts';
import { money, sumMoney, type Money } from '../money.ts';
import { isBudgetExceededError, isBudgetUnavailableError } from './budget-errors.ts';
import { periodEndOf, periodStartOf } from './budget-period.ts';
import { LATE_SETTLE_WINDOW_MS, type Budget, type BudgetStore } from './budget.ts';
import {
  createRedisBudgetStore,
  type BudgetRedisClient,
  type BudgetStoreEvent,
  type RedisBudgetStoreOptions,
} from './redis-budget-store.ts';
import { budgetStoreSuite } from './test-budget-store-suite.ts';

const REDIS_URL = process.env.REDIS_URL ?? '';
const redisTests = REDIS_URL === '' ? describe.skip : describe;
const skipped = REDIS_URL === '' ? ' (skipped: REDIS_URL is not set, and these tests need a real Redis)' : '';

const usd = (value: string): Money => money(value, 'USD');
const units = (amount: bigint): Money => ({ amount, currency: 'USD' });

// Every key of this run starts with it: removed when the run ends ('total' counters never expire on their own).
const RUN_PREFIX = `gw-test:budget:${randomUUID()}:`;

/** A prefix no other test (or run) uses, so that runs on a shared Redis never meet. */
function testPrefix(): string {
  return `${RUN_PREFIX}${randomUUID()}:`;
}

afterAll(async () => {
  if (REDIS_URL === '') return;
  const redis = client();
  try {
    await ready(redis);
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${RUN_PREFIX}*`, count: 1000 }))
      keys.push(...(batch as string[]));
    for (let index = 0; index < keys.length; index += 1000) await redis.del(...keys.slice(index, index + 1000));
  } finally {
    await redis.quit();
  }
});

/** A client that retries quickly and never prints its connection errors (the tests provoke them). */
function client(options: { port?: number } = {}): Redis {
  const redis =
    options.port === undefined
      ? new Redis(REDIS_URL, { retryStrategy: () => 20 })
      : new Redis({ host: '127.0.0.1', port: options.port, retryStrategy: () => 20, maxRetriesPerRequest: 0 });
  redis.on('error', () => undefined);
  return redis;
}

async function ready(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') await once(redis, 'ready');
}

/** A port where nothing listens: taken from the OS, then released. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** A TCP relay to the real Redis that a test can stall (Redis up, not answering) and then close. */
async function startRelay(): Promise<{ port: number; stall: () => void; close: () => Promise<void> }> {
  const target = new URL(REDIS_URL);
  const sockets = new Set<Socket>();
  const links: { from: Socket; to: Socket }[] = [];
  const server: Server = createServer((from) => {
    const to = connect(Number(target.port || 6379), target.hostname);
    for (const socket of [from, to]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    from.pipe(to);
    to.pipe(from);
    links.push({ from, to });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    // Commands stay in the relay's buffer: the client is connected and ready, and waits.
    stall: () => {
      for (const { from, to } of links) {
        from.unpipe(to);
        from.pause();
      }
    },
    close: async () => {
      server.close();
      for (const socket of sockets) socket.destroy();
      await once(server, 'close');
    },
  };
}

redisTests(`createRedisBudgetStore: the shared store suite${skipped}`, () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = client();
    await ready(redis);
  });
  afterAll(async () => {
    await redis.quit();
  });

  // Closed and patient: a slow answer on a busy machine must fail the test, not pass it as a degraded reservation.
  budgetStoreSuite((now) =>
    createRedisBudgetStore({ client: redis, prefix: testPrefix(), now, failMode: 'closed', timeoutMs: 5000 }),
  );
});

redisTests(`createRedisBudgetStore${skipped}`, () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = client();
    await ready(redis);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('never overshoots across two processes: of 5N reservations through two clients exactly N are held', async () => {
    const other = client();
    await ready(other);
    try {
      const prefix = testPrefix();
      const options: Omit<RedisBudgetStoreOptions, 'client'> = { prefix, failMode: 'closed', timeoutMs: 5000 };
      const stores = [redis, other].map((connection) => createRedisBudgetStore({ client: connection, ...options }));
      const storeFor = (index: number) => stores[index % 2] as BudgetStore;
      const n = 40;
      const amount = usd('1234.567890123457'); // N of them: above 2^53 units, where doubles round
      const budgets: Budget[] = [
        { scope: 'key:race', limit: units(amount.amount * BigInt(n)), period: 'month' },
        { scope: 'global', limit: usd('1000000'), period: 'day' },
      ];

      const outcomes = await Promise.allSettled(
        Array.from({ length: 5 * n }, (_, index) => storeFor(index).reserve(budgets, amount)),
      );
      const held = outcomes.flatMap((outcome, index) =>
        outcome.status === 'fulfilled' ? [{ reservation: outcome.value, index }] : [],
      );
      expect(held).toHaveLength(n);
      expect(held.every(({ reservation }) => !reservation.degraded)).toBe(true);
      // Both processes got some: the race really ran across the two.
      expect(new Set(held.map(({ index }) => index % 2)).size).toBe(2);
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') expect(isBudgetExceededError(outcome.reason)).toBe(true);
      }

      // Settled by the other process than the one that reserved, at costs up to the reservation.
      const actuals = held.map((_, index) => units((amount.amount * BigInt(index * 7919 + 1)) % (amount.amount + 1n)));
      const statuses = await Promise.all(
        held.map(({ reservation, index }, position) =>
          storeFor(index + 1).settle(reservation, actuals[position] as Money),
        ),
      );
      expect(new Set(statuses)).toEqual(new Set(['settled']));
      const [first, second] = await Promise.all(stores.map((store) => store.snapshot(budgets)));
      expect(first).toEqual(second);
      expect(first?.[0]?.spent).toEqual(sumMoney(actuals, 'USD'));
      expect(first?.[1]?.spent).toEqual(sumMoney(actuals, 'USD'));
      expect(first?.[0]?.reserved).toEqual(usd('0'));
      expect((first?.[0]?.spent.amount ?? Infinity) <= (budgets[0] as Budget).limit.amount).toBe(true);
    } finally {
      await other.quit();
    }
  });

  it('uses the Redis server clock by default; keys carry the scope as hash tag, and day keys expire', async () => {
    const prefix = testPrefix();
    const store = createRedisBudgetStore({ client: redis, prefix });
    const budgets: Budget[] = [
      { scope: 'key:a', limit: usd('1'), period: 'day' },
      { scope: 'key:a', limit: usd('10'), period: 'month' },
      { scope: 'key:a', limit: usd('100'), period: 'total' },
    ];
    const before = Date.now();
    const reservation = await store.reserve(budgets, usd('0.5'));
    const after = Date.now();
    // Redis runs on this machine: its clock is this clock, to the second.
    expect(reservation.reservedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(reservation.reservedAt).toBeLessThanOrEqual(after + 1000);
    expect(reservation.states.map((state) => state.periodStart)).toEqual([
      periodStartOf('day', reservation.reservedAt),
      periodStartOf('month', reservation.reservedAt),
      undefined,
    ]);

    const keys = (await redis.keys(`${prefix}*`)).sort();
    expect(keys).toEqual([
      `${prefix}{key:a}:day:USD`,
      `${prefix}{key:a}:day:USD:r`,
      `${prefix}{key:a}:month:USD`,
      `${prefix}{key:a}:month:USD:r`,
      `${prefix}{key:a}:total:USD`,
      `${prefix}{key:a}:total:USD:r`,
    ]);
    // Until the reservation could no longer be settled late, at least, and at most that or the period's end.
    const dayTtl = await redis.pttl(`${prefix}{key:a}:day:USD`);
    const keptUntil = reservation.expiresAt + LATE_SETTLE_WINDOW_MS;
    expect(dayTtl).toBeGreaterThan(keptUntil - after - 2000);
    const dayEnd = periodEndOf('day', periodStartOf('day', before)) ?? 0;
    expect(dayTtl).toBeLessThanOrEqual(Math.max(keptUntil, dayEnd) - before + 1000);
    expect(await redis.pttl(`${prefix}{key:a}:total:USD`)).toBe(-1);

    await store.settle(reservation, usd('0.25'));
    expect(await redis.exists(`${prefix}{key:a}:day:USD:r`)).toBe(0);
  });

  it('lets a day counter expire at the end of its day once nothing in it can be settled', async () => {
    const prefix = testPrefix();
    const clock = Date.parse('2026-12-03T23:00:00Z');
    const store = createRedisBudgetStore({ client: redis, prefix, now: () => clock });
    const budget: Budget = { scope: 'key:a', limit: usd('1'), period: 'day' };
    await store.settle(await store.reserve([budget], usd('0.5')), usd('0.5'));
    const ttl = await redis.pttl(`${prefix}{key:a}:day:USD`);
    expect(ttl).toBeGreaterThan(3_590_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
  });

  it('frees at most 1000 expired reservations of a budget per call, and the rest over the next calls', async () => {
    let clock = Date.parse('2026-12-03T10:00:00Z');
    const store = createRedisBudgetStore({ client: redis, prefix: testPrefix(), now: () => clock, timeoutMs: 5000 });
    const budget: Budget = { scope: 'key:crashed', limit: usd('1'), period: 'day' };
    for (let batch = 0; batch < 15; batch += 1) {
      await Promise.all(Array.from({ length: 100 }, () => store.reserve([budget], units(3n), { ttlMs: 1000 })));
    }
    clock += 1000;
    // The first call moves the 1000 that expired first; what it has not moved yet still counts (refusing, never
    // overspending), and the next call moves the rest.
    expect((await store.remaining(budget)).reserved).toEqual(units(1500n));
    expect((await store.remaining(budget)).reserved).toEqual(units(0n));
  });

  it('puts every key in one slot with hashTag, and keeps a scope’s own tag without it', async () => {
    const prefix = testPrefix();
    const tagged = createRedisBudgetStore({ client: redis, prefix, hashTag: 'budgets' });
    await tagged.reserve(
      [
        { scope: 'key:a', limit: usd('1'), period: 'day' },
        { scope: '{team}:b', limit: usd('1'), period: 'day' },
      ],
      usd('0.1'),
    );
    const own = createRedisBudgetStore({ client: redis, prefix });
    await own.reserve([{ scope: '{team}:b', limit: usd('1'), period: 'day' }], usd('0.1'));
    expect((await redis.keys(`${prefix}*`)).filter((key) => !key.endsWith(':r')).sort()).toEqual([
      `${prefix}={team}:b:day:USD`,
      `${prefix}{budgets}key:a:day:USD`,
      `${prefix}{budgets}{team}:b:day:USD`,
    ]);
  });

  it('refuses, before any call, a reservation across hash tags on Redis Cluster, unless hashTag is set', async () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: await freePort() }], { lazyConnect: true });
    cluster.on('error', () => undefined);
    try {
      const budgets: Budget[] = [
        { scope: 'key:a', limit: usd('1'), period: 'day' },
        { scope: 'global', limit: usd('1'), period: 'day' },
      ];
      const spread = createRedisBudgetStore({ client: cluster });
      const error = await spread.reserve(budgets, usd('0.1')).catch((reason: unknown) => reason);
      expect(isCostError(error) && error.kind).toBe('invalid_budget');
      expect(spread.stats()).toMatchObject({ storeErrors: 0, failedOpen: 0 });

      // One tag for all: the check passes, and the cluster (never connected) is down, so it fails open.
      const together = createRedisBudgetStore({ client: cluster, hashTag: 'budgets' });
      expect((await together.reserve(budgets, usd('0.1'))).degraded).toBe(true);
    } finally {
      cluster.disconnect();
    }
  });

  it('loads its scripts again when the Redis script cache does not have them', async () => {
    // EVALSHA of an unknown digest gets the same NOSCRIPT reply as after a Redis restart or failover.
    const forgetful: BudgetRedisClient = {
      status: 'ready',
      evalsha: (_sha1, numkeys, ...args) => redis.evalsha('0'.repeat(40), numkeys, ...args),
      eval: (script, numkeys, ...args) => redis.eval(script, numkeys, ...args),
    };
    const store = createRedisBudgetStore({ client: forgetful, prefix: testPrefix() });
    const budget: Budget = { scope: 'key:a', limit: usd('1'), period: 'day' };
    const reservation = await store.reserve([budget], usd('1'));
    expect(await store.settle(reservation, usd('0.5'))).toBe('settled');
    expect((await store.remaining(budget)).spent).toEqual(usd('0.5'));
  });

  it('computes periods in Lua exactly as in JavaScript, over four centuries of instants', async () => {
    let clock = 0;
    const store = createRedisBudgetStore({ client: redis, prefix: testPrefix(), now: () => clock, timeoutMs: 5000 });
    const budgets: Budget[] = [
      { scope: 'x', limit: usd('1'), period: 'day' },
      { scope: 'x', limit: usd('1'), period: 'month' },
    ];
    const instants = [
      Date.parse('2000-02-29T23:59:59.999Z'),
      Date.parse('2000-03-01T00:00:00.000Z'),
      Date.parse('2100-02-28T23:59:59.999Z'), // 2100 is not a leap year
      Date.parse('2100-03-01T00:00:00.000Z'),
      Date.parse('2028-12-31T23:59:59.999Z'),
      Date.parse('2029-01-01T00:00:00.000Z'),
      0,
    ];
    let seed = 12_345;
    const end = Date.parse('2400-01-01T00:00:00Z');
    for (let index = 0; index < 1500; index += 1) {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      instants.push(Math.floor((seed / 2_147_483_648) * end));
    }
    const mismatches: string[] = [];
    for (const instant of instants) {
      clock = instant;
      const [day, month] = await store.snapshot(budgets);
      const expected = [
        [periodStartOf('day', instant), periodEndOf('day', periodStartOf('day', instant))],
        [periodStartOf('month', instant), periodEndOf('month', periodStartOf('month', instant))],
      ];
      const got = [
        [day?.periodStart, day?.resetsAt],
        [month?.periodStart, month?.resetsAt],
      ];
      if (JSON.stringify(got) !== JSON.stringify(expected)) mismatches.push(new Date(instant).toISOString());
    }
    expect(mismatches).toEqual([]);
    // And JavaScript's bounds are the calendar's.
    expect(periodStartOf('month', Date.parse('2100-02-28T12:00:00Z'))).toBe(Date.parse('2100-02-01T00:00:00Z'));
    expect(periodEndOf('month', Date.parse('2100-02-01T00:00:00Z'))).toBe(Date.parse('2100-03-01T00:00:00Z'));
  });

  it('accepts ioredis clients, single and cluster, as BudgetRedisClient', () => {
    expectTypeOf<Redis>().toExtend<BudgetRedisClient>();
    expectTypeOf<Cluster>().toExtend<BudgetRedisClient>();
  });

  it('refuses a prefix or hashTag with braces', () => {
    for (const options of [{ prefix: 'a{b}:' }, { hashTag: 'a}' }, { hashTag: '' }]) {
      const error = (() => {
        try {
          createRedisBudgetStore({ client: redis, ...options });
        } catch (reason) {
          return reason;
        }
        return undefined;
      })();
      expect(isCostError(error) && error.kind, JSON.stringify(options)).toBe('invalid_budget');
    }
  });
});

redisTests(`createRedisBudgetStore when Redis is down${skipped}`, () => {
  const budget: Budget = { scope: 'key:a', limit: usd('1'), period: 'day' };

  function storeOn(connection: BudgetRedisClient, extra: Partial<RedisBudgetStoreOptions> = {}) {
    const events: BudgetStoreEvent[] = [];
    const store = createRedisBudgetStore({
      client: connection,
      prefix: testPrefix(),
      timeoutMs: 50,
      onEvent: (event) => events.push(event),
      ...extra,
    });
    return { store, events };
  }

  it('fails open at once when nothing listens, reports the outage once, and refuses reads', async () => {
    const down = client({ port: await freePort() });
    try {
      const { store, events } = storeOn(down);
      const reservations = [
        await store.reserve([budget], usd('5')),
        await store.reserve([budget], usd('5')),
        await store.reserve([budget], usd('5')),
      ];
      expect(reservations.map((reservation) => reservation.degraded)).toEqual([true, true, true]);
      expect(reservations[0]?.states).toEqual([]);
      expect(await store.settle(reservations[0]!, usd('0.1'))).toBe('not_recorded');
      const error = await store.remaining(budget).catch((reason: unknown) => reason);
      expect(isBudgetUnavailableError(error) && error.status).toBe(503);
      expect(events).toEqual([{ type: 'store_down', error: expect.any(Error) }]);
      expect(store.stats()).toMatchObject({
        failedOpen: 3,
        notRecorded: 1,
        storeErrors: 5,
        outages: 1,
        storeDown: true,
        reserved: 0,
      });
    } finally {
      down.disconnect();
    }
  });

  it('fails closed on request, with a 503 that is not a refusal', async () => {
    const down = client({ port: await freePort() });
    try {
      const { store } = storeOn(down, { failMode: 'closed' });
      const error = await store.reserve([budget], usd('0.1')).catch((reason: unknown) => reason);
      expect(isBudgetUnavailableError(error)).toBe(true);
      expect(error).toMatchObject({ kind: 'overloaded', status: 503, retryable: true, cause: expect.any(Error) });
      expect(store.stats()).toMatchObject({ failedClosed: 1, refused: 0, outages: 1 });
    } finally {
      down.disconnect();
    }
  });

  it('recovers without a restart after disconnect() and a reconnect, and records spend made while down', async () => {
    const connection = client();
    await ready(connection);
    try {
      const { store, events } = storeOn(connection);
      const held = await store.reserve([budget], usd('0.6'));
      expect(held.degraded).toBe(false);

      connection.disconnect();
      const degraded = await store.reserve([budget], usd('0.6'));
      expect(degraded.degraded).toBe(true);
      expect(events).toEqual([{ type: 'store_down', error: expect.any(Error) }]);

      await connection.connect();
      // Counting resumed where it was: 0.6 of 1 is held, so 0.6 more is refused.
      await expect(store.reserve([budget], usd('0.6'))).rejects.toMatchObject({ status: 402 });
      expect(events.slice(1)).toEqual([{ type: 'store_up', downMs: expect.any(Number), errors: 1 }]);

      // The request let through while Redis was down spent money: settling it now records that, once.
      expect(await store.settle(degraded, usd('0.3'))).toBe('settled');
      expect(await store.settle(degraded, usd('0.3'))).toBe('already_settled');
      expect(await store.settle(held, usd('0.2'))).toBe('settled');
      expect(await store.remaining(budget)).toMatchObject({ spent: usd('0.5'), reserved: usd('0') });
      expect(store.stats()).toMatchObject({ storeDown: false, outages: 1, failedOpen: 1, settled: 2 });
    } finally {
      connection.disconnect();
    }
  });

  it('takes an answer that came while this process was busy past timeoutMs: only Redis’s own delay counts', async () => {
    const connection = client();
    await ready(connection);
    try {
      const { store, events } = storeOn(connection, { failMode: 'closed' });
      const reserved = store.reserve([budget], usd('0.1'));
      // Synchronous work longer than the timeout (a long task, a GC pause, no CPU): Redis answers meanwhile, unread.
      const until = performance.now() + 300;
      while (performance.now() < until);
      const reservation = await reserved;
      expect(reservation.degraded).toBe(false);
      expect(await store.settle(reservation, usd('0.1'))).toBe('settled');
      expect(events).toEqual([]);
    } finally {
      connection.disconnect();
    }
  });

  it('does not hang when Redis stops answering: the call gives up after timeoutMs', async () => {
    const relay = await startRelay();
    const connection = client({ port: relay.port });
    await ready(connection);
    try {
      const { store, events } = storeOn(connection);
      relay.stall();
      expect((await store.reserve([budget], usd('0.1'))).degraded).toBe(true);
      expect(events).toEqual([{ type: 'store_down', error: new Error('redis did not answer within 50 ms') }]);

      // An abort while Redis is silent is the caller's answer, not an outage.
      const controller = new AbortController();
      const aborted = store.reserve([budget], usd('0.1'), { signal: controller.signal });
      controller.abort(new Error('client left'));
      await expect(aborted).rejects.toThrow('client left');
      expect(store.stats()).toMatchObject({ failedOpen: 1, storeErrors: 1 });
    } finally {
      connection.disconnect();
      await relay.close();
    }
  });
});
