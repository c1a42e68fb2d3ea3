import type { BufferedAsyncIterator } from './buffered-iterator.ts';
import { guardIterator } from './guarded-iterator.ts';

/** Handlers of {@link tap}. */
export interface TapHandlers<T> {
  /** Sees each item as it passes. Throwing ends the iteration with that error. */
  onItem?: (item: T) => void;
  /**
   * Called exactly once when the iteration ends for any reason: completion (no argument), an error
   * from the source or `onItem` (the error), or an early `return()` such as `break` or a cancelled
   * response (no argument), including a `return()` before the first item.
   */
  onEnd?: (error?: unknown) => void;
}

/**
 * Passes the items of `source` through unchanged while calling `onItem` for each one, and `onEnd`
 * exactly once at the end, e.g. to read usage for billing and settle it even when the client leaves.
 *
 * The result's `takeBuffered()` passes on the source's when it has one (see {@link BufferedAsyncIterator}).
 *
 * If `onEnd` throws, that error comes out of the call that ended the iteration, unless the iteration
 * was already ending with an error.
 *
 * @example
 * ```ts
 * let usage: Usage | undefined;
 * const chunks = tap(upstreamChunks, {
 *   onItem: (chunk) => { usage = chunk.usage ?? usage; },
 *   onEnd: (error) => settle(usage, error === undefined ? 'ok' : 'failed'),
 * });
 * ```
 */
export function tap<T>(source: AsyncIterable<T>, handlers: TapHandlers<T>): BufferedAsyncIterator<T> {
  const { onItem, onEnd } = handlers;
  return guardIterator(source, {
    onItem,
    onEnd: onEnd === undefined ? undefined : (failed, error) => (failed ? onEnd(error) : onEnd()),
  });
}
