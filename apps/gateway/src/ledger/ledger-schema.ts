import { sql, type ColumnType, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** Which SQL database the ledger lives in. */
export type LedgerDialect = 'sqlite' | 'postgres';

// What each driver hands back differs (pg: int8 and numeric as text, timestamptz as Date, boolean as boolean;
// node:sqlite with BigInt reads: every integer as bigint), so select types are the union and the row readers
// convert. Insert types are what the writer sends to either driver.
type Flag = ColumnType<boolean | bigint | number, boolean, never>;
type Count = ColumnType<number | bigint | string, number, never>;
type NullableCount = ColumnType<number | bigint | string | null, number | null, never>;
type Amount = ColumnType<bigint | number | string, bigint, never>;
// PostgreSQL: timestamptz (Date); SQLite: epoch milliseconds (an integer, so ranges and hour buckets are integer
// arithmetic there).
type Timestamp = ColumnType<Date | bigint | number, Date | number, never>;

/** The `ledger` table as kysely sees it: one row per request that reached routing. */
export interface LedgerTable {
  request_id: string;
  created_at: Timestamp;
  api_key_id: string | null;
  model: string;
  provider: string;
  upstream_model: string;
  endpoint: string;
  stream: Flag;
  status: string;
  http_status: NullableCount;
  error_kind: string | null;
  attempts: Count;
  fallback: Flag;
  ttft_ms: NullableCount;
  latency_ms: Count;
  input_tokens: Count;
  cached_input_tokens: Count;
  cache_write_tokens: Count;
  output_tokens: Count;
  reasoning_tokens: Count;
  input_cost: Amount;
  cached_input_cost: Amount;
  cache_write_cost: Amount;
  output_cost: Amount;
  reasoning_cost: Amount;
  total_cost: Amount;
  currency: string | null;
  estimated: Flag;
  unpriced: Flag;
  /** The response cache answered (no upstream call; the costs are 0). */
  cache_hit: Flag;
  /** For a cache hit: what the answer cost when it was first served, in `currency`. */
  cost_saved: Amount;
}

/** Every table of the gateway's database that this module knows. */
export interface LedgerTables {
  ledger: LedgerTable;
}

async function createLedgerTable(db: Kysely<unknown>, dialect: LedgerDialect): Promise<void> {
  const postgres = dialect === 'postgres';
  // Money: PostgreSQL bigint (8 bytes, exact; SUM(bigint) is numeric, so sums never overflow); SQLite INTEGER is
  // the same 64 bits, and the usage query splits its sums so they cannot overflow either (ledger-queries.ts).
  const flag = postgres ? 'boolean' : 'integer';
  const amount = postgres ? 'bigint' : 'integer';
  let table = db.schema
    .createTable('ledger')
    .addColumn('request_id', 'text', (column) => column.primaryKey().notNull())
    .addColumn('created_at', postgres ? 'timestamptz' : 'integer', (column) => column.notNull())
    .addColumn('api_key_id', 'text')
    .addColumn('model', 'text', (column) => column.notNull())
    .addColumn('provider', 'text', (column) => column.notNull())
    .addColumn('upstream_model', 'text', (column) => column.notNull())
    .addColumn('endpoint', 'text', (column) => column.notNull())
    .addColumn('stream', flag, (column) => column.notNull())
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('http_status', 'integer')
    .addColumn('error_kind', 'text')
    .addColumn('attempts', 'integer', (column) => column.notNull())
    .addColumn('fallback', flag, (column) => column.notNull())
    .addColumn('ttft_ms', 'integer')
    .addColumn('latency_ms', 'integer', (column) => column.notNull());
  for (const name of ['input', 'cached_input', 'cache_write', 'output', 'reasoning'] as const) {
    table = table.addColumn(`${name}_tokens`, 'integer', (column) => column.notNull());
  }
  for (const name of ['input', 'cached_input', 'cache_write', 'output', 'reasoning', 'total'] as const) {
    table = table.addColumn(`${name}_cost`, amount, (column) => column.notNull());
  }
  table = table
    .addColumn('currency', 'text')
    .addColumn('estimated', flag, (column) => column.notNull())
    .addColumn('unpriced', flag, (column) => column.notNull())
    .addCheckConstraint('ledger_status_check', sql`status in ('completed', 'failed', 'cancelled')`);
  // STRICT: SQLite refuses a value of the wrong type instead of storing it as whatever it is.
  await (postgres ? table : table.modifyEnd(sql`strict`)).execute();

  // Newest-first listing with keyset pagination, time ranges of usage, and retention all walk this one.
  await db.schema.createIndex('ledger_created_at').on('ledger').columns(['created_at', 'request_id']).execute();
  // The filters of the request list, each in time order, so a rare model or key is found without a scan.
  for (const column of ['model', 'provider'] as const) {
    await db.schema
      .createIndex(`ledger_${column}_created_at`)
      .on('ledger')
      .columns([column, 'created_at', 'request_id'])
      .execute();
  }
  // Partial: rows without a virtual key (all of them, until keys exist) cost this index nothing.
  await db.schema
    .createIndex('ledger_api_key_id_created_at')
    .on('ledger')
    .columns(['api_key_id', 'created_at', 'request_id'])
    .where(sql.ref('api_key_id'), 'is not', null)
    .execute();
}

/**
 * The ledger's migrations, oldest first, for kysely's `Migrator`. Names sort in the order they must run; a
 * migration, once released, is never edited: a change is a new one.
 *
 * @example
 * ```ts
 * const migrator = new Migrator({ db, provider: { getMigrations: async () => ledgerMigrations('sqlite') } });
 * ```
 */
export function ledgerMigrations(dialect: LedgerDialect): Record<string, Migration> {
  return {
    '2026-12-03-01-ledger': { up: (db) => createLedgerTable(db, dialect) },
    '2026-12-11-05-ledger-cache-hits': { up: (db) => addCacheHitColumns(db, dialect) },
  };
}

// Rows written before the response cache existed were all upstream calls: not hits, nothing saved.
async function addCacheHitColumns(db: Kysely<unknown>, dialect: LedgerDialect): Promise<void> {
  const postgres = dialect === 'postgres';
  await db.schema
    .alterTable('ledger')
    .addColumn('cache_hit', postgres ? 'boolean' : 'integer', (column) =>
      column.notNull().defaultTo(postgres ? sql`false` : 0),
    )
    .execute();
  await db.schema
    .alterTable('ledger')
    .addColumn('cost_saved', postgres ? 'bigint' : 'integer', (column) => column.notNull().defaultTo(0))
    .execute();
}
