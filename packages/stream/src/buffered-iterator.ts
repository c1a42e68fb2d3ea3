/**
 * An async iterator that can also hand out, without waiting, an item it already holds. Streams deliver many
 * items per network read; a consumer that asks `takeBuffered()` first and `next()` only when it says
 * `undefined` pays no promise and no microtask for the items at hand.
 */
export interface BufferedAsyncIterator<T> extends AsyncIterableIterator<T> {
  /**
   * The next item if it is at hand, else `undefined`, in which case `next()` reads on. Never reads, never waits
   * and never ends the iteration: `undefined` says nothing about the end, and an error is left for `next()`.
   */
  takeBuffered(): T | undefined;
}

/**
 * True when `iterator` offers {@link BufferedAsyncIterator.takeBuffered}.
 *
 * @example
 * ```ts
 * const take = hasTakeBuffered(chunks) ? () => chunks.takeBuffered() : () => undefined;
 * ```
 */
export function hasTakeBuffered<T>(iterator: AsyncIterator<T>): iterator is BufferedAsyncIterator<T> {
  return typeof Reflect.get(iterator, 'takeBuffered') === 'function';
}
