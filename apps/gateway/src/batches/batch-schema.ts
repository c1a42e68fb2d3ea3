import { sql, type ColumnType, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { LedgerDialect } from '../ledger/ledger-schema.ts';

// Times are epoch milliseconds in a bigint on both databases (pg reads bigint as text, node:sqlite as bigint): lease
// comparisons are integer arithmetic, the same SQL on both. The store converts.
type Millis = ColumnType<bigint | number | string, number, number>;
type NullableMillis = ColumnType<bigint | number | string | null, number | null, number | null>;
type Count = ColumnType<bigint | number | string, number, number>;
type NullableCount = ColumnType<bigint | number | string | null, number | null, number | null>;

/** `batch_files`: uploaded batch inputs and the output / error files the gateway writes. */
export type BatchFileTable = {
  id: string;
  /** The virtual key that uploaded it (or whose batch wrote it); null for the master key. */
  api_key_id: string | null;
  /** `batch` (an upload) or `batch_output`. */
  purpose: string;
  filename: string;
  bytes: Count;
  created_at: Millis;
  /** The JSONL text, whole (within `batches.maxFileBytes`). */
  content: string;
};

/** `batches`: one row per batch, with its lifecycle times. */
export type BatchTable = {
  id: string;
  api_key_id: string | null;
  endpoint: string;
  input_file_id: string;
  completion_window: string;
  status: string;
  /** JSON object or null. */
  metadata: string | null;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: Millis;
  expires_at: Millis;
  in_progress_at: NullableMillis;
  finalizing_at: NullableMillis;
  completed_at: NullableMillis;
  failed_at: NullableMillis;
  expired_at: NullableMillis;
  cancelling_at: NullableMillis;
  cancelled_at: NullableMillis;
};

/** `batch_lines`: one row per request of a batch, its state, its lease and its answer. */
export type BatchLineTable = {
  batch_id: string;
  /** 1-based line number in the input file. */
  line_no: Count;
  custom_id: string;
  /** The request body (JSON). */
  body: string;
  /** queued | running | succeeded | failed | cancelled | expired */
  state: string;
  /** Runs started (a run cut by a crash counts). */
  attempts: Count;
  /** Not run again before this time (a retry's backoff). */
  not_before: Millis;
  /** The process that runs it, while `running`. */
  lease_owner: string | null;
  lease_expires: NullableMillis;
  /** The gateway request id of the run that settled it (the ledger row's). */
  request_id: string | null;
  status_code: NullableCount;
  /** The answer's body (JSON), for succeeded lines and failures that got an HTTP answer. */
  response: string | null;
  /** `{ code, message }` (JSON) for lines that never got an HTTP answer (cancelled, expired). */
  error: string | null;
  updated_at: Millis;
};

/** `batch_requests`: which ledger row belongs to which batch line (every run that reached routing, retries too). */
export type BatchRequestTable = {
  /** The ledger's request id. */
  request_id: string;
  batch_id: string;
  custom_id: string;
};

/** The batch tables as kysely sees them. */
export type BatchTables = {
  batch_files: BatchFileTable;
  batches: BatchTable;
  batch_lines: BatchLineTable;
  batch_requests: BatchRequestTable;
};

async function createBatchTables(db: Kysely<unknown>, dialect: LedgerDialect): Promise<void> {
  // SQLite STRICT tables know INTEGER (64 bits), not BIGINT.
  const int64 = dialect === 'postgres' ? 'bigint' : 'integer';
  const strict = <T extends { modifyEnd: (node: ReturnType<typeof sql>) => T }>(table: T): T =>
    dialect === 'postgres' ? table : table.modifyEnd(sql`strict`);
  await strict(
    db.schema
      .createTable('batch_files')
      .addColumn('id', 'text', (column) => column.primaryKey().notNull())
      .addColumn('api_key_id', 'text')
      .addColumn('purpose', 'text', (column) => column.notNull())
      .addColumn('filename', 'text', (column) => column.notNull())
      .addColumn('bytes', int64, (column) => column.notNull())
      .addColumn('created_at', int64, (column) => column.notNull())
      .addColumn('content', 'text', (column) => column.notNull()),
  ).execute();
  await strict(
    db.schema
      .createTable('batches')
      .addColumn('id', 'text', (column) => column.primaryKey().notNull())
      .addColumn('api_key_id', 'text')
      .addColumn('endpoint', 'text', (column) => column.notNull())
      .addColumn('input_file_id', 'text', (column) => column.notNull())
      .addColumn('completion_window', 'text', (column) => column.notNull())
      .addColumn('status', 'text', (column) => column.notNull())
      .addColumn('metadata', 'text')
      .addColumn('output_file_id', 'text')
      .addColumn('error_file_id', 'text')
      .addColumn('created_at', int64, (column) => column.notNull())
      .addColumn('expires_at', int64, (column) => column.notNull())
      .addColumn('in_progress_at', int64)
      .addColumn('finalizing_at', int64)
      .addColumn('completed_at', int64)
      .addColumn('failed_at', int64)
      .addColumn('expired_at', int64)
      .addColumn('cancelling_at', int64)
      .addColumn('cancelled_at', int64),
  ).execute();
  await db.schema.createIndex('batches_status').on('batches').columns(['status', 'created_at']).execute();
  await strict(
    db.schema
      .createTable('batch_lines')
      .addColumn('batch_id', 'text', (column) => column.notNull())
      .addColumn('line_no', int64, (column) => column.notNull())
      .addColumn('custom_id', 'text', (column) => column.notNull())
      .addColumn('body', 'text', (column) => column.notNull())
      .addColumn('state', 'text', (column) => column.notNull())
      .addColumn('attempts', int64, (column) => column.notNull())
      .addColumn('not_before', int64, (column) => column.notNull())
      .addColumn('lease_owner', 'text')
      .addColumn('lease_expires', int64)
      .addColumn('request_id', 'text')
      .addColumn('status_code', int64)
      .addColumn('response', 'text')
      .addColumn('error', 'text')
      .addColumn('updated_at', int64, (column) => column.notNull())
      .addPrimaryKeyConstraint('batch_lines_pk', ['batch_id', 'line_no'])
      .addUniqueConstraint('batch_lines_custom_id', ['batch_id', 'custom_id']),
  ).execute();
  // The runner's claim walks the lines of a batch by state.
  await db.schema
    .createIndex('batch_lines_state')
    .on('batch_lines')
    .columns(['batch_id', 'state', 'line_no'])
    .execute();
  await strict(
    db.schema
      .createTable('batch_requests')
      .addColumn('request_id', 'text', (column) => column.primaryKey().notNull())
      .addColumn('batch_id', 'text', (column) => column.notNull())
      .addColumn('custom_id', 'text', (column) => column.notNull()),
  ).execute();
  await db.schema.createIndex('batch_requests_batch').on('batch_requests').columns(['batch_id']).execute();
}

/**
 * The batch tables' migrations (names sort after the stored providers').
 *
 * @example
 * const migrations = { ...ledgerMigrations('sqlite'), ...batchMigrations('sqlite') };
 */
export function batchMigrations(dialect: LedgerDialect): Record<string, Migration> {
  return {
    '2026-12-11-01-batches': { up: (db) => createBatchTables(db, dialect) },
  };
}
