// Symbol.for, so the guard also recognises errors from a second copy of this package in node_modules.
const POOL_TIMEOUT_ERROR_MARKER: unique symbol = Symbol.for('gw.error.pool-timeout');

/**
 * A request that waited longer than the HTTP transport's `poolTimeoutMs` for a free connection to its origin (every
 * one of `connections` was busy). Nothing was sent, so the call may be retried at once, elsewhere or later; the
 * adapters report it as a `ProviderError` of kind `overloaded` with code `pool_timeout`.
 *
 * @example
 * try {
 *   await client.transport(url, request);
 * } catch (error) {
 *   if (isPoolTimeoutError(error)) console.warn(`no connection to ${error.origin} within ${error.waitedMs} ms`);
 * }
 */
export class PoolTimeoutError extends Error {
  readonly [POOL_TIMEOUT_ERROR_MARKER] = true;
  override readonly name = 'PoolTimeoutError';
  readonly code = 'pool_timeout';
  readonly retryable = true;
  /** The origin (`https://host:port`) whose connections were all busy. */
  readonly origin: string;
  /** How long the request waited. */
  readonly waitedMs: number;

  constructor(origin: string, waitedMs: number) {
    super(`No connection to ${origin} was free within ${waitedMs} ms`);
    this.origin = origin;
    this.waitedMs = waitedMs;
  }
}

/**
 * Whether `error` is a {@link PoolTimeoutError} (by its marker, so also one from another copy of this package).
 *
 * @example
 * if (isPoolTimeoutError(error)) retryLater();
 */
export function isPoolTimeoutError(error: unknown): error is PoolTimeoutError {
  return typeof error === 'object' && error !== null && POOL_TIMEOUT_ERROR_MARKER in error;
}
