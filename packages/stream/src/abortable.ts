import type { BufferedAsyncIterator } from './buffered-iterator.ts';
import { guardIterator } from './guarded-iterator.ts';

/**
 * Ends the iteration when `signal` aborts: the pending (or next) `next()` rejects with
 * `signal.reason`, and `source.return()` is called so the producer stops. Use it to tie a stream to
 * a client disconnect. An already aborted signal ends the iteration before the first item.
 *
 * The wrapper settles at once on abort; a source that is an async generator suspended in an
 * `await` runs its `finally` only when that await settles, so also hand the signal to its I/O.
 *
 * The result's `takeBuffered()` passes on the source's when it has one (see {@link BufferedAsyncIterator}).
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * request.on('close', () => controller.abort());
 * for await (const chunk of abortable(upstreamChunks, controller.signal)) {
 *   response.write(chunk);
 * }
 * ```
 */
export function abortable<T>(source: AsyncIterable<T>, signal: AbortSignal): BufferedAsyncIterator<T> {
  const onAbort = (): void => guarded.interrupt(signal.reason);
  const guarded = guardIterator(source, {
    onEnd: () => signal.removeEventListener('abort', onAbort),
  });
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return guarded;
}
