import { isAbortError, kindOf, retryableOf, statusOf } from './error-shape.ts';

const RETRYABLE_KINDS: ReadonlySet<string> = new Set(['rate_limit', 'overloaded', 'server', 'timeout', 'connection']);

const FINAL_KINDS: ReadonlySet<string> = new Set([
  'invalid_request',
  'authentication',
  'permission',
  'not_found',
  'context_window',
  'content_filter',
  'quota',
  'cancelled',
]);

/**
 * The default retry (and breaker-counting) verdict, read from the error's shape:
 * 1. an `AbortError` (the caller cancelled) is never retried;
 * 2. a boolean `retryable` on the error decides;
 * 3. else its `kind`: `rate_limit`, `overloaded`, `server`, `timeout`, `connection` retry;
 *    `invalid_request`, `authentication`, `permission`, `not_found`, `context_window`, `content_filter`,
 *    `quota`, `cancelled` do not (a kind outside both lists falls through to the status);
 * 4. else its `status`: 408, 409, 429 and every 5xx retry, any other status does not;
 * 5. anything else (a plain `Error` such as a network failure, a thrown string) is retried.
 *
 * @example
 * ```ts
 * isRetryable({ status: 503 }); // true
 * isRetryable({ status: 400 }); // false
 * isRetryable(new ProviderError({ kind: 'quota', message: 'out of credit' })); // false
 * isRetryable(new TypeError('fetch failed')); // true
 * ```
 */
export function isRetryable(error: unknown): boolean {
  if (isAbortError(error)) return false;
  const retryable = retryableOf(error);
  if (retryable !== undefined) return retryable;
  const kind = kindOf(error);
  if (kind !== undefined) {
    if (RETRYABLE_KINDS.has(kind)) return true;
    if (FINAL_KINDS.has(kind)) return false;
  }
  const status = statusOf(error);
  if (status !== undefined) return status === 408 || status === 409 || status === 429 || status >= 500;
  return true;
}
