// Symbol.for, so the guards also recognise errors from a second copy of this package in node_modules.
const QUEUE_FULL_MARKER: unique symbol = Symbol.for('gw.error.queue-full');
const QUEUE_TIMEOUT_MARKER: unique symbol = Symbol.for('gw.error.queue-timeout');
const LIMITER_STOPPED_MARKER: unique symbol = Symbol.for('gw.error.limiter-stopped');

/**
 * The fields every refusal of a concurrency limiter carries. They follow the shape `@gw/retry` and the
 * gateway's error handler understand (`kind`, `status`, `retryable`), without importing `@gw/providers`:
 * a refusal means "this deployment is busy", the same as a vendor's 503.
 *
 * @example
 * ```ts
 * function statusOf(error: LimiterRefusal): number {
 *   return error.status; // 503
 * }
 * ```
 */
export interface LimiterRefusal {
  readonly kind: 'overloaded';
  readonly status: 503;
  readonly retryable: true;
  /** The `name` of the limiter that refused the call. */
  readonly limiter: string;
}

// The fields the three refusals share; each subclass adds its marker, name and details.
abstract class LimiterRefusalError extends Error implements LimiterRefusal {
  readonly kind = 'overloaded';
  readonly status = 503;
  readonly retryable = true;
  readonly limiter: string;

  constructor(message: string, limiter: string) {
    super(message);
    this.limiter = limiter;
  }
}

/**
 * Thrown (as a rejection of `acquire` / `run`) when the limiter's queue already holds `maxQueue` calls.
 * It is immediate: the call never waited.
 *
 * @example
 * ```ts
 * try {
 *   await limiter.run(() => provider.chat(request));
 * } catch (error) {
 *   if (isQueueFullError(error)) return reply(error.status, error.message); // 503
 *   throw error;
 * }
 * ```
 */
export class QueueFullError extends LimiterRefusalError {
  readonly [QUEUE_FULL_MARKER] = true;
  override readonly name = 'QueueFullError';
  /** How many calls were waiting when this one was refused (the limiter's `maxQueue`). */
  readonly queued: number;

  constructor(options: { limiter: string; queued: number }) {
    super(`queue for ${options.limiter} is full (${options.queued} waiting)`, options.limiter);
    this.queued = options.queued;
  }
}

/**
 * True when `error` is a {@link QueueFullError}, also across duplicate installs of this package.
 *
 * @example
 * ```ts
 * if (isQueueFullError(error)) metrics.increment('queue_full', { deployment: error.limiter });
 * ```
 */
export function isQueueFullError(error: unknown): error is QueueFullError {
  return hasMarker(error, QUEUE_FULL_MARKER);
}

/**
 * Thrown when a call waited `maxQueueMs` in the queue without getting a slot. The call never started,
 * so it is safe to send it elsewhere.
 *
 * @example
 * ```ts
 * try {
 *   await limiter.run(() => provider.chat(request));
 * } catch (error) {
 *   if (isQueueTimeoutError(error)) return tryNextDeployment(request);
 *   throw error;
 * }
 * ```
 */
export class QueueTimeoutError extends LimiterRefusalError {
  readonly [QUEUE_TIMEOUT_MARKER] = true;
  override readonly name = 'QueueTimeoutError';
  /** The limiter's `maxQueueMs`, the longest a call may wait. */
  readonly maxQueueMs: number;

  constructor(options: { limiter: string; maxQueueMs: number }) {
    super(`waited more than ${options.maxQueueMs} ms in the queue for ${options.limiter}`, options.limiter);
    this.maxQueueMs = options.maxQueueMs;
  }
}

/**
 * True when `error` is a {@link QueueTimeoutError}, also across duplicate installs of this package.
 *
 * @example
 * ```ts
 * if (isQueueTimeoutError(error)) metrics.increment('queue_timeout', { deployment: error.limiter });
 * ```
 */
export function isQueueTimeoutError(error: unknown): error is QueueTimeoutError {
  return hasMarker(error, QUEUE_TIMEOUT_MARKER);
}

/**
 * Thrown for calls that were queued when `stop()` was called, and for every call made after it.
 * Retryable, because another replica (or this one after a restart) can serve the call.
 *
 * @example
 * ```ts
 * limiter.stop(); // shutting down: queued callers get a LimiterStoppedError (503)
 * ```
 */
export class LimiterStoppedError extends LimiterRefusalError {
  readonly [LIMITER_STOPPED_MARKER] = true;
  override readonly name = 'LimiterStoppedError';

  constructor(options: { limiter: string }) {
    super(`the limiter for ${options.limiter} is stopped`, options.limiter);
  }
}

/**
 * True when `error` is a {@link LimiterStoppedError}, also across duplicate installs of this package.
 *
 * @example
 * ```ts
 * if (isLimiterStoppedError(error)) return reply(503, 'shutting down');
 * ```
 */
export function isLimiterStoppedError(error: unknown): error is LimiterStoppedError {
  return hasMarker(error, LIMITER_STOPPED_MARKER);
}

/** Whether `error` carries `marker` (a `Symbol.for` key, so the check holds across duplicate installs). */
export function hasMarker(error: unknown, marker: symbol): boolean {
  return typeof error === 'object' && error !== null && Reflect.get(error, marker) === true;
}
