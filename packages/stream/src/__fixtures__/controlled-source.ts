/**
 * Test-only: an async iterator the test drives by hand, so a test can make the source stall, yield,
 * end or fail at an exact moment and see whether `return()` reached it.
 */
export interface ControlledSource<T> extends AsyncIterableIterator<T> {
  push(item: T): void;
  end(): void;
  fail(error: unknown): void;
  /** How many times next() was called. */
  readonly pulls: number;
  /** How many times return() was called. */
  readonly returnCalls: number;
  /** Whether a next() call is waiting for an item. */
  readonly waiting: boolean;
}

export function createControlledSource<T>(): ControlledSource<T> {
  const items: T[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let pending: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined;
  let pulls = 0;
  let returnCalls = 0;

  const settle = (): void => {
    if (pending === undefined) return;
    const { resolve, reject } = pending;
    const item = items.shift();
    if (item !== undefined) {
      pending = undefined;
      resolve({ done: false, value: item });
    } else if (failure !== undefined) {
      pending = undefined;
      reject(failure.error);
    } else if (done) {
      pending = undefined;
      resolve({ done: true, value: undefined });
    }
  };

  const source: ControlledSource<T> = {
    push(item) {
      items.push(item);
      settle();
    },
    end() {
      done = true;
      settle();
    },
    fail(error) {
      failure = { error };
      settle();
    },
    get pulls() {
      return pulls;
    },
    get returnCalls() {
      return returnCalls;
    },
    get waiting() {
      return pending !== undefined;
    },
    next() {
      pulls += 1;
      return new Promise<IteratorResult<T>>((resolve, reject) => {
        pending = { resolve, reject };
        settle();
      });
    },
    async return() {
      returnCalls += 1;
      done = true;
      items.length = 0;
      settle();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return source;
    },
  };
  return source;
}
