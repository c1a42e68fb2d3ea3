import type { LedgerDatabase } from '../ledger/ledger-database.ts';
import type { ProviderTable, ProviderTables } from './providers-schema.ts';

/** One row of the `providers` table, as read. */
export interface StoredProviderRow {
  readonly id: string;
  readonly kind: string;
  /** The settings without secrets, as written (validated when the row is used). */
  readonly settings: unknown;
  /** The sealed secrets (secret-box.ts); `null` when the provider has none. */
  readonly secrets: string | null;
  /** The vendor's model ids at the last sync; `null` before the first. */
  readonly syncedModels: readonly string[] | null;
  readonly syncedAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What a row is written with. */
export interface StoredProviderWrite {
  kind: string;
  settings: Record<string, unknown>;
  secrets: string | null;
}

/** The providers added through the admin API, in the gateway's database. */
export interface ProviderStore {
  /** Every stored provider, oldest first (the order they join the file's providers in). */
  list(): Promise<StoredProviderRow[]>;
  get(id: string): Promise<StoredProviderRow | undefined>;
  /** Adds a provider; `undefined` when the id is taken. */
  create(id: string, write: StoredProviderWrite): Promise<StoredProviderRow | undefined>;
  /** Replaces a provider's kind, settings and secrets; `undefined` when there is no such provider. */
  update(id: string, write: StoredProviderWrite): Promise<StoredProviderRow | undefined>;
  /** True when the provider existed. */
  remove(id: string): Promise<boolean>;
  /** Records the vendor's model list; `undefined` when there is no such provider. */
  setSyncedModels(id: string, models: readonly string[]): Promise<StoredProviderRow | undefined>;
}

type Selected = {
  [Column in keyof ProviderTable]: ProviderTable[Column] extends { __select__: infer S } ? S : ProviderTable[Column];
};

function toDate(value: Date | bigint | number | null): Date | null {
  if (value === null) return null;
  return value instanceof Date ? value : new Date(Number(value));
}

const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

function fromRow(row: Selected): StoredProviderRow {
  const models: unknown = row.synced_models === null ? null : JSON.parse(row.synced_models);
  return {
    id: row.id,
    kind: row.kind,
    settings: JSON.parse(row.settings),
    secrets: row.secrets,
    syncedModels: isStringList(models) ? models : null,
    syncedAt: toDate(row.synced_at),
    createdAt: toDate(row.created_at) ?? new Date(0),
    updatedAt: toDate(row.updated_at) ?? new Date(0),
  };
}

/**
 * The provider store over the gateway's database (SQLite or PostgreSQL). It stores what it is given: sealing the
 * secrets and validating the settings is the caller's (stored-providers.ts).
 *
 * @example
 * const store = createProviderStore(storage.database);
 * await store.create('glm-eu', { kind: 'zhipu', settings: { maxConcurrency: 1 }, secrets: box.seal(…, 'glm-eu') });
 */
export function createProviderStore(database: LedgerDatabase): ProviderStore {
  const db = database.db.withTables<ProviderTables>();
  const stored = (date: Date): Date | number => (database.dialect === 'postgres' ? date : date.getTime());

  const get = async (id: string): Promise<StoredProviderRow | undefined> => {
    const row = await db.selectFrom('providers').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  };

  return {
    async list() {
      const rows = await db.selectFrom('providers').selectAll().orderBy('created_at').orderBy('id').execute();
      return rows.map(fromRow);
    },
    get,
    async create(id, write) {
      const now = stored(new Date());
      const result = await db
        .insertInto('providers')
        .values({
          id,
          kind: write.kind,
          settings: JSON.stringify(write.settings),
          secrets: write.secrets,
          synced_models: null,
          synced_at: null,
          created_at: now,
          updated_at: now,
        })
        .onConflict((conflict) => conflict.column('id').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 0 ? undefined : get(id);
    },
    async update(id, write) {
      const result = await db
        .updateTable('providers')
        .set({
          kind: write.kind,
          settings: JSON.stringify(write.settings),
          secrets: write.secrets,
          updated_at: stored(new Date()),
        })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 0 ? undefined : get(id);
    },
    async remove(id) {
      const result = await db.deleteFrom('providers').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async setSyncedModels(id, models) {
      const now = stored(new Date());
      const result = await db
        .updateTable('providers')
        .set({ synced_models: JSON.stringify(models), synced_at: now })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 0 ? undefined : get(id);
    },
  };
}
