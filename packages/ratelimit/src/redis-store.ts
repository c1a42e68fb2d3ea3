import {
  DEFAULT_ALGORITHM,
  DEFAULT_WINDOW_MS,
  type LimitState,
  type RateLimit,
  type RateLimitAlgorithm,
  type RateLimitAmounts,
  type RateLimitStore,
  type StoreTakeResult,
} from './rate-limit.ts';
import { ADJUST_SCRIPT, TAKE_SCRIPT, type RedisScript } from './redis-scripts.ts';
import { digest, MAX_SCOPE_LENGTH } from './scope.ts';

/** Default of {@link RedisRateLimitStoreOptions.prefix}. */
const DEFAULT_PREFIX = 'gw:rl:';
/** Default of {@link RedisRateLimitStoreOptions.timeoutMs}. */
const DEFAULT_TIMEOUT_MS = 100;
// A hash tag longer than this is replaced by its digest (still one tag per owner, just shorter).
const MAX_TAG_LENGTH = 128;

/** How the scripts and the keys name each algorithm. */
const ALGORITHM_CODE: Record<RateLimitAlgorithm, string> = { 'sliding-window': 's', gcra: 'g', 'fixed-window': 'f' };

function algorithmCode(limit: RateLimit): string {
  return ALGORITHM_CODE[limit.algorithm ?? DEFAULT_ALGORITHM];
}

/**
 * The part of an ioredis client (`Redis` or `Cluster`, ioredis 5 or 6) the store uses. Typed structurally, so
 * that this package's types do not require ioredis to be installed by those who only use the memory store.
 *
 * @example
 * ```ts
 * const client: RedisClientLike = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * ```
 */
export interface RedisClientLike {
  /** ioredis's connection state; the store only sends commands when it is `'ready'`. */
  readonly status: string;
  /** True for an ioredis `Cluster`: a take must then keep to one hash tag. */
  readonly isCluster?: boolean | undefined;
  evalsha(sha1: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/**
 * Options of {@link createRedisRateLimitStore}.
 *
 * @example
 * ```ts
 * const options: RedisRateLimitStoreOptions = { client: redis, prefix: 'myapp:rl:', timeoutMs: 50 };
 * ```
 */
export interface RedisRateLimitStoreOptions {
  /** An ioredis client the caller owns (connects, closes, configures); the store never closes it. */
  client: RedisClientLike;
  /**
   * Prepended to every key; stores with the same Redis and prefix share their limits. No braces (they would
   * become the hash tag). Default `'gw:rl:'`.
   */
  prefix?: string | undefined;
  /**
   * Longest wait for Redis per call, in ms; then the call fails (and the limiter fails open or closed), so a
   * request is decided quickly even when Redis hangs. Default 100.
   */
  timeoutMs?: number | undefined;
  /**
   * Clock in ms sent with each call. Default: none, the Redis server's clock (`TIME`) is used, the one clock every
   * replica shares. Give one only in tests, or when all replicas' clocks are known to agree.
   */
  now?: (() => number) | undefined;
}

/**
 * Creates a store that keeps counters in Redis, so that every process using the same Redis and prefix shares
 * each limit exactly. A take is one `EVALSHA` of a Lua script, atomic across all its limits. Keys expire when
 * their limit is whole again (the newest take left a sliding window, or a GCRA counter drained) or their window
 * ends (fixed-window), so idle scopes cost nothing.
 *
 * While the client is not `ready` (connecting, reconnecting, ended) calls fail at once without queuing a command
 * that would run later; a call that waits longer than `timeoutMs` fails. Wrap the store in `createRateLimiter`,
 * which turns those failures into fail-open or fail-closed decisions, reported once per outage.
 *
 * Keys: `<prefix>=<scope>:<r|t>:<s|g|f><windowMs>` for a scope with a hash tag
 * (`gw:rl:={key:k1}:model:m:r:s60000`), and the scope in braces for one without (`gw:rl:{user:42}:r:s60000`); a
 * sliding window's log (a sorted set) has its sum beside it, in the same name followed by `:sum`. On Redis Cluster
 * every limit of one take must share a hash tag; scopes made by `composeScope` with the same owner do.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 *
 * const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * const limiter = createRateLimiter({ store: createRedisRateLimitStore({ client: redis }) });
 * const lease = await limiter.take([{ scope: 'user:42', unit: 'requests', limit: 60 }]);
 * ```
 */
export function createRedisRateLimitStore(options: RedisRateLimitStoreOptions): RateLimitStore {
  const client = options.client;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const now = options.now;
  if (prefix.includes('{') || prefix.includes('}')) {
    throw new RangeError(`prefix must not contain braces (they would be the hash tag), got ${prefix}`);
  }
  if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be a number > 0, got ${timeoutMs}`);

  function keysOf(limits: readonly RateLimit[]): string[] {
    const keys: string[] = [];
    let firstTag: string | undefined;
    for (const limit of limits) {
      const { tag, key } = scopeKey(limit.scope);
      firstTag ??= tag;
      if (client.isCluster === true && tag !== firstTag) {
        throw new RangeError(
          `on Redis Cluster the limits of one take must share a hash tag (compose their scopes with one owner); got ${firstTag} and ${tag}`,
        );
      }
      const unit = limit.unit === 'requests' ? 'r' : 't';
      const algorithm = algorithmCode(limit);
      const counter = `${key}:${unit}:${algorithm}${limit.windowMs ?? DEFAULT_WINDOW_MS}`;
      keys.push(counter);
      if (algorithm === 's') keys.push(`${counter}:sum`);
    }
    return keys;
  }

  // The scope's Redis hash tag (Redis's rule: the first `{`, up to the next `}`, not empty), or the whole scope in
  // braces, so that all counters of one scope share a slot; long scopes and tags are replaced by digests. Keys of
  // tagged scopes start with `=` and the others with `{`, so that `a` and `{a}` stay two scopes, as in memory.
  function scopeKey(scope: string): { tag: string; key: string } {
    const open = scope.indexOf('{');
    const close = open === -1 ? -1 : scope.indexOf('}', open + 1);
    if (close > open + 1) {
      const tag = scope.slice(open + 1, close);
      if (scope.length <= MAX_SCOPE_LENGTH && tag.length <= MAX_TAG_LENGTH) return { tag, key: `${prefix}=${scope}` };
      const shortTag = tag.length <= MAX_TAG_LENGTH ? tag : digest(tag);
      return { tag: shortTag, key: `${prefix}{${shortTag}}${digest(scope)}` };
    }
    const tag = scope.length <= MAX_TAG_LENGTH && !scope.includes('}') ? scope : digest(scope);
    return { tag, key: `${prefix}{${tag}}` };
  }

  async function run(script: RedisScript, keys: string[], args: (string | number)[], signal?: AbortSignal) {
    // Sent only to a ready client: ioredis would otherwise queue the command offline and run it after
    // reconnecting, debiting a limit for a request that was long decided without it.
    if (client.status !== 'ready') throw new Error(`redis is not ready (status: ${client.status})`);
    return bounded(evalScript(script, keys, args), timeoutMs, signal);
  }

  async function evalScript(script: RedisScript, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(script.sha1, keys.length, ...keys, ...args);
    } catch (error) {
      // NOSCRIPT is the error code Redis puts first in its reply (the protocol's error kind), not prose: the
      // script cache is empty after a restart or failover, and EVAL loads it again.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(script.text, keys.length, ...keys, ...args);
    }
  }

  async function take(
    limits: readonly RateLimit[],
    amounts: RateLimitAmounts,
    signal?: AbortSignal,
  ): Promise<StoreTakeResult> {
    const keys = keysOf(limits);
    const args: (string | number)[] = [now === undefined ? '' : now()];
    for (const limit of limits) {
      args.push(
        algorithmCode(limit),
        limit.limit,
        limit.windowMs ?? DEFAULT_WINDOW_MS,
        limit.unit === 'requests' ? amounts.requests : amounts.tokens,
      );
    }
    const reply = await run(TAKE_SCRIPT, keys, args, signal);
    if (!isTakeReply(reply, limits.length)) {
      throw new Error(`unexpected reply from the rate limit script: ${JSON.stringify(reply).slice(0, 200)}`);
    }
    const [allowed, at, refusedIndex, retryAfterMs] = reply;
    const states: LimitState[] = limits.map((limit, index) => ({
      scope: limit.scope,
      unit: limit.unit,
      limit: limit.limit,
      remaining: reply[4 + index * 2] ?? 0,
      resetMs: reply[5 + index * 2] ?? 0,
    }));
    return {
      allowed: allowed === 1,
      at,
      states,
      refusedIndex,
      retryAfterMs: allowed === 1 ? 0 : retryAfterMs === -1 ? Infinity : retryAfterMs,
    };
  }

  async function adjust(limits: readonly RateLimit[], delta: number, at: number, signal?: AbortSignal) {
    if (limits.length === 0 || delta === 0) return;
    const args: (string | number)[] = [now === undefined ? '' : now(), delta, at];
    for (const limit of limits) {
      args.push(algorithmCode(limit), limit.limit, limit.windowMs ?? DEFAULT_WINDOW_MS);
    }
    await run(ADJUST_SCRIPT, keysOf(limits), args, signal);
  }

  return { take, adjust };
}

/** The take script's reply: {allowed, at, refusedIndex, retryAfterMs, then remaining and resetMs per limit}. */
function isTakeReply(reply: unknown, limitCount: number): reply is [number, number, number, number, ...number[]] {
  return (
    Array.isArray(reply) &&
    reply.length === 4 + limitCount * 2 &&
    reply.every((value) => typeof value === 'number' && Number.isFinite(value))
  );
}

/** `promise`, rejected when it takes longer than `timeoutMs` or `signal` aborts first. */
function bounded<T>(promise: Promise<T>, timeoutMs: number, signal: AbortSignal | undefined): Promise<T> {
  if (signal?.aborted === true) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    let late: NodeJS.Immediate | undefined;
    const onAbort = (): void => {
      clearTimeout(timer);
      clearImmediate(late);
      reject(signal?.reason);
    };
    // The answer may be in, unread, because this process was busy past the timeout (a long synchronous task, a GC
    // pause): the event loop's next I/O phase reads it before the timeout counts (setImmediate runs after that phase).
    const timer = setTimeout(() => {
      late = setImmediate(() => {
        signal?.removeEventListener('abort', onAbort);
        reject(new Error(`redis did not answer within ${timeoutMs} ms`));
      });
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        clearTimeout(timer);
        clearImmediate(late);
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        clearImmediate(late);
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
