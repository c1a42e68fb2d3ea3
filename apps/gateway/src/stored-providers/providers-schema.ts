import { sql, type ColumnType, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { LedgerDialect } from '../ledger/ledger-schema.ts';

// As in the ledger: PostgreSQL hands back timestamptz as Date; SQLite (BigInt reads) every integer as bigint.
type Timestamp = ColumnType<Date | bigint | number, Date | number, Date | number>;
type NullableTimestamp = ColumnType<Date | bigint | number | null, Date | number | null, Date | number | null>;

/** The `providers` table: providers added through the admin API. Vendor keys are only ever stored sealed. */
export type ProviderTable = {
  id: string;
  kind: string;
  /** JSON object: the provider's settings as in gateway.yaml (camelCase), without its secrets. */
  settings: string;
  /**
   * The secrets (apiKey, secretAccessKey, sessionToken, headers) as one JSON object sealed with AES-256-GCM under
   * GW_SECRET_KEY (secret-box.ts), the provider id as additional data; null when it has none.
   */
  secrets: string | null;
  /** JSON array of the model ids the vendor listed at the last sync-models. */
  synced_models: string | null;
  synced_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
};

/** The provider tables as kysely sees them. */
export type ProviderTables = {
  providers: ProviderTable;
};

async function createProvidersTable(db: Kysely<unknown>, dialect: LedgerDialect): Promise<void> {
  const postgres = dialect === 'postgres';
  const time = postgres ? 'timestamptz' : 'integer';
  let table = db.schema
    .createTable('providers')
    .addColumn('id', 'text', (column) => column.primaryKey().notNull())
    .addColumn('kind', 'text', (column) => column.notNull())
    .addColumn('settings', 'text', (column) => column.notNull())
    .addColumn('secrets', 'text')
    .addColumn('synced_models', 'text')
    .addColumn('synced_at', time)
    .addColumn('created_at', time, (column) => column.notNull())
    .addColumn('updated_at', time, (column) => column.notNull());
  if (!postgres) table = table.modifyEnd(sql`strict`);
  await table.execute();
}

/**
 * The provider tables' migrations (names sort after the keys').
 *
 * @example
 * const migrations = { ...keyMigrations('sqlite'), ...providerMigrations('sqlite') };
 */
export function providerMigrations(dialect: LedgerDialect): Record<string, Migration> {
  return {
    '2026-12-10-01-providers': { up: (db) => createProvidersTable(db, dialect) },
  };
}
