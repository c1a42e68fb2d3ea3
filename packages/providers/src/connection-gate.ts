import { PoolTimeoutError } from './pool-timeout-error.ts';

// The HTTP transport's cap on connections per origin, when one is configured. undici's pool queues requests past its
// `connections` out of sight, with no time limit; the gate holds them here instead, where waiting is counted, has its
// own time limit and its own error. A permit is held from dispatch until the answer has been read to its end (or
// failed), which is as long as undici keeps the connection busy (one request at a time per connection).

/** Counts the gate reports to the transport's stats. */
export interface GateCounters {
  waiting: number;
  poolTimeouts: number;
}

interface Waiter {
  grant: () => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** The permits of one origin. */
export interface ConnectionGate {
  /**
   * Resolves once a permit is free: at once when one is. Rejects with a {@link PoolTimeoutError} after `timeoutMs`,
   * or with the signal's reason when it aborts first. Every permit taken is given back with {@link release}.
   */
  acquire(signal: AbortSignal | undefined): Promise<void> | undefined;
  release(): void;
}

/**
 * Permits for `limit` requests at once to `origin`; the rest wait in order, at most `timeoutMs` each (none: no limit).
 *
 * @example
 * const gate = createConnectionGate('https://api.openai.com', 64, 5_000, counters);
 * await gate.acquire(signal);
 * try { await send(); } finally { gate.release(); }
 */
export function createConnectionGate(
  origin: string,
  limit: number,
  timeoutMs: number | undefined,
  counters: GateCounters,
): ConnectionGate {
  let active = 0;
  const waiters: Waiter[] = [];

  function acquire(signal: AbortSignal | undefined): Promise<void> | undefined {
    // The common case takes no promise: the caller goes on synchronously.
    if (active < limit && waiters.length === 0) {
      active += 1;
      return undefined;
    }
    return new Promise<void>((resolve, reject) => {
      const started = performance.now();
      const leave = (): void => {
        const index = waiters.indexOf(waiter);
        if (index !== -1) waiters.splice(index, 1);
        counters.waiting -= 1;
        if (waiter.timer !== undefined) clearTimeout(waiter.timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        leave();
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        grant: () => {
          leave();
          active += 1;
          resolve();
        },
        timer:
          timeoutMs === undefined
            ? undefined
            : setTimeout(() => {
                leave();
                counters.poolTimeouts += 1;
                reject(new PoolTimeoutError(origin, Math.round(performance.now() - started)));
              }, timeoutMs),
      };
      waiters.push(waiter);
      counters.waiting += 1;
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  function release(): void {
    active -= 1;
    waiters[0]?.grant();
  }

  return { acquire, release };
}
