// Small abort helpers shared by the policies. cockatiel's retry sleep and bulkhead queue do not listen to
// the caller's signal, so these make a wait end, and a call settle, the moment the signal fires.

/** A signal that never fires, for calls made without one. */
export const neverAbortedSignal: AbortSignal = new AbortController().signal;

/** Resolves after `ms`; rejects with `signal.reason` as soon as the signal fires (and clears the timer). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Settles like `promise`, unless `signal` fires first: then it rejects with `signal.reason` at once, so a
 * callee that ignores its signal cannot hold the caller. The callee's own settlement is then ignored.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal === neverAbortedSignal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
