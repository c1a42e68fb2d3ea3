import type { BufferedAsyncIterator } from './buffered-iterator.ts';
import { guardIterator } from './guarded-iterator.ts';
import { StreamIdleTimeoutError } from './stream-idle-timeout-error.ts';

/** Options of {@link withIdleTimeout}. */
export interface IdleTimeoutOptions {
  /** Longest wait for one item, in milliseconds. `Infinity` disables the timeout. */
  idleMs: number;
  /** Aborting ends the iteration with `signal.reason` and calls `source.return()`. */
  signal?: AbortSignal;
}

// setTimeout cannot wait longer than this; a larger window is as good as none.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Wraps an async iterable so that waiting more than `idleMs` for the next item ends the iteration:
 * the pending `next()` rejects with {@link StreamIdleTimeoutError} and `source.return()` is called.
 * Only the time spent waiting on the source counts, and the window restarts with every item (SSE
 * comments are not items, so keep-alives do not hold a dead stream open). A slow consumer never
 * trips it.
 *
 * The result's `takeBuffered()` passes on the source's when it has one (see {@link BufferedAsyncIterator}).
 *
 * @throws {RangeError} when `idleMs` is not a positive number.
 * @example
 * ```ts
 * const chunks = withIdleTimeout(provider.chatStream(request, { signal }), { idleMs: 30_000, signal });
 * for await (const chunk of chunks) send(chunk); // throws StreamIdleTimeoutError after 30 s of silence
 * ```
 */
export function withIdleTimeout<T>(source: AsyncIterable<T>, options: IdleTimeoutOptions): BufferedAsyncIterator<T> {
  const { idleMs, signal } = options;
  if (!(idleMs > 0)) throw new RangeError(`idleMs must be a positive number, got ${String(idleMs)}`);
  const timed = idleMs <= MAX_TIMER_MS;
  let waiting = false;
  let timer: NodeJS.Timeout | undefined;

  const onTimeout = (): void => {
    // The timer is re-armed, not recreated, per item; when it fires after the item came, ignore it.
    if (waiting) guarded.interrupt(new StreamIdleTimeoutError(idleMs));
  };
  const onAbort = (): void => guarded.interrupt(signal?.reason);

  const guarded = guardIterator(source, {
    onPull() {
      if (!timed) return;
      waiting = true;
      // refresh() restarts the one timer without allocating a new one per item.
      if (timer === undefined) timer = setTimeout(onTimeout, idleMs);
      else timer.refresh();
    },
    onItem() {
      waiting = false;
    },
    onEnd() {
      waiting = false;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  });

  if (signal?.aborted === true) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return guarded;
}
