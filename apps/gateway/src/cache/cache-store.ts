import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

/**
 * Where the response cache keeps answers: text by key, each with its own time to live. A store never throws to its
 * caller: an entry it cannot read is a miss, one it cannot write is not kept.
 */
export interface CacheStore {
  /** The text stored under `key`, or `undefined` (absent, expired, or the store unreachable). */
  get(key: string): Promise<string | undefined>;
  /** Keeps `value` under `key` for `ttlMs`; resolves once stored or given up. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
}

/**
 * A store in this process's memory: an LRU bounded by the UTF-8 bytes of its keys and values (an entry larger than
 * the whole bound is not kept), entries expiring after their TTL.
 *
 * @example
 * const store = createMemoryCacheStore({ maxBytes: 64 * 1024 * 1024 });
 * await store.set('k', '{"answer":1}', 60_000);
 */
export function createMemoryCacheStore(options: { maxBytes: number }): CacheStore {
  const entries = new LRUCache<string, string>({
    maxSize: options.maxBytes,
    sizeCalculation: (value, key) => Buffer.byteLength(value) + Buffer.byteLength(key),
    // The clock is read on each lookup rather than kept by a timer armed every millisecond of traffic.
    ttlResolution: 0,
  });
  return {
    get: (key) => Promise.resolve(entries.get(key)),
    set: (key, value, ttlMs) => {
      entries.set(key, value, { ttl: ttlMs });
      return Promise.resolve();
    },
  };
}

/** Options of {@link createRedisCacheStore}. */
export interface RedisCacheStoreOptions {
  client: Redis;
  /** Before every key (`redis.prefix` + `cache:`). */
  prefix: string;
  /** A command Redis has not answered within this is given up (a miss, or an answer not kept). */
  timeoutMs: number;
  /** Told when Redis fails after it worked (once per outage), and when it answers again. */
  onOutage?: ((down: boolean, error?: unknown) => void) | undefined;
}

/**
 * A store in Redis, shared by every process on it: `GET`, and `SET … PX ttl` so Redis expires entries itself. While
 * Redis is unreachable or slow every read is a miss and every write is dropped; the outage is reported once.
 *
 * @example
 * const store = createRedisCacheStore({ client: redis.client, prefix: 'gw:cache:', timeoutMs: 100 });
 */
export function createRedisCacheStore(options: RedisCacheStoreOptions): CacheStore {
  const { client, prefix, timeoutMs, onOutage } = options;
  let down = false;
  const run = async <T>(command: () => Promise<T>): Promise<T | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        command(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`redis did not answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      if (down) {
        down = false;
        onOutage?.(false);
      }
      return result;
    } catch (error) {
      if (!down) {
        down = true;
        onOutage?.(true, error);
      }
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    get: async (key) => (await run(() => client.get(prefix + key))) ?? undefined,
    set: async (key, value, ttlMs) => {
      await run(() => client.set(prefix + key, value, 'PX', ttlMs));
    },
  };
}
