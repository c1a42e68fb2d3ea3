/**
 * Internal: runs the steps of a hand-written async iterator one at a time, in the order they were asked
 * for, the way an async generator queues `next()` calls that are not awaited. The step itself calls
 * `settled()` in its `finally`, rather than the queue adding a settle handler to every step's promise:
 * on a stream's hot path that would cost one more promise per chunk.
 */
export interface SerialSteps<T> {
  /** Runs `step` now if nothing is pending, else after the last step asked for has settled. */
  run(): Promise<T>;
  /** To be called by the step when it is over, whatever its outcome. */
  settled(): void;
  /** Steps asked for and not yet over. */
  readonly pending: number;
}

/**
 * @example
 * const steps = createSerialSteps(async () => {
 *   try { return await readOne(); } finally { steps.settled(); }
 * });
 * const iterator = { next: () => steps.run(), ... };
 */
export function createSerialSteps<T>(step: () => Promise<T>): SerialSteps<T> {
  let last: Promise<T> | undefined;
  // `pending` is a plain field, not a getter (the no-restricted-syntax rule in eslint.config.js says why).
  const steps = {
    pending: 0,
    run(): Promise<T> {
      const current = steps.pending === 0 || last === undefined ? step() : last.then(step, step);
      steps.pending += 1;
      last = current;
      return current;
    },
    settled(): void {
      steps.pending -= 1;
    },
  };
  return steps;
}
