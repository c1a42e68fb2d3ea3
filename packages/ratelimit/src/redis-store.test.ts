import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { RateLimit, RateLimitStore } from './rate-limit.ts';
import { isRateLimitUnavailableError } from './rate-limit-errors.ts';
import { createRateLimiter, type RateLimiter, type RateLimiterEvent } from './rate-limiter.ts';
import { createRedisRateLimitStore, type RedisClientLike } from './redis-store.ts';
import { composeScope } from './scope.ts';
import { storeSuite } from './test-store-suite.ts';

const REDIS_URL = process.env.REDIS_URL ?? '';
const redisTests = REDIS_URL === '' ? describe.skip : describe;
const skipped = REDIS_URL === '' ? ' (skipped: REDIS_URL is not set, and these tests need a real Redis)' : '';

/** A prefix no other test (or run) uses, so that runs on a shared Redis never meet. */
function testPrefix(): string {
  return `gw-test:ratelimit:${randomUUID()}:`;
}

/** A client that never retries for long and never prints its connection errors (the tests provoke them). */
function client(options: { port?: number; url?: string } = {}): Redis {
  const redis =
    options.port === undefined
      ? new Redis(options.url ?? REDIS_URL, { retryStrategy: () => 20 })
      : new Redis({ host: '127.0.0.1', port: options.port, retryStrategy: () => 20, maxRetriesPerRequest: 0 });
  redis.on('error', () => undefined);
  return redis;
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

/**
 * A TCP relay to the real Redis that the test can cut (Redis down), restore on the same port (Redis back), or
 * stall (Redis up but not answering). It stands between one client and the shared Redis, which keeps running.
 */
async function startRelay(port = 0): Promise<{
  port: number;
  stall: () => void;
  cut: () => Promise<void>;
}> {
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
  server.listen(port, '127.0.0.1');
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
    cut: async () => {
      server.close();
      for (const socket of sockets) socket.destroy();
      await once(server, 'close');
    },
  };
}

async function ready(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') await once(redis, 'ready');
}

const perMinute = (scope: string, limit: number): RateLimit => ({ scope, unit: 'requests', limit });

redisTests(`createRedisRateLimitStore: the shared store suite${skipped}`, () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = client();
    await ready(redis);
  });
  afterAll(async () => {
    await redis.quit();
  });

  // The suite is about the numbers: a timeout far above the default, so that a loaded machine cannot fail it.
  storeSuite((now) => createRedisRateLimitStore({ client: redis, prefix: testPrefix(), now, timeoutMs: 10_000 }));
});

redisTests(`createRedisRateLimitStore${skipped}`, () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = client();
    await ready(redis);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('shares one limit exactly between two limiters on two clients: 10 per minute is 10 in total', async () => {
    const prefix = testPrefix();
    const other = client();
    await ready(other);
    try {
      const [first, second] = [redis, other].map((connection) =>
        createRateLimiter({ store: createRedisRateLimitStore({ client: connection, prefix }) }),
      ) as [RateLimiter, RateLimiter];
      const limit = [perMinute(composeScope('key', 'shared'), 10)];
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          (index % 2 === 0 ? first : second).take(limit).then(
            () => 'allowed',
            () => 'refused',
          ),
        ),
      );
      expect(outcomes.filter((outcome) => outcome === 'allowed')).toHaveLength(10);
      // The next one is refused whichever replica asks.
      await expect(first.take(limit)).rejects.toMatchObject({ status: 429 });
      await expect(second.take(limit)).rejects.toMatchObject({ status: 429 });
    } finally {
      await other.quit();
    }
  });

  it('holds 10 per minute across two stores on two clients: at most 10 in every rolling minute, none refused below', async () => {
    // The acceptance test, on a clock both stores share, with takes from both racing at each step.
    const prefix = testPrefix();
    const other = client();
    await ready(other);
    try {
      let clock = 1_700_000_000_000;
      const [first, second] = [redis, other].map((connection) =>
        createRedisRateLimitStore({ client: connection, prefix, now: () => clock, timeoutMs: 10_000 }),
      ) as [RateLimitStore, RateLimitStore];
      const limit = [perMinute(composeScope('key', 'acceptance'), 10)];
      const passed: number[] = [];
      let seed = 3;
      for (let step = 0; step < 150; step += 1) {
        seed = (seed * 48_271) % 2_147_483_647;
        clock += seed % 4000;
        const attempts = 1 + (seed % 4);
        const inWindow = passed.filter((at) => at > clock - 60_000).length;
        const results = await Promise.all(
          Array.from({ length: attempts }, async (_, index) =>
            (index % 2 === 0 ? first : second).take(limit, { requests: 1, tokens: 0 }),
          ),
        );
        const allowed = results.filter((result) => result.allowed).length;
        expect(allowed, `at ${clock} ms: ${attempts} tried with ${inWindow} in the last minute`).toBe(
          Math.min(attempts, 10 - inWindow),
        );
        for (let index = 0; index < allowed; index += 1) passed.push(clock);
      }
      const busiest = Math.max(
        ...passed.map((start) => passed.filter((at) => at >= start && at < start + 60_000).length),
      );
      expect(busiest).toBe(10);
    } finally {
      await other.quit();
    }
  });

  it('keeps a sliding window in keys that expire with its newest take, one entry per take, deleted once empty', async () => {
    const prefix = testPrefix();
    let clock = 1_700_000_000_000;
    const store = createRedisRateLimitStore({ client: redis, prefix, now: () => clock, timeoutMs: 10_000 });
    const limit = [perMinute('user:ttl', 3)];
    const log = `${prefix}{user:ttl}:r:s60000`;
    await store.take(limit, { requests: 1, tokens: 0 });
    clock += 30_000;
    await store.take(limit, { requests: 1, tokens: 0 });
    await store.take(limit, { requests: 1, tokens: 0 });
    expect(await store.take(limit, { requests: 1, tokens: 0 })).toMatchObject({ allowed: false });
    expect(await redis.zcard(log)).toBe(3);
    for (const key of [log, `${log}:sum`]) {
      expect(await redis.pttl(key), key).toBeGreaterThan(59_000);
      expect(await redis.pttl(key), key).toBeLessThanOrEqual(60_000);
    }

    // Once the first has left the window its entry is gone; once all have, so are both keys.
    clock += 30_000;
    expect((await store.take(limit, { requests: 0, tokens: 0 })).states[0]?.remaining).toBe(1);
    expect(await redis.zcard(log)).toBe(2);
    clock += 30_000;
    expect((await store.take(limit, { requests: 0, tokens: 0 })).states[0]?.remaining).toBe(3);
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
  });

  it('uses the Redis server clock by default, and every key it writes expires', async () => {
    const prefix = testPrefix();
    const limiter = createRateLimiter({ store: createRedisRateLimitStore({ client: redis, prefix }) });
    const owner = composeScope('key', 'clock');
    const limits: RateLimit[] = [
      perMinute(owner, 3),
      { scope: owner, unit: 'tokens', limit: 1000 },
      { scope: composeScope('key', 'clock', 'model', 'gpt-4o'), unit: 'requests', limit: 5 },
      { scope: owner, unit: 'requests', limit: 100, algorithm: 'gcra' },
      { scope: 'global', unit: 'requests', limit: 100, algorithm: 'fixed-window', windowMs: 86_400_000 },
    ];
    for (let index = 0; index < 3; index += 1) await limiter.take(limits, { tokens: 10 });
    const error = await limiter.take(limits, { tokens: 10 }).catch((reason: unknown) => reason);
    expect(error).toMatchObject({ status: 429, scope: owner, unit: 'requests' });
    // About 60 s (until the first of the three leaves the window), whatever the exact Redis time was.
    expect((error as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(59_000);
    expect((error as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(60_000);

    const keys = (await redis.keys(`${prefix}*`)).sort();
    expect(keys).toEqual(
      [
        `${prefix}={key:clock}:model:gpt-4o:r:s60000`,
        `${prefix}={key:clock}:model:gpt-4o:r:s60000:sum`,
        `${prefix}={key:clock}:r:g60000`,
        `${prefix}={key:clock}:r:s60000`,
        `${prefix}={key:clock}:r:s60000:sum`,
        `${prefix}={key:clock}:t:s60000`,
        `${prefix}={key:clock}:t:s60000:sum`,
        `${prefix}{global}:r:f86400000`,
      ].sort(),
    );
    for (const key of keys) {
      const ttl = await redis.pttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(key.endsWith('f86400000') ? 86_400_000 : 60_000);
    }
  });

  it('keeps the keys of a very long scope short, and one scope in one slot', async () => {
    const prefix = testPrefix();
    const store = createRedisRateLimitStore({ client: redis, prefix });
    const long = `{owner}${'x'.repeat(100_000)}`;
    await store.take([perMinute(long, 5), perMinute('{owner}:short', 5)], { requests: 1, tokens: 0 });
    const keys = await redis.keys(`${prefix}*`);
    expect(keys).toHaveLength(4); // each sliding window's log and its sum
    for (const key of keys) {
      expect(key.length).toBeLessThan(120);
      expect(key.slice(prefix.length)).toMatch(/^=?\{owner\}/);
    }
  });

  it('loads its script again when the Redis script cache does not have it', async () => {
    // EVALSHA of an unknown digest gets the same NOSCRIPT reply as after a Redis restart or failover.
    const forgetful: RedisClientLike = {
      status: 'ready',
      evalsha: (_sha1, numkeys, ...args) => redis.evalsha('0'.repeat(40), numkeys, ...args),
      eval: (script, numkeys, ...args) => redis.eval(script, numkeys, ...args),
    };
    const store = createRedisRateLimitStore({ client: forgetful, prefix: testPrefix() });
    const first = await store.take([perMinute('user:1', 1)], { requests: 1, tokens: 0 });
    const second = await store.take([perMinute('user:1', 1)], { requests: 1, tokens: 0 });
    expect([first.allowed, second.allowed]).toEqual([true, false]);
  });

  it('refuses, before any call, a take across hash tags on a Redis Cluster client', async () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: await freePort() }], { lazyConnect: true });
    cluster.on('error', () => undefined);
    try {
      const limiter = createRateLimiter({ store: createRedisRateLimitStore({ client: cluster }) });
      await expect(
        limiter.take([perMinute(composeScope('key', 'k1'), 5), perMinute(composeScope('global'), 5)]),
      ).rejects.toThrow('on Redis Cluster the limits of one take must share a hash tag');
      expect(limiter.stats()).toMatchObject({ failedOpen: 0, storeErrors: 0 });
    } finally {
      cluster.disconnect();
    }
  });

  it('accepts ioredis clients, single and cluster, as RedisClientLike', () => {
    expectTypeOf<Redis>().toExtend<RedisClientLike>();
    expectTypeOf<Cluster>().toExtend<RedisClientLike>();
  });

  it('refuses a prefix with braces', () => {
    expect(() => createRedisRateLimitStore({ client: redis, prefix: 'a{b}:' })).toThrow(RangeError);
  });
});

redisTests(`createRedisRateLimitStore when Redis is down${skipped}`, () => {
  function limiterOn(connection: RedisClientLike, failMode: 'open' | 'closed' = 'open') {
    const events: RateLimiterEvent[] = [];
    const limiter = createRateLimiter({
      store: createRedisRateLimitStore({ client: connection, prefix: testPrefix(), timeoutMs: 50 }),
      failMode,
      onEvent: (event) => events.push(event),
    });
    return { limiter, events };
  }
  const limit = [perMinute('user:1', 1)];

  it('fails open at once when nothing listens, and reports the outage once', async () => {
    const down = client({ port: await freePort() });
    try {
      const { limiter, events } = limiterOn(down);
      const leases = [await limiter.take(limit), await limiter.take(limit), await limiter.take(limit)];
      expect(leases.map((lease) => lease.degraded)).toEqual([true, true, true]);
      expect(events).toEqual([{ type: 'store_down', error: expect.any(Error) }]);
      expect(limiter.stats()).toMatchObject({ failedOpen: 3, storeErrors: 3, outages: 1, storeDown: true });
    } finally {
      down.disconnect();
    }
  });

  it('fails closed on request, with a 503-shaped error', async () => {
    const down = client({ port: await freePort() });
    try {
      const { limiter } = limiterOn(down, 'closed');
      const error = await limiter.take(limit).catch((reason: unknown) => reason);
      expect(isRateLimitUnavailableError(error)).toBe(true);
      expect(limiter.stats()).toMatchObject({ failedClosed: 1, outages: 1 });
    } finally {
      down.disconnect();
    }
  });

  it('recovers without a restart when the client reconnects after disconnect()', async () => {
    const connection = client();
    await ready(connection);
    try {
      const { limiter, events } = limiterOn(connection);
      expect((await limiter.take(limit)).degraded).toBe(false);

      connection.disconnect();
      expect((await limiter.take(limit)).degraded).toBe(true);
      expect(events).toEqual([{ type: 'store_down', error: expect.any(Error) }]);

      await connection.connect();
      // Counting resumed where it was: the limit of 1 was spent before the outage.
      await expect(limiter.take(limit)).rejects.toMatchObject({ status: 429 });
      expect(events.slice(1)).toEqual([
        { type: 'store_up', downMs: expect.any(Number), errors: 1 },
        { type: 'refused', scope: 'user:1', unit: 'requests', retryAfterMs: expect.any(Number) },
      ]);
      expect(limiter.stats()).toMatchObject({ storeDown: false, outages: 1, failedOpen: 1 });
    } finally {
      connection.disconnect();
    }
  });

  it('recovers on its own when Redis comes back on the same address', async () => {
    const relay = await startRelay();
    const connection = client({ port: relay.port });
    await ready(connection);
    let restored: Awaited<ReturnType<typeof startRelay>> | undefined;
    try {
      const { limiter, events } = limiterOn(connection);
      expect((await limiter.take(limit)).degraded).toBe(false);

      await relay.cut();
      expect((await limiter.take(limit)).degraded).toBe(true);

      restored = await startRelay(relay.port);
      await ready(connection); // ioredis reconnects by itself (retryStrategy)
      await expect(limiter.take(limit)).rejects.toMatchObject({ status: 429 });
      expect(events.map((event) => event.type)).toEqual(['store_down', 'store_up', 'refused']);
    } finally {
      connection.disconnect();
      await restored?.cut();
    }
  });

  it('takes an answer that came while this process was busy past timeoutMs: only Redis’s own delay counts', async () => {
    const connection = client();
    await ready(connection);
    try {
      const { limiter, events } = limiterOn(connection, 'closed');
      const taken = limiter.take([perMinute('user:busy', 5)]);
      // Synchronous work longer than the timeout (a long task, a GC pause, no CPU): Redis answers meanwhile, unread.
      const until = performance.now() + 300;
      while (performance.now() < until);
      await expect(taken).resolves.toMatchObject({ degraded: false });
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
      const { limiter, events } = limiterOn(connection);
      relay.stall();
      const lease = await limiter.take(limit);
      expect(lease.degraded).toBe(true);
      expect(events).toEqual([{ type: 'store_down', error: new Error('redis did not answer within 50 ms') }]);

      // An abort while Redis is silent is the caller's answer, not an outage.
      const controller = new AbortController();
      const aborted = limiter.take(limit, { signal: controller.signal });
      controller.abort(new Error('client left'));
      await expect(aborted).rejects.toThrow('client left');
      expect(limiter.stats()).toMatchObject({ failedOpen: 1, storeErrors: 1 });
    } finally {
      connection.disconnect();
      await relay.cut();
    }
  });
});
