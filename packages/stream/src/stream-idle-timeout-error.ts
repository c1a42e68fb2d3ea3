const MARKER: unique symbol = Symbol.for('gw.error.stream-idle-timeout');

/** Thrown by {@link withIdleTimeout} when no item arrived within `idleMs`. */
export class StreamIdleTimeoutError extends Error {
  /** The idle window that elapsed, in milliseconds. */
  readonly idleMs: number;
  readonly [MARKER] = true;

  /** @param idleMs the idle window that elapsed, in milliseconds */
  constructor(idleMs: number, options?: ErrorOptions) {
    super(`No stream item arrived within ${idleMs} ms`, options);
    this.name = 'StreamIdleTimeoutError';
    this.idleMs = idleMs;
  }
}

/**
 * Whether `error` is a {@link StreamIdleTimeoutError}, also across duplicate installs of this package.
 *
 * @example
 * ```ts
 * try {
 *   for await (const chunk of withIdleTimeout(upstream, { idleMs: 30_000 })) send(chunk);
 * } catch (error) {
 *   if (isStreamIdleTimeoutError(error)) sendError(`upstream idle for ${error.idleMs} ms`);
 *   else throw error;
 * }
 * ```
 */
export function isStreamIdleTimeoutError(error: unknown): error is StreamIdleTimeoutError {
  return typeof error === 'object' && error !== null && MARKER in error && error[MARKER] === true;
}
