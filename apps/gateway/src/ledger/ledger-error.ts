/**
 * Why the ledger refused, as a closed set. A `switch` over it is exhaustive; never branch on `error.message`.
 * - `invalid_url`: `storage.url` is not `sqlite://<path>`, `sqlite::memory:` or `postgres(ql)://…`.
 * - `migration_failed`: the schema could not be brought up to date (the cause says why).
 * - `invalid_query`: a query argument is out of range (a limit, a time range) or a cursor was not made by us: the
 *   admin routes answer it as a 400.
 * - `unexpected_value`: the database returned a value of a type the column cannot hold (a table edited by hand).
 */
export type LedgerErrorKind = 'invalid_url' | 'migration_failed' | 'invalid_query' | 'unexpected_value';

// Symbol.for, so the guard also recognises errors from a second copy of this module.
const LEDGER_ERROR_MARKER: unique symbol = Symbol.for('gw.error.ledger');

/**
 * The one error the ledger throws on purpose. Database errors (connection refused, disk full) are not wrapped:
 * the writer reports them through its events, and queries let them through as the driver raised them.
 *
 * @example
 * ```ts
 * try {
 *   await queries.listRequests({ before: cursor });
 * } catch (error) {
 *   if (isLedgerError(error) && error.kind === 'invalid_query') answerBadRequest(error.message);
 * }
 * ```
 */
export class LedgerError extends Error {
  readonly [LEDGER_ERROR_MARKER] = true;
  override readonly name = 'LedgerError';
  readonly kind: LedgerErrorKind;

  constructor(kind: LedgerErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
  }
}

/**
 * True when `error` is a {@link LedgerError}, also across duplicate copies of this module.
 *
 * @example
 * ```ts
 * if (isLedgerError(error) && error.kind === 'invalid_url') exitWithConfigError(error.message);
 * ```
 */
export function isLedgerError(error: unknown): error is LedgerError {
  return typeof error === 'object' && error !== null && Reflect.get(error, LEDGER_ERROR_MARKER) === true;
}
