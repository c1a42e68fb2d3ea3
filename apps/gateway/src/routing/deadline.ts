import { GatewayError } from '../gateway-error.ts';

/** The total time budget of one request (`timeouts.totalMs`). */
export interface Deadline {
  /** Aborts when the client goes away or the budget runs out (then with {@link Deadline.error} as its reason). */
  readonly signal: AbortSignal;
  /** True once the budget ran out. */
  expired(): boolean;
  /** What the request fails with once the budget ran out: a 504 (made when asked for). */
  error(): GatewayError;
  /** Stops the clock (the request ended in time). */
  clear(): void;
}

/**
 * The error a request answers once `timeouts.totalMs` ran out: 504 `request_timeout`.
 *
 * @example
 * throw totalTimeoutError(60_000);
 */
export function totalTimeoutError(totalMs: number): GatewayError {
  return new GatewayError(`the request took longer than its total timeout of ${totalMs} ms`, {
    status: 504,
    type: 'timeout_error',
    code: 'request_timeout',
  });
}

// Without a budget nothing expires, and no error (with its stack trace) is built on the hot path.
function unlimited(signal: AbortSignal): Deadline {
  return {
    signal,
    expired: () => false,
    error: () => totalTimeoutError(0),
    clear: () => undefined,
  };
}

/**
 * Starts the clock of a request's total budget: retries and fallbacks included. Without `totalMs` the signal is the
 * client's own and it never expires.
 *
 * @example
 * const deadline = startDeadline(c.req.raw.signal, 60_000);
 * try { return await router.chat(request, { signal: deadline.signal }); }
 * catch (error) { throw deadline.expired() ? deadline.error() : error; }
 * finally { deadline.clear(); }
 */
export function startDeadline(signal: AbortSignal, totalMs: number | undefined): Deadline {
  if (totalMs === undefined) return unlimited(signal);
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  // Built only when the budget runs out: an error's stack trace is not free.
  let expiredWith: GatewayError | undefined;
  const timer = setTimeout(() => {
    expiredWith = totalTimeoutError(totalMs);
    controller.abort(expiredWith);
  }, totalMs);
  return {
    signal: controller.signal,
    expired: () => expiredWith !== undefined && controller.signal.reason === expiredWith,
    error: () => expiredWith ?? totalTimeoutError(totalMs),
    clear: () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    },
  };
}
