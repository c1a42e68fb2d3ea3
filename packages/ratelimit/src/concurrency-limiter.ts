import { LimiterStoppedError, QueueFullError, QueueTimeoutError } from './queue-errors.ts';

// Why this is not built on bottleneck (not a dependency: docs/decisions/2026-12-03-rate-limits.md says why):
// - bottleneck cannot take a job out of its queue. An aborted or timed-out caller would leave a dead job
//   that still counts against `highWater`, and that briefly takes a slot when its turn comes.
// - its `expiration` caps the time a job RUNS, not the time it waits; there is no cap on queue time.
// - its local store yields to the event loop (`setTimeout(0)`) on every submit, start and finish, so
//   `running` / `queued` lag behind the calls, and every start costs a macrotask.
// - its unit is a job (`schedule(fn)`), while a streaming call must hold its slot until the stream ends.
// What is left is small: ten FIFO queues (one per priority) and a counter. We follow bottleneck's
// priority convention (0 to 9, lower first, default 5) so that the two read the same.

/** Lowest (most urgent) priority. */
const MIN_PRIORITY = 0;
/** Highest (least urgent) priority. */
const MAX_PRIORITY = 9;

/**
 * Defaults of {@link ConcurrencyLimiterOptions}, exported for docs and admin views.
 *
 * @example
 * ```ts
 * console.log(`queue up to ${CONCURRENCY_LIMITER_DEFAULTS.maxQueue} calls by default`);
 * ```
 */
export const CONCURRENCY_LIMITER_DEFAULTS = {
  maxQueue: 1000,
  maxQueueMs: 30_000,
  priority: 5,
  name: 'limiter',
} as const;

/**
 * Frees the slot taken by `acquire`. Calling it again does nothing.
 *
 * @example
 * ```ts
 * const release: Release = await limiter.acquire();
 * try {
 *   await streamToClient();
 * } finally {
 *   release();
 * }
 * ```
 */
export type Release = () => void;

/**
 * Why a call did not get a slot.
 *
 * @example
 * ```ts
 * limiter.stats().rejected satisfies Record<RejectionReason, number>;
 * ```
 */
export type RejectionReason = 'queue_full' | 'queue_timeout' | 'aborted' | 'stopped';

/**
 * What a limiter reports through `onEvent`, for metrics and logs (the library itself never logs).
 *
 * @example
 * ```ts
 * const onEvent = (event: LimiterEvent): void => {
 *   if (event.type === 'started') metrics.observe('queue_wait_ms', event.waitedMs);
 * };
 * ```
 */
export type LimiterEvent =
  | { type: 'queued'; limiter: string; priority: number; queued: number }
  | { type: 'started'; limiter: string; priority: number; waitedMs: number; running: number }
  | { type: 'done'; limiter: string; heldMs: number; running: number }
  | {
      type: 'rejected';
      limiter: string;
      priority: number;
      reason: RejectionReason;
      waitedMs: number;
      error: unknown;
    };

/**
 * Options of {@link createConcurrencyLimiter}.
 *
 * @example
 * ```ts
 * const options: ConcurrencyLimiterOptions = { name: 'ollama', maxConcurrency: 1, maxQueue: 20, maxQueueMs: 60_000 };
 * ```
 */
export interface ConcurrencyLimiterOptions {
  /** Calls allowed in flight at once; an integer >= 1. `1` runs calls strictly one at a time. */
  maxConcurrency: number;
  /** Calls allowed to wait; more are refused with a `QueueFullError`. `0` means no queue. Default 1000. */
  maxQueue?: number | undefined;
  /** Longest wait for a slot, in ms (`Infinity`: no cap); then a `QueueTimeoutError`. Default 30 000. */
  maxQueueMs?: number | undefined;
  /** Labels the limiter in error messages and events, e.g. the deployment id. Default `'limiter'`. */
  name?: string | undefined;
  /** Clock for `waitedMs` / `heldMs`, in ms. Default `Date.now`. The queue timeout uses `setTimeout`. */
  now?: (() => number) | undefined;
  /**
   * Called synchronously after each change. It must not throw: an error it throws is re-thrown on a
   * microtask, so that it cannot leave the limiter half-updated.
   */
  onEvent?: ((event: LimiterEvent) => void) | undefined;
}

/**
 * Options of one `acquire` or `run` call.
 *
 * @example
 * ```ts
 * const release = await limiter.acquire({ priority: 0, signal: request.signal } satisfies AcquireOptions);
 * ```
 */
export interface AcquireOptions {
  /** An integer from 0 (most urgent) to 9; lower runs first, FIFO among equals. Default 5. */
  priority?: number | undefined;
  /** Aborting it while the call waits removes the call from the queue and rejects with the abort reason. */
  signal?: AbortSignal | undefined;
}

/**
 * Counters since the limiter was created.
 *
 * @example
 * ```ts
 * const { started, rejected }: LimiterStats = limiter.stats();
 * ```
 */
export interface LimiterStats {
  /** Calls that got a slot. */
  started: number;
  /** Slots released. */
  completed: number;
  /** Calls that never got a slot, by reason. */
  rejected: Record<RejectionReason, number>;
  /** The longest the queue has been. */
  maxQueued: number;
}

/**
 * A per-deployment concurrency cap with a priority queue in front of it. Create it with
 * {@link createConcurrencyLimiter}.
 *
 * @example
 * ```ts
 * const limiter: ConcurrencyLimiter = createConcurrencyLimiter({ maxConcurrency: 4 });
 * limiter.setMaxConcurrency(2);
 * ```
 */
export interface ConcurrencyLimiter {
  readonly name: string;
  /** Calls allowed in flight at once; changed by {@link ConcurrencyLimiter.setMaxConcurrency}. */
  readonly maxConcurrency: number;
  readonly maxQueue: number;
  readonly maxQueueMs: number;
  /** Calls holding a slot now. */
  readonly running: number;
  /** Calls waiting for a slot now. */
  readonly queued: number;
  /**
   * Waits for a slot and resolves with the function that frees it. The caller must call it exactly when
   * the work is over: for a stream, when the stream ends, not when its first chunk arrives.
   */
  acquire(options?: AcquireOptions): Promise<Release>;
  /** `acquire`, then `fn`, then release in `finally`: for calls that are over when `fn` settles. */
  run<T>(fn: () => Promise<T> | T, options?: AcquireOptions): Promise<T>;
  stats(): LimiterStats;
  /**
   * Changes `maxConcurrency` while calls run and wait; no queued call is dropped. Raising it starts queued
   * calls at once (before this returns); lowering it lets running calls finish, and queued calls start only
   * once fewer than the new cap run. An integer >= 1, else a `RangeError`. It is how an adaptive limit
   * (`createAdaptiveConcurrency`) steers the limiter.
   */
  setMaxConcurrency(maxConcurrency: number): void;
  /** Rejects every queued call with a `LimiterStoppedError`, and every later call too. Running calls go on. */
  stop(): void;
}

interface Waiter {
  priority: number;
  enqueuedAt: number;
  resolve: (release: Release) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Creates a limiter that lets at most `maxConcurrency` calls run at once and queues the rest by priority,
 * refusing calls with a 503-shaped error when the queue is full or a call waited too long.
 *
 * Counters change synchronously: when `release()` returns, the next queued call already holds the slot.
 *
 * @example
 * ```ts
 * const limiter = createConcurrencyLimiter({ name: 'openai', maxConcurrency: 8, maxQueue: 100 });
 *
 * // A call that is over when its promise settles:
 * const response = await limiter.run(() => provider.chat(request), { priority: 1, signal });
 *
 * // A stream holds its slot until it ends:
 * const release = await limiter.acquire({ signal });
 * try {
 *   for await (const chunk of provider.chatStream(request, { signal })) write(chunk);
 * } finally {
 *   release();
 * }
 * ```
 */
export function createConcurrencyLimiter(options: ConcurrencyLimiterOptions): ConcurrencyLimiter {
  let maxConcurrency = options.maxConcurrency;
  const maxQueue = options.maxQueue ?? CONCURRENCY_LIMITER_DEFAULTS.maxQueue;
  const maxQueueMs = options.maxQueueMs ?? CONCURRENCY_LIMITER_DEFAULTS.maxQueueMs;
  const name = options.name ?? CONCURRENCY_LIMITER_DEFAULTS.name;
  const now = options.now ?? Date.now;
  const onEvent = options.onEvent;

  checkMaxConcurrency(maxConcurrency);
  if (!(Number.isInteger(maxQueue) || maxQueue === Infinity) || maxQueue < 0) {
    throw new RangeError(`maxQueue must be an integer >= 0 or Infinity, got ${maxQueue}`);
  }
  if (Number.isNaN(maxQueueMs) || maxQueueMs <= 0) {
    throw new RangeError(`maxQueueMs must be a number > 0 (Infinity: no cap), got ${maxQueueMs}`);
  }

  // One FIFO per priority. A Set keeps insertion order and deletes in O(1), which is what an abort or a
  // timeout in the middle of the queue needs.
  const queues: Set<Waiter>[] = Array.from({ length: MAX_PRIORITY + 1 }, () => new Set<Waiter>());
  let running = 0;
  let queued = 0;
  let stopped = false;
  const stats: LimiterStats = {
    started: 0,
    completed: 0,
    rejected: { queue_full: 0, queue_timeout: 0, aborted: 0, stopped: 0 },
    maxQueued: 0,
  };

  function emit(event: LimiterEvent): void {
    if (onEvent === undefined) return;
    try {
      onEvent(event);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  function take(priority: number, enqueuedAt: number): Release {
    running += 1;
    stats.started += 1;
    const startedAt = now();
    let released = false;
    emit({ type: 'started', limiter: name, priority, waitedMs: startedAt - enqueuedAt, running });
    return () => {
      if (released) return;
      released = true;
      running -= 1;
      stats.completed += 1;
      emit({ type: 'done', limiter: name, heldMs: now() - startedAt, running });
      drain();
    };
  }

  function nextWaiter(): Waiter | undefined {
    for (const queue of queues) {
      for (const waiter of queue) return waiter;
    }
    return undefined;
  }

  /** Takes `waiter` out of the queue; false when it had already left (started, timed out, aborted, stopped). */
  function remove(waiter: Waiter): boolean {
    if (queues[waiter.priority]?.delete(waiter) !== true) return false;
    queued -= 1;
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    return true;
  }

  function drain(): void {
    while (running < maxConcurrency) {
      const waiter = nextWaiter();
      if (waiter === undefined) return;
      remove(waiter);
      waiter.resolve(take(waiter.priority, waiter.enqueuedAt));
    }
  }

  function refuse(waiter: Waiter, reason: RejectionReason, error: unknown): void {
    if (!remove(waiter)) return;
    stats.rejected[reason] += 1;
    emit({
      type: 'rejected',
      limiter: name,
      priority: waiter.priority,
      reason,
      waitedMs: now() - waiter.enqueuedAt,
      error,
    });
    waiter.reject(error);
  }

  function refuseNow(priority: number, reason: RejectionReason, error: unknown): Promise<never> {
    stats.rejected[reason] += 1;
    emit({ type: 'rejected', limiter: name, priority, reason, waitedMs: 0, error });
    return Promise.reject(error);
  }

  function acquire(acquireOptions: AcquireOptions = {}): Promise<Release> {
    const priority = acquireOptions.priority ?? CONCURRENCY_LIMITER_DEFAULTS.priority;
    const signal = acquireOptions.signal;
    if (!Number.isInteger(priority) || priority < MIN_PRIORITY || priority > MAX_PRIORITY) {
      return Promise.reject(new RangeError(`priority must be an integer from 0 to 9, got ${priority}`));
    }
    if (stopped) return refuseNow(priority, 'stopped', new LimiterStoppedError({ limiter: name }));
    // An already aborted call never takes a slot, even a free one: the caller has gone.
    if (signal?.aborted === true) return refuseNow(priority, 'aborted', signal.reason);
    // The queue is only ever non-empty while every slot is taken (release drains it synchronously),
    // so a free slot here cannot be jumped ahead of a waiting call.
    if (running < maxConcurrency) return Promise.resolve(take(priority, now()));
    if (queued >= maxQueue) {
      return refuseNow(priority, 'queue_full', new QueueFullError({ limiter: name, queued }));
    }

    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        priority,
        enqueuedAt: now(),
        resolve,
        reject,
        timer: undefined,
        signal,
        onAbort: undefined,
      };
      queues[priority]?.add(waiter);
      queued += 1;
      stats.maxQueued = Math.max(stats.maxQueued, queued);
      if (maxQueueMs !== Infinity) {
        waiter.timer = setTimeout(() => {
          refuse(waiter, 'queue_timeout', new QueueTimeoutError({ limiter: name, maxQueueMs }));
        }, maxQueueMs);
      }
      if (signal !== undefined) {
        waiter.onAbort = () => refuse(waiter, 'aborted', signal.reason);
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      emit({ type: 'queued', limiter: name, priority, queued });
    });
  }

  async function run<T>(fn: () => Promise<T> | T, runOptions?: AcquireOptions): Promise<T> {
    const release = await acquire(runOptions);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  function setMaxConcurrency(next: number): void {
    checkMaxConcurrency(next);
    maxConcurrency = next;
    // Lowering needs nothing more: drain() starts a waiter only while running < maxConcurrency, so the
    // surplus disappears as running calls release. Raising hands the new slots out now.
    drain();
  }

  function stop(): void {
    stopped = true;
    for (const queue of queues) {
      for (const waiter of queue) refuse(waiter, 'stopped', new LimiterStoppedError({ limiter: name }));
    }
  }

  // Accessors allowed here (no-restricted-syntax): one per limiter, built at start.
  return {
    name,
    // eslint-disable-next-line no-restricted-syntax -- one per limiter, built at start.
    get maxConcurrency() {
      return maxConcurrency;
    },
    maxQueue,
    maxQueueMs,
    // eslint-disable-next-line no-restricted-syntax -- one per limiter, built at start.
    get running() {
      return running;
    },
    // eslint-disable-next-line no-restricted-syntax -- one per limiter, built at start.
    get queued() {
      return queued;
    },
    acquire,
    run,
    stats: () => ({ ...stats, rejected: { ...stats.rejected } }),
    setMaxConcurrency,
    stop,
  };
}

function checkMaxConcurrency(maxConcurrency: number): void {
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
    throw new RangeError(`maxConcurrency must be an integer >= 1, got ${maxConcurrency}`);
  }
}
