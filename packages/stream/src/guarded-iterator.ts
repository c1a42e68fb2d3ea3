import { hasTakeBuffered } from './buffered-iterator.ts';
import type { BufferedAsyncIterator } from './buffered-iterator.ts';

/** Internal hooks of {@link guardIterator}. */
export interface GuardHooks<T> {
  /** Called right before the source is asked for its next item. */
  onPull?: (() => void) | undefined;
  /** Called with each item before it is handed out; throwing ends the iteration with that error. */
  onItem?: ((item: T) => void) | undefined;
  /** Called exactly once when the iteration ends: `error` is undefined unless it `failed`. */
  onEnd?: ((failed: boolean, error: unknown) => void) | undefined;
}

/**
 * Internal: an async iterator over a source that can be ended from outside. `takeBuffered()` passes on the
 * source's (see BufferedAsyncIterator), hooks included, and gives `undefined` when the source has none.
 */
export interface GuardedIterator<T> extends BufferedAsyncIterator<T> {
  /**
   * Ends the iteration with `reason` now: a pending `next()` rejects with it (else the following
   * call does), and `source.return()` is called without waiting for it.
   */
  interrupt(reason: unknown): void;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
const NO_ERROR = Symbol('no error');

/**
 * The one state machine behind abortable, withIdleTimeout and tap. Unlike an async generator, it
 * can settle a pending `next()` at once (abort, timeout, return) instead of queueing behind it, and
 * it calls `onEnd` also when `return()` comes before the first `next()`.
 */
export function guardIterator<T>(source: AsyncIterable<T>, hooks: GuardHooks<T>): GuardedIterator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const sourceTake = hasTakeBuffered(iterator) ? () => iterator.takeBuffered() : undefined;
  let ended = false;
  let inFlight: Promise<IteratorResult<T>> | undefined;
  let resolvePending: ((result: IteratorResult<T>) => void) | undefined;
  let rejectPending: ((error: unknown) => void) | undefined;
  // An interruption while no next() is waiting is delivered by the next call.
  let deferred: { error: unknown } | undefined;

  /** Returns what onEnd threw, so the call that ended the iteration can report it. */
  function end(failed: boolean, error: unknown): unknown {
    if (ended) return NO_ERROR;
    ended = true;
    try {
      hooks.onEnd?.(failed, error);
      return NO_ERROR;
    } catch (hookError) {
      return hookError;
    }
  }

  function closeSource(): void {
    try {
      // Not awaited: a generator suspended in an await only runs its finally once that settles.
      iterator.return?.().then(undefined, ignore);
    } catch {
      // A throwing return() leaves nothing to clean up on our side.
    }
  }

  function clearPending(): void {
    resolvePending = undefined;
    rejectPending = undefined;
    inFlight = undefined;
  }

  function onResult(result: IteratorResult<T>): void {
    const resolve = resolvePending;
    const reject = rejectPending;
    if (resolve === undefined || reject === undefined) return; // interrupted or returned meanwhile
    clearPending();
    if (result.done === true) {
      const hookError = end(false, undefined);
      if (hookError === NO_ERROR) resolve(result);
      else reject(hookError);
      return;
    }
    try {
      hooks.onItem?.(result.value);
    } catch (error) {
      end(true, error);
      closeSource();
      reject(error);
      return;
    }
    resolve(result);
  }

  function onError(error: unknown): void {
    const reject = rejectPending;
    if (reject === undefined) return;
    clearPending();
    end(true, error);
    reject(error);
  }

  const guarded: GuardedIterator<T> = {
    next(): Promise<IteratorResult<T>> {
      if (ended) {
        if (deferred === undefined) return Promise.resolve(DONE);
        const { error } = deferred;
        deferred = undefined;
        return Promise.reject(error);
      }
      // Rare: a caller that does not await; queue like an async generator would.
      if (inFlight !== undefined)
        return inFlight.then(
          () => guarded.next(),
          () => guarded.next(),
        );
      const promise = new Promise<IteratorResult<T>>((resolve, reject) => {
        resolvePending = resolve;
        rejectPending = reject;
      });
      inFlight = promise;
      hooks.onPull?.();
      let step: Promise<IteratorResult<T>>;
      try {
        step = iterator.next();
      } catch (error) {
        onError(error);
        return promise;
      }
      step.then(onResult, onError);
      return promise;
    },

    takeBuffered(): T | undefined {
      // Only between reads: an item taken while a next() is pending would overtake it.
      if (ended || inFlight !== undefined || sourceTake === undefined) return undefined;
      const item = sourceTake();
      if (item === undefined) return undefined;
      try {
        hooks.onItem?.(item);
      } catch (error) {
        // Like a failing onItem in next(): the iteration ends, and the next call reports why.
        end(true, error);
        closeSource();
        deferred = { error };
        return undefined;
      }
      return item;
    },

    async return(value?: unknown): Promise<IteratorResult<T>> {
      deferred = undefined;
      if (ended) return { done: true, value };
      const resolve = resolvePending;
      clearPending();
      // A pending next() settles as done now instead of waiting on a source that may never answer.
      resolve?.(DONE);
      const hookError = end(false, undefined);
      if (resolve !== undefined) closeSource();
      else await iterator.return?.();
      if (hookError !== NO_ERROR) throw hookError;
      return { done: true, value };
    },

    interrupt(reason: unknown): void {
      if (ended) return;
      end(true, reason);
      closeSource();
      const reject = rejectPending;
      clearPending();
      if (reject === undefined) deferred = { error: reason };
      else reject(reason);
    },

    [Symbol.asyncIterator]() {
      return guarded;
    },
  };
  return guarded;
}

function ignore(): void {}
