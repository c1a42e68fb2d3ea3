import { sql, type ColumnType, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { LedgerDialect } from '../../ledger/ledger-schema.ts';

// As in the ledger: PostgreSQL hands back timestamptz as Date; SQLite (BigInt reads) every integer as bigint.
type Timestamp = ColumnType<Date | bigint | number, Date | number, Date | number>;

/** The `responses` table: the stored answers of `POST /v1/responses` (`store`, on by default). */
export type ResponseTable = {
  /** The Response's id (`resp_…`). */
  id: string;
  /** JSON: the Response as the client got it, cost included. */
  response: string;
  /** JSON array: the canonical conversation through this Response, what `previous_response_id` continues. */
  messages: string;
  /** The virtual key that created it; null for the master key and open mode. */
  api_key_id: string | null;
  created_at: Timestamp;
};

/** The responses tables as kysely sees them. */
export type ResponseTables = {
  responses: ResponseTable;
};

async function createResponsesTable(db: Kysely<unknown>, dialect: LedgerDialect): Promise<void> {
  const postgres = dialect === 'postgres';
  let table = db.schema
    .createTable('responses')
    .addColumn('id', 'text', (column) => column.primaryKey().notNull())
    .addColumn('response', 'text', (column) => column.notNull())
    .addColumn('messages', 'text', (column) => column.notNull())
    .addColumn('api_key_id', 'text')
    .addColumn('created_at', postgres ? 'timestamptz' : 'integer', (column) => column.notNull());
  if (!postgres) table = table.modifyEnd(sql`strict`);
  await table.execute();
  // The retention deletes by age.
  await db.schema.createIndex('responses_created_at').on('responses').column('created_at').execute();
}

/**
 * The responses table's migrations (names sort after the providers').
 *
 * @example
 * const migrations = { ...providerMigrations('sqlite'), ...responseMigrations('sqlite') };
 */
export function responseMigrations(dialect: LedgerDialect): Record<string, Migration> {
  return {
    '2026-12-17-01-responses': { up: (db) => createResponsesTable(db, dialect) },
  };
}
