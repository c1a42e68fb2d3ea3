import { createConcurrencyLimiter } from './concurrency-limiter.ts';
import type { ConcurrencyLimiter, ConcurrencyLimiterOptions } from './concurrency-limiter.ts';

/**
 * Options of {@link createLimiterRegistry}.
 *
 * @example
 * ```ts
 * const options: LimiterRegistryOptions = { optionsFor: (id) => (id === 'ollama' ? { maxConcurrency: 1 } : undefined) };
 * ```
 */
export interface LimiterRegistryOptions {
  /**
   * The options of the limiter for `key`, asked once, on the key's first use. `name` defaults to the key.
   * Return `undefined` for a key that must not exist; `get` then throws.
   */
  optionsFor: (key: string) => ConcurrencyLimiterOptions | undefined;
}

/**
 * One row of {@link LimiterRegistry.snapshot}, e.g. for `GET /admin/queue`.
 *
 * @example
 * ```ts
 * const busiest: LimiterSnapshot | undefined = registry.snapshot().sort((a, b) => b.queued - a.queued)[0];
 * ```
 */
export interface LimiterSnapshot {
  key: string;
  name: string;
  running: number;
  queued: number;
  maxConcurrency: number;
  maxQueue: number;
}

/**
 * One concurrency limiter per key (a deployment id). Create it with {@link createLimiterRegistry}.
 *
 * @example
 * ```ts
 * const registry: LimiterRegistry = createLimiterRegistry({ optionsFor: () => ({ maxConcurrency: 8 }) });
 * await registry.get('openai').run(() => call());
 * ```
 */
export interface LimiterRegistry {
  /** The limiter for `key`, created on first use from `optionsFor(key)`. */
  get(key: string): ConcurrencyLimiter;
  /** True when `get(key)` has already created the limiter. */
  has(key: string): boolean;
  /** `running` / `queued` of every limiter created so far, in creation order. */
  snapshot(): LimiterSnapshot[];
  /** Stops every limiter (queued calls are rejected; running ones go on) and every one created later. */
  stop(): void;
}

/**
 * Creates a registry holding one {@link ConcurrencyLimiter} per key, so that each deployment has its own
 * slots and queue.
 *
 * @example
 * ```ts
 * const limiters = createLimiterRegistry({
 *   optionsFor: (deploymentId) => ({ maxConcurrency: config.deployments[deploymentId]?.maxConcurrency ?? 8 }),
 * });
 * const response = await limiters.get('openai').run(() => provider.chat(request), { signal });
 * console.log(limiters.snapshot()); // [{ key: 'openai', name: 'openai', running: 0, queued: 0, ... }]
 * ```
 */
export function createLimiterRegistry(options: LimiterRegistryOptions): LimiterRegistry {
  const limiters = new Map<string, ConcurrencyLimiter>();
  let stopped = false;

  function get(key: string): ConcurrencyLimiter {
    const existing = limiters.get(key);
    if (existing !== undefined) return existing;
    const limiterOptions = options.optionsFor(key);
    if (limiterOptions === undefined) throw new Error(`no concurrency limiter is configured for ${key}`);
    const limiter = createConcurrencyLimiter({ ...limiterOptions, name: limiterOptions.name ?? key });
    if (stopped) limiter.stop();
    limiters.set(key, limiter);
    return limiter;
  }

  return {
    get,
    has: (key) => limiters.has(key),
    snapshot: () =>
      [...limiters].map(([key, limiter]) => ({
        key,
        name: limiter.name,
        running: limiter.running,
        queued: limiter.queued,
        maxConcurrency: limiter.maxConcurrency,
        maxQueue: limiter.maxQueue,
      })),
    stop: () => {
      stopped = true;
      for (const limiter of limiters.values()) limiter.stop();
    },
  };
}
