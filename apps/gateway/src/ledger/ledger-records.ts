import { CompiledQuery, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { LedgerDatabase } from './ledger-database.ts';
import { LedgerError } from './ledger-error.ts';
import { LEDGER_STATUSES, type LedgerRow } from './ledger-row.ts';
import type { LedgerDialect, LedgerTable } from './ledger-schema.ts';

/** A ledger row as the database stores it. */
export type LedgerRecord = Selectable<LedgerTable>;

function unexpected(column: string, value: unknown): LedgerError {
  return new LedgerError('unexpected_value', `ledger.${column} holds ${typeof value} ${String(value)}`);
}

/** A whole number read back from either driver (pg gives int8 and numeric as text, node:sqlite gives BigInt). */
export function readBigInt(value: unknown, column: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw unexpected(column, value);
}

/** A count read back from either driver, as a JS number (exact: counts stay far below 2^53). */
export function readCount(value: unknown, column: string): number {
  const count = Number(readBigInt(value, column));
  if (!Number.isSafeInteger(count)) throw unexpected(column, value);
  return count;
}

function readNullableCount(value: unknown, column: string): number | null {
  return value === null ? null : readCount(value, column);
}

function readFlag(value: unknown, column: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 1n || value === 1) return true;
  if (value === 0n || value === 0) return false;
  throw unexpected(column, value);
}

/** A timestamp read back: PostgreSQL's timestamptz arrives as a Date, SQLite's as epoch milliseconds. */
export function readDate(value: unknown, column: string): Date {
  if (value instanceof Date) return value;
  return new Date(readCount(value, column));
}

/** How a date is stored: a timestamptz on PostgreSQL, epoch milliseconds on SQLite. */
export function storedDate(date: Date, dialect: LedgerDialect): Date | number {
  return dialect === 'postgres' ? date : date.getTime();
}

function readStatus(value: string): LedgerRow['status'] {
  const status = LEDGER_STATUSES.find((known) => known === value);
  if (status === undefined) throw unexpected('status', value);
  return status;
}

/**
 * The columns of a row. Unpriced rows store zero amounts and no currency, so sums need no NULL handling.
 *
 * @example
 * ```ts
 * await db.insertInto('ledger').values(rows.map((row) => toRecord(row, 'sqlite'))).execute();
 * ```
 */
export function toRecord(row: LedgerRow, dialect: LedgerDialect): Insertable<LedgerTable> {
  const { tokens, cost } = row;
  return {
    request_id: row.requestId,
    created_at: storedDate(row.createdAt, dialect),
    api_key_id: row.apiKeyId,
    model: row.model,
    provider: row.provider,
    upstream_model: row.upstreamModel,
    endpoint: row.endpoint,
    stream: row.stream,
    status: row.status,
    http_status: row.httpStatus,
    error_kind: row.errorKind,
    attempts: row.attempts,
    fallback: row.fallback,
    ttft_ms: row.ttftMs,
    latency_ms: row.latencyMs,
    input_tokens: tokens.input,
    cached_input_tokens: tokens.cachedInput,
    cache_write_tokens: tokens.cacheWrite,
    output_tokens: tokens.output,
    reasoning_tokens: tokens.reasoning,
    input_cost: cost?.input ?? 0n,
    cached_input_cost: cost?.cachedInput ?? 0n,
    cache_write_cost: cost?.cacheWrite ?? 0n,
    output_cost: cost?.output ?? 0n,
    reasoning_cost: cost?.reasoning ?? 0n,
    total_cost: cost?.total ?? 0n,
    currency: cost?.currency ?? null,
    estimated: row.estimated,
    unpriced: cost === null,
    cache_hit: row.cacheHit === true,
    cost_saved: row.costSaved ?? 0n,
  };
}

/**
 * The row a record stores, whichever driver read it.
 *
 * @example
 * ```ts
 * const rows = (await db.selectFrom('ledger').selectAll().execute()).map(fromRecord);
 * ```
 */
export function fromRecord(record: LedgerRecord): LedgerRow {
  const unpriced = readFlag(record.unpriced, 'unpriced');
  const currency = record.currency;
  return {
    requestId: record.request_id,
    createdAt: readDate(record.created_at, 'created_at'),
    apiKeyId: record.api_key_id,
    model: record.model,
    provider: record.provider,
    upstreamModel: record.upstream_model,
    endpoint: record.endpoint,
    stream: readFlag(record.stream, 'stream'),
    status: readStatus(record.status),
    httpStatus: readNullableCount(record.http_status, 'http_status'),
    errorKind: record.error_kind,
    attempts: readCount(record.attempts, 'attempts'),
    fallback: readFlag(record.fallback, 'fallback'),
    ttftMs: readNullableCount(record.ttft_ms, 'ttft_ms'),
    latencyMs: readCount(record.latency_ms, 'latency_ms'),
    tokens: {
      input: readCount(record.input_tokens, 'input_tokens'),
      cachedInput: readCount(record.cached_input_tokens, 'cached_input_tokens'),
      cacheWrite: readCount(record.cache_write_tokens, 'cache_write_tokens'),
      output: readCount(record.output_tokens, 'output_tokens'),
      reasoning: readCount(record.reasoning_tokens, 'reasoning_tokens'),
    },
    cost:
      unpriced || currency === null
        ? null
        : {
            currency,
            input: readBigInt(record.input_cost, 'input_cost'),
            cachedInput: readBigInt(record.cached_input_cost, 'cached_input_cost'),
            cacheWrite: readBigInt(record.cache_write_cost, 'cache_write_cost'),
            output: readBigInt(record.output_cost, 'output_cost'),
            reasoning: readBigInt(record.reasoning_cost, 'reasoning_cost'),
            total: readBigInt(record.total_cost, 'total_cost'),
          },
    estimated: readFlag(record.estimated, 'estimated'),
    // Only hits carry the two fields, as rows are built (an upstream call's row leaves them out).
    ...(readFlag(record.cache_hit, 'cache_hit')
      ? { cacheHit: true, costSaved: readBigInt(record.cost_saved, 'cost_saved') }
      : {}),
  };
}

// SQLite primary result codes that blame the data: TOOBIG, CONSTRAINT, MISMATCH, RANGE.
const SQLITE_DATA_ERRORS = new Set([18, 19, 20, 25]);

/**
 * True when the database refused an insert because of the rows' data (PostgreSQL SQLSTATE classes 22, data
 * exception, and 23, integrity constraint; SQLite's constraint, type and size errors), so that the same rows
 * would fail again. Anything else (a connection refused, a busy or full disk, a missing table) may pass with
 * time, and is retried.
 *
 * @example
 * ```ts
 * if (isRefusedRow(error)) rejectTheRow(); else retryLater();
 * ```
 */
export function isRefusedRow(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code: unknown = Reflect.get(error, 'code');
  if (typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code)) return true;
  const sqliteCode: unknown = Reflect.get(error, 'errcode');
  return code === 'ERR_SQLITE_ERROR' && typeof sqliteCode === 'number' && SQLITE_DATA_ERRORS.has(sqliteCode & 0xff);
}

// Every column with its PostgreSQL type (for the unnest() insert); the compiler checks none is missing. The key
// order is the INSERT's column order.
const COLUMN_TYPES: { readonly [Column in keyof LedgerTable]-?: string } = {
  request_id: 'text',
  created_at: 'timestamptz',
  api_key_id: 'text',
  model: 'text',
  provider: 'text',
  upstream_model: 'text',
  endpoint: 'text',
  stream: 'boolean',
  status: 'text',
  http_status: 'integer',
  error_kind: 'text',
  attempts: 'integer',
  fallback: 'boolean',
  ttft_ms: 'integer',
  latency_ms: 'integer',
  input_tokens: 'integer',
  cached_input_tokens: 'integer',
  cache_write_tokens: 'integer',
  output_tokens: 'integer',
  reasoning_tokens: 'integer',
  input_cost: 'bigint',
  cached_input_cost: 'bigint',
  cache_write_cost: 'bigint',
  output_cost: 'bigint',
  reasoning_cost: 'bigint',
  total_cost: 'bigint',
  currency: 'text',
  estimated: 'boolean',
  unpriced: 'boolean',
  cache_hit: 'boolean',
  cost_saved: 'bigint',
};
const isColumn = (key: string): key is keyof LedgerTable => Object.hasOwn(COLUMN_TYPES, key);
const INSERT_COLUMNS = Object.keys(COLUMN_TYPES).filter(isColumn);

const COLUMN_LIST = INSERT_COLUMNS.join(', ');
// PostgreSQL: one parameter per column, an array of every row's values, whatever the number of rows (no 65535
// parameter limit, one short statement to parse).
const POSTGRES_INSERT = `insert into ledger (${COLUMN_LIST}) select * from unnest(${INSERT_COLUMNS.map(
  (column, index) => `$${index + 1}::${COLUMN_TYPES[column]}[]`,
).join(', ')}) on conflict (request_id) do nothing`;
// SQLite: one row of placeholders per row, in statements of a few fixed sizes (a batch of 37 rows is 25 + 5 + 5 +
// 1 + 1): any batch is served by the same four prepared statements, where one statement per row count meant parsing
// a new, long INSERT for most batch sizes the flush interval happens to cut.
const SQLITE_ROW = `(${INSERT_COLUMNS.map(() => '?').join(', ')})`;
const SQLITE_CHUNKS = [100, 25, 5, 1] as const;
const SQLITE_INSERTS = new Map<number, string>(
  SQLITE_CHUNKS.map((rows) => [
    rows,
    `insert into ledger (${COLUMN_LIST}) values ${Array.from({ length: rows }, () => SQLITE_ROW).join(', ')} on conflict (request_id) do nothing`,
  ]),
);

/** The values of one row in INSERT_COLUMNS order, pushed straight onto `parameters` (no intermediate record). */
function pushSqliteValues(parameters: unknown[], row: LedgerRow): void {
  const { tokens, cost } = row;
  parameters.push(
    row.requestId,
    row.createdAt.getTime(),
    row.apiKeyId,
    row.model,
    row.provider,
    row.upstreamModel,
    row.endpoint,
    row.stream,
    row.status,
    row.httpStatus,
    row.errorKind,
    row.attempts,
    row.fallback,
    row.ttftMs,
    row.latencyMs,
    tokens.input,
    tokens.cachedInput,
    tokens.cacheWrite,
    tokens.output,
    tokens.reasoning,
    cost?.input ?? 0n,
    cost?.cachedInput ?? 0n,
    cost?.cacheWrite ?? 0n,
    cost?.output ?? 0n,
    cost?.reasoning ?? 0n,
    cost?.total ?? 0n,
    cost?.currency ?? null,
    row.estimated,
    cost === null,
    row.cacheHit === true,
    row.costSaved ?? 0n,
  );
}

/** The SQLite statements that insert `rows`: the largest fixed sizes first. */
function sqliteStatements(rows: readonly LedgerRow[]): CompiledQuery[] {
  const statements: CompiledQuery[] = [];
  let start = 0;
  for (const size of SQLITE_CHUNKS) {
    while (rows.length - start >= size) {
      const parameters: unknown[] = [];
      for (let index = start; index < start + size; index += 1) pushSqliteValues(parameters, rows[index] as LedgerRow);
      statements.push(CompiledQuery.raw(SQLITE_INSERTS.get(size) ?? '', parameters));
      start += size;
    }
  }
  return statements;
}

function postgresStatement(rows: readonly LedgerRow[]): CompiledQuery {
  const records = rows.map((row) => toRecord(row, 'postgres'));
  return CompiledQuery.raw(
    POSTGRES_INSERT,
    INSERT_COLUMNS.map((column) => records.map((record) => record[column] ?? null)),
  );
}

/**
 * Inserts rows, ignoring any whose request id the ledger already holds (a replay never counts twice), in as many
 * statements as SQLite's parameter limit needs (one on PostgreSQL). Returns how many rows were new. The SQL is
 * written here rather than built by kysely: building a 500-row INSERT took longer than running it (see the decision
 * record), and on SQLite both block the event loop.
 *
 * @example
 * ```ts
 * const inserted = await insertRows(database, rows, AbortSignal.timeout(30_000));
 * ```
 */
export async function insertRows(
  database: LedgerDatabase,
  rows: readonly LedgerRow[],
  signal?: AbortSignal,
): Promise<number> {
  return insertRowsWith(database.db, database.dialect, rows, signal);
}

/**
 * {@link insertRows} on a given connection or transaction: a batch line settles its ledger row in the same
 * transaction as its own state.
 *
 * @example
 * ```ts
 * await db.transaction().execute((trx) => insertRowsWith(trx, 'postgres', [row]));
 * ```
 */
export async function insertRowsWith(
  db: Pick<Kysely<never>, 'executeQuery'>,
  dialect: LedgerDialect,
  rows: readonly LedgerRow[],
  signal?: AbortSignal,
): Promise<number> {
  const options = signal === undefined ? undefined : { signal };
  const statements = dialect === 'postgres' ? [postgresStatement(rows)] : sqliteStatements(rows);
  let inserted = 0;
  for (const statement of statements) {
    const result = await db.executeQuery(statement, options);
    inserted += Number(result.numAffectedRows ?? 0n);
  }
  return inserted;
}
