import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Gives a held slot back; calling it more than once does nothing. */
export type ReleaseSlot = () => void;

/**
 * Caps how many requests of one owner (a virtual key's `max_parallel`) run at once: in this process, or across every
 * process sharing a Redis.
 */
export interface ParallelLimit {
  /**
   * Takes one of `max` slots of `scope`: the release, or `undefined` when all are taken. Rejects when the store
   * cannot decide (Redis down): the caller applies its fail mode.
   */
  acquire(scope: string, max: number): Promise<ReleaseSlot | undefined>;
}

/**
 * Slots counted in this process.
 *
 * @example
 * const parallel = createMemoryParallelLimit();
 * const release = await parallel.acquire('key_1', 4);
 */
export function createMemoryParallelLimit(): ParallelLimit {
  const running = new Map<string, number>();
  return {
    acquire(scope, max) {
      const count = running.get(scope) ?? 0;
      if (count >= max) return Promise.resolve(undefined);
      running.set(scope, count + 1);
      let held = true;
      return Promise.resolve(() => {
        if (!held) return;
        held = false;
        const left = (running.get(scope) ?? 1) - 1;
        if (left <= 0) running.delete(scope);
        else running.set(scope, left);
      });
    },
  };
}

// One sorted set per scope: members are slot ids, scores the time each slot lapses. Lapsed slots (a process that
// died holding them) are dropped before counting. The clock is Redis's own, the one all processes share.
const ACQUIRE_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local max = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= max then return 0 end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`;

const ACQUIRE_SHA1 = createHash('sha1').update(ACQUIRE_SCRIPT).digest('hex');

/** Options of {@link createRedisParallelLimit}. */
export interface RedisParallelLimitOptions {
  client: Redis;
  /** Prepended to every key. */
  prefix: string;
  /** A slot its process never gave back (it crashed) is free again after this long. */
  slotTtlMs: number;
  /** Longest wait for Redis per call; then the call rejects. Default 100 ms. */
  timeoutMs?: number | undefined;
}

/**
 * Slots counted in Redis, shared by every process using the same Redis and prefix. A slot whose process died is
 * freed after `slotTtlMs`; a release Redis does not get (it is down) is freed the same way.
 *
 * @example
 * const parallel = createRedisParallelLimit({ client: redis, prefix: 'gw:', slotTtlMs: 600_000 });
 */
export function createRedisParallelLimit(options: RedisParallelLimitOptions): ParallelLimit {
  const { client, prefix, slotTtlMs } = options;
  const timeoutMs = options.timeoutMs ?? 100;
  return {
    async acquire(scope, max) {
      const key = `${prefix}parallel:{${scope}}`;
      const id = randomUUID();
      // By its digest (the script is sent only when Redis does not have it yet, e.g. after a restart).
      const answer = client
        .evalsha(ACQUIRE_SHA1, 1, key, max, slotTtlMs, id)
        .catch((error: unknown) =>
          error instanceof Error && error.message.startsWith('NOSCRIPT')
            ? client.eval(ACQUIRE_SCRIPT, 1, key, max, slotTtlMs, id)
            : Promise.reject(error),
        );
      let taken: unknown;
      try {
        taken = await withTimeout(answer, timeoutMs);
      } catch (error) {
        // Redis may still run the script after the wait was given up: a slot taken then is nobody's, so it goes back.
        answer
          .then(
            (late) => (late === 1 ? client.zrem(key, id) : undefined),
            () => undefined,
          )
          .catch(() => undefined);
        throw error;
      }
      if (taken !== 1) return undefined;
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        client.zrem(key, id).catch(() => undefined);
      };
    },
  };
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let late: NodeJS.Immediate | undefined;
    // The answer may be in, unread, because this process was busy past the timeout (a long synchronous task, a GC
    // pause): the event loop's next I/O phase reads it before the timeout counts (setImmediate runs after that phase).
    const timer = setTimeout(() => {
      late = setImmediate(() => reject(new Error(`redis did not answer within ${timeoutMs} ms`)));
    }, timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        clearImmediate(late);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        clearImmediate(late);
        reject(error);
      },
    );
  });
}
