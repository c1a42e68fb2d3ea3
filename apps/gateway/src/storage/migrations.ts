import type { Migration } from 'kysely/migration';
import { batchMigrations } from '../batches/batch-schema.ts';
import { keyMigrations } from '../keys/keys-schema.ts';
import { ledgerMigrations, type LedgerDialect } from '../ledger/ledger-schema.ts';
import { responseMigrations } from '../routes/v1/responses-schema.ts';
import { providerMigrations } from '../stored-providers/providers-schema.ts';

/**
 * Every table's migrations, in one set for kysely's Migrator (names sort in the order they run: a date, then a
 * number). A released migration is never edited: a change is a new one.
 *
 * @example
 * const database = await openLedgerDatabase(url, { migrations: gatewayMigrations });
 */
export function gatewayMigrations(dialect: LedgerDialect): Record<string, Migration> {
  return {
    ...ledgerMigrations(dialect),
    ...keyMigrations(dialect),
    ...providerMigrations(dialect),
    ...responseMigrations(dialect),
    ...batchMigrations(dialect),
  };
}
