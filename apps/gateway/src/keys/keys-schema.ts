import { sql, type ColumnType, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { LedgerDialect } from '../ledger/ledger-schema.ts';

// As in the ledger: PostgreSQL hands back timestamptz as Date and bigint as text; SQLite (BigInt reads) every
// integer as bigint. The store converts.
type Timestamp = ColumnType<Date | bigint | number, Date | number, Date | number>;
type NullableTimestamp = ColumnType<Date | bigint | number | null, Date | number | null, Date | number | null>;
type NullableCount = ColumnType<number | bigint | string | null, number | null, number | null>;
type NullableAmount = ColumnType<bigint | number | string | null, bigint | null, bigint | null>;

/** The `api_keys` table: one row per virtual key. The key itself is never stored, only its SHA-256. */
export type ApiKeyTable = {
  id: string;
  name: string;
  /** SHA-256 of the key, hex: what a presented key is looked up by. */
  key_hash: string;
  /** The key's first characters (`sk-gw-AbCd`), to tell keys apart in lists. */
  prefix: string;
  /** JSON array of aliases or provider-id/model the key may call; null: every model. */
  models: string | null;
  rpm: NullableCount;
  tpm: NullableCount;
  max_parallel: NullableCount;
  /** JSON object: per model the key names, `{ rpm?, tpm? }`. */
  model_limits: string | null;
  /** In 10^-12 units of `budget_currency`. */
  budget_amount: NullableAmount;
  budget_period: string | null;
  budget_currency: string | null;
  expires_at: NullableTimestamp;
  /** JSON object. */
  metadata: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  revoked_at: NullableTimestamp;
};

/** The key tables as kysely sees them. */
export type KeyTables = {
  api_keys: ApiKeyTable;
};

async function createApiKeysTable(db: Kysely<unknown>, dialect: LedgerDialect): Promise<void> {
  const postgres = dialect === 'postgres';
  const time = postgres ? 'timestamptz' : 'integer';
  let table = db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (column) => column.primaryKey().notNull())
    .addColumn('name', 'text', (column) => column.notNull())
    .addColumn('key_hash', 'text', (column) => column.notNull().unique())
    .addColumn('prefix', 'text', (column) => column.notNull())
    .addColumn('models', 'text')
    .addColumn('rpm', 'integer')
    .addColumn('tpm', postgres ? 'bigint' : 'integer')
    .addColumn('max_parallel', 'integer')
    .addColumn('model_limits', 'text')
    .addColumn('budget_amount', postgres ? 'bigint' : 'integer')
    .addColumn('budget_period', 'text')
    .addColumn('budget_currency', 'text')
    .addColumn('expires_at', time)
    .addColumn('metadata', 'text')
    .addColumn('created_at', time, (column) => column.notNull())
    .addColumn('updated_at', time, (column) => column.notNull())
    .addColumn('revoked_at', time)
    .addCheckConstraint('api_keys_budget_period_check', sql`budget_period in ('day', 'month', 'total')`);
  if (!postgres) table = table.modifyEnd(sql`strict`);
  await table.execute();
}

/**
 * The key tables' migrations (names sort after the ledger's).
 *
 * @example
 * const migrations = { ...ledgerMigrations('sqlite'), ...keyMigrations('sqlite') };
 */
export function keyMigrations(dialect: LedgerDialect): Record<string, Migration> {
  return {
    '2026-12-03-02-api-keys': { up: (db) => createApiKeysTable(db, dialect) },
  };
}
