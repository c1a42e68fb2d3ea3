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

/** The one method of a cockatiel policy that the wrappers use. */
interface ExecutesWithSignal {
  execute<R>(fn: (context: { signal: AbortSignal }) => PromiseLike<R> | R, signal?: AbortSignal): Promise<R>;
}

/**
 * Runs `fn` through a cockatiel `policy` the way every wrapper here does: an already aborted `signal` throws at
 * once, the caller's abort settles the call at once with `signal.reason` (cockatiel's queues and half-open waits
 * do not listen), and any other failure goes through `translate`, which turns cockatiel's own rejections into
 * ours. `called` says whether `fn` ran, so an error `fn` threw is not mistaken for the policy's.
 */
export async function executeThrough<T>(
  policy: ExecutesWithSignal,
  fn: (context: { signal: AbortSignal }) => Promise<T> | T,
  signal: AbortSignal | undefined,
  translate: (error: unknown, called: boolean) => unknown,
): Promise<T> {
  signal?.throwIfAborted();
  let called = false;
  const call = policy.execute((context) => {
    called = true;
    return fn({ signal: context.signal });
  }, signal);
  try {
    return await (signal === undefined ? call : raceAbort(call, signal));
  } catch (error) {
    if (signal?.aborted === true) throw signal.reason;
    throw translate(error, called);
  }
}
