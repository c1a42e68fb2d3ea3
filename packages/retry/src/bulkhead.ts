import { bulkhead, isBulkheadRejectedError as isCockatielBulkheadRejectedError } from 'cockatiel';
import { executeThrough } from './abort.ts';
import type { ExecuteOptions } from './retry-policy.ts';
import { hasMarker } from './error-shape.ts';

const BULKHEAD_REJECTED_ERROR_MARKER: unique symbol = Symbol.for('gw.error.retry.bulkhead-rejected');

/**
 * Thrown by a bulkhead when every slot is busy and its queue is full. It reads as a local overload:
 * `kind: 'overloaded'`, `retryable: true`.
 *
 * @example
 * ```ts
 * if (isBulkheadRejectedError(error)) return reply(503, 'busy, try again');
 * ```
 */
export class BulkheadRejectedError extends Error {
  readonly [BULKHEAD_REJECTED_ERROR_MARKER] = true;
  override readonly name = 'BulkheadRejectedError';
  readonly kind = 'overloaded';
  readonly retryable = true;
  readonly maxConcurrency: number;
  /** @deprecated Use {@link BulkheadRejectedError.maxConcurrency}: the same number. */
  readonly maxConcurrent: number;
  readonly maxQueue: number;

  constructor(maxConcurrency: number, maxQueue: number) {
    super(`Bulkhead full: ${maxConcurrency} calls running and ${maxQueue} queued`);
    this.maxConcurrency = maxConcurrency;
    this.maxConcurrent = maxConcurrency;
    this.maxQueue = maxQueue;
  }
}

/**
 * True when `error` is a {@link BulkheadRejectedError}, also across duplicate installs of this package.
 *
 * @example
 * ```ts
 * if (isBulkheadRejectedError(error)) metrics.shed.inc();
 * ```
 */
export function isBulkheadRejectedError(error: unknown): error is BulkheadRejectedError {
  return hasMarker(error, BULKHEAD_REJECTED_ERROR_MARKER);
}

interface BulkheadQueueOption {
  /** Calls allowed to wait for a slot, first in first out. Default 0: reject at once when full. */
  maxQueue?: number | undefined;
}

/**
 * Options of {@link createBulkhead}: `maxConcurrency` (the name `@gw/ratelimit`'s `createConcurrencyLimiter` and
 * the gateway's config use too), or the deprecated `maxConcurrent`.
 */
export type BulkheadOptions =
  | (BulkheadQueueOption & {
      /** Calls allowed to run at once. */
      maxConcurrency: number;
      maxConcurrent?: undefined;
    })
  | (BulkheadQueueOption & {
      maxConcurrency?: undefined;
      /** @deprecated Use `maxConcurrency`: the same option under the name every package uses. */
      maxConcurrent: number;
    });

/** Occupancy right now, and rejections since creation. */
export interface BulkheadStats {
  active: number;
  queued: number;
  rejections: number;
}

/** A bulkhead: a concurrency limit with a bounded queue. */
export interface Bulkhead {
  /** Runs `fn` in a free slot, or after queueing; rejects with {@link BulkheadRejectedError} when full. */
  execute<T>(fn: (context: { signal: AbortSignal }) => Promise<T> | T, options?: ExecuteOptions): Promise<T>;
  stats(): BulkheadStats;
}

/**
 * Creates a bulkhead on cockatiel's `bulkhead`. A queued call whose signal fires rejects at once with the
 * signal's reason (cockatiel only notices when the call reaches the head of the queue, and then drops it).
 *
 * @example
 * ```ts
 * const perDeployment = createBulkhead({ maxConcurrency: 8, maxQueue: 100 });
 * const response = await perDeployment.execute(({ signal }) => provider.chat(request, { signal }), { signal });
 * ```
 */
export function createBulkhead(options: BulkheadOptions): Bulkhead {
  const maxQueue = options.maxQueue ?? 0;
  const maxConcurrency = options.maxConcurrency ?? options.maxConcurrent;
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || !Number.isInteger(maxQueue) || maxQueue < 0) {
    throw new RangeError(
      `bulkhead needs an integer maxConcurrency >= 1 and maxQueue >= 0, got ${maxConcurrency} and ${maxQueue}`,
    );
  }
  const policy = bulkhead(maxConcurrency, maxQueue);
  let rejections = 0;
  policy.onReject(() => {
    rejections += 1;
  });

  return {
    execute(fn, executeOptions = {}) {
      return executeThrough(policy, fn, executeOptions.signal, (error, called) =>
        !called && isCockatielBulkheadRejectedError(error)
          ? new BulkheadRejectedError(maxConcurrency, maxQueue)
          : error,
      );
    },

    stats() {
      return {
        active: maxConcurrency - policy.executionSlots,
        queued: maxQueue - policy.queueSlots,
        rejections,
      };
    },
  };
}
