import { createHash, randomBytes } from 'node:crypto';
import type { Money } from '@gw/cost';
import type { LedgerDatabase } from '../ledger/ledger-database.ts';
import { uuidv7 } from '../uuidv7.ts';
import type { ApiKeyTable, KeyTables } from './keys-schema.ts';

/** How often a key's budget starts over. */
export type BudgetPeriod = 'day' | 'month' | 'total';

/** A key's own rate on one model. */
export interface ModelLimit {
  readonly rpm?: number | undefined;
  readonly tpm?: number | undefined;
}

/** A virtual key as the gateway knows it (never its secret). */
export interface VirtualKey {
  readonly id: string;
  readonly name: string;
  /** The key's first characters, to tell keys apart. */
  readonly prefix: string;
  /** Aliases or `provider-id/model` the key may call; `null`: every model. */
  readonly models: readonly string[] | null;
  readonly rpm: number | null;
  readonly tpm: number | null;
  readonly maxParallel: number | null;
  /** RPM/TPM of the key on one model (alias or `provider-id/model`), besides its key-wide ones. */
  readonly modelLimits: Readonly<Record<string, ModelLimit>> | null;
  readonly budget: { readonly amount: Money; readonly period: BudgetPeriod } | null;
  readonly expiresAt: Date | null;
  readonly metadata: Record<string, unknown> | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly revokedAt: Date | null;
}

/** What a key is created with (and, each field optional, changed with; `null` clears it). */
export interface KeySettings {
  name: string;
  models: readonly string[] | null;
  rpm: number | null;
  tpm: number | null;
  maxParallel: number | null;
  modelLimits: Record<string, ModelLimit> | null;
  budget: { amount: Money; period: BudgetPeriod } | null;
  expiresAt: Date | null;
  metadata: Record<string, unknown> | null;
}

/** The virtual keys in the database. */
export interface KeyStore {
  /** Creates a key; the secret is returned this once and never stored. */
  create(settings: KeySettings): Promise<{ key: VirtualKey; secret: string }>;
  /** Every key, newest first (revoked ones included). */
  list(): Promise<VirtualKey[]>;
  get(id: string): Promise<VirtualKey | undefined>;
  /** Changes the given fields; `undefined` when there is no such key. */
  update(id: string, patch: Partial<KeySettings>): Promise<VirtualKey | undefined>;
  /** Revokes the key (idempotent: the first revocation time is kept); `undefined` when there is no such key. */
  revoke(id: string): Promise<VirtualKey | undefined>;
  /** The key a presented secret belongs to, by its SHA-256. */
  findBySecret(secret: string): Promise<VirtualKey | undefined>;
}

/** The prefix every virtual key starts with. */
export const KEY_PREFIX = 'sk-gw-';
const DISPLAY_PREFIX_LENGTH = KEY_PREFIX.length + 6;

/**
 * The SHA-256 of a key, hex. A key carries 256 random bits, so a plain hash cannot be reversed or guessed: no salt
 * or slow KDF is needed, and a lookup is one indexed query.
 *
 * @example
 * hashKey('sk-gw-…'); // '9f86d0…'
 */
export function hashKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function toDate(value: Date | bigint | number | null): Date | null {
  if (value === null) return null;
  return value instanceof Date ? value : new Date(Number(value));
}

function toCount(value: number | bigint | string | null): number | null {
  return value === null ? null : Number(value);
}

function parseJson<T>(text: string | null, isValid: (value: unknown) => value is T): T | null {
  if (text === null) return null;
  const value: unknown = JSON.parse(text);
  return isValid(value) ? value : null;
}

const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isModelLimits = (value: unknown): value is Record<string, ModelLimit> =>
  isObject(value) && Object.values(value).every(isObject);
const isPeriod = (value: string | null): value is BudgetPeriod =>
  value === 'day' || value === 'month' || value === 'total';

type Selected = {
  [Column in keyof ApiKeyTable]: ApiKeyTable[Column] extends { __select__: infer S } ? S : ApiKeyTable[Column];
};

function fromRow(row: Selected): VirtualKey {
  const amount = row.budget_amount;
  const period = row.budget_period;
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    models: parseJson(row.models, isStringList),
    rpm: toCount(row.rpm),
    tpm: toCount(row.tpm),
    maxParallel: toCount(row.max_parallel),
    modelLimits: parseJson(row.model_limits, isModelLimits),
    budget:
      amount === null || !isPeriod(period) || row.budget_currency === null
        ? null
        : { amount: { amount: BigInt(amount), currency: row.budget_currency }, period },
    expiresAt: toDate(row.expires_at),
    metadata: parseJson(row.metadata, isObject),
    createdAt: toDate(row.created_at) ?? new Date(0),
    updatedAt: toDate(row.updated_at) ?? new Date(0),
    revokedAt: toDate(row.revoked_at),
  };
}

/**
 * The key store over the gateway's database (SQLite or PostgreSQL).
 *
 * @example
 * const keys = createKeyStore(storage.database);
 * const { key, secret } = await keys.create({ name: 'app', models: null, rpm: 60, tpm: null, maxParallel: null, budget: null, expiresAt: null, metadata: null });
 */
export function createKeyStore(database: LedgerDatabase): KeyStore {
  const db = database.db.withTables<KeyTables>();
  const stored = (date: Date | null): Date | number | null =>
    date === null ? null : database.dialect === 'postgres' ? date : date.getTime();

  const columnsOf = (patch: Partial<KeySettings>) => ({
    ...(patch.name === undefined ? {} : { name: patch.name }),
    ...(patch.models === undefined ? {} : { models: patch.models === null ? null : JSON.stringify(patch.models) }),
    ...(patch.rpm === undefined ? {} : { rpm: patch.rpm }),
    ...(patch.tpm === undefined ? {} : { tpm: patch.tpm }),
    ...(patch.maxParallel === undefined ? {} : { max_parallel: patch.maxParallel }),
    ...(patch.modelLimits === undefined
      ? {}
      : { model_limits: patch.modelLimits === null ? null : JSON.stringify(patch.modelLimits) }),
    ...(patch.budget === undefined
      ? {}
      : {
          budget_amount: patch.budget?.amount.amount ?? null,
          budget_period: patch.budget?.period ?? null,
          budget_currency: patch.budget?.amount.currency ?? null,
        }),
    ...(patch.expiresAt === undefined ? {} : { expires_at: stored(patch.expiresAt) }),
    ...(patch.metadata === undefined
      ? {}
      : { metadata: patch.metadata === null ? null : JSON.stringify(patch.metadata) }),
  });

  const get = async (id: string): Promise<VirtualKey | undefined> => {
    const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  };

  return {
    async create(settings) {
      const secret = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
      const now = new Date();
      const id = `key_${uuidv7(now.getTime()).replaceAll('-', '')}`;
      await db
        .insertInto('api_keys')
        .values({
          id,
          key_hash: hashKey(secret),
          prefix: secret.slice(0, DISPLAY_PREFIX_LENGTH),
          name: settings.name,
          models: null,
          rpm: null,
          tpm: null,
          max_parallel: null,
          model_limits: null,
          budget_amount: null,
          budget_period: null,
          budget_currency: null,
          expires_at: null,
          metadata: null,
          ...columnsOf(settings),
          created_at: stored(now) ?? 0,
          updated_at: stored(now) ?? 0,
          revoked_at: null,
        })
        .execute();
      const key = await get(id);
      if (key === undefined) throw new Error('the key just created cannot be read back');
      return { key, secret };
    },
    async list() {
      const rows = await db
        .selectFrom('api_keys')
        .selectAll()
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute();
      return rows.map(fromRow);
    },
    get,
    async update(id, patch) {
      const result = await db
        .updateTable('api_keys')
        .set({ ...columnsOf(patch), updated_at: stored(new Date()) ?? 0 })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 0 ? undefined : get(id);
    },
    async revoke(id) {
      const now = stored(new Date());
      await db
        .updateTable('api_keys')
        .set({ revoked_at: now, updated_at: now ?? 0 })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .execute();
      return get(id);
    },
    async findBySecret(secret) {
      const row = await db
        .selectFrom('api_keys')
        .selectAll()
        .where('key_hash', '=', hashKey(secret))
        .executeTakeFirst();
      return row === undefined ? undefined : fromRow(row);
    },
  };
}
