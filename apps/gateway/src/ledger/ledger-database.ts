import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Migrator, type Migration } from 'kysely/migration';
import pg from 'pg';
import { LedgerError } from './ledger-error.ts';
import { ledgerMigrations, type LedgerDialect, type LedgerTables } from './ledger-schema.ts';
import { createNodeSqliteDialect } from './node-sqlite-dialect.ts';

/** Where a `storage.url` points. */
export type StorageLocation =
  { readonly dialect: 'sqlite'; readonly path: string } | { readonly dialect: 'postgres'; readonly url: string };

/** The ledger's SQL database, opened (and migrated) by {@link openLedgerDatabase}. */
export interface LedgerDatabase {
  readonly dialect: LedgerDialect;
  readonly db: Kysely<LedgerTables>;
  /** Brings the schema up to date; idempotent, and safe from several gateways at once (kysely's migration lock). */
  migrate(): Promise<void>;
  /** Closes the file or the connection pool. */
  close(): Promise<void>;
}

/** Options of {@link openLedgerDatabase}. */
export interface LedgerDatabaseOptions {
  /** Run the migrations before returning. Default true: the gateway migrates at start. */
  migrate?: boolean;
  /** PostgreSQL pool size. Default 10: the writer uses one connection, the admin queries the others. */
  maxConnections?: number;
  /** PostgreSQL: a new connection must be up within this, or the query fails (and the writer retries). Default 5 s. */
  connectTimeoutMs?: number;
  /** SQLite: how long a write waits for another process's lock before failing. Default 5 s. */
  busyTimeoutMs?: number;
  /**
   * The migrations to run, oldest first by name; default the ledger's. The gateway passes every table's
   * (storage/migrations.ts).
   */
  migrations?: ((dialect: LedgerDialect) => Record<string, Migration>) | undefined;
  /**
   * PostgreSQL: an idle pooled connection failed (the server restarted, the network cut it). The pool drops it and
   * opens another when needed; without a listener the error would crash the process, so it is always caught.
   */
  onConnectionError?: (error: unknown) => void;
}

/**
 * Reads a `storage.url`: `sqlite://<path>` (relative to the working directory, `sqlite:///abs/path.db` for an
 * absolute one), `sqlite::memory:`, or `postgres://…` / `postgresql://…`. Throws a `LedgerError`
 * (`invalid_url`) for anything else; the message never repeats the URL, which may hold a password.
 *
 * @example
 * ```ts
 * parseStorageUrl('sqlite://./data/gateway.db'); // { dialect: 'sqlite', path: '/srv/gw/data/gateway.db' }
 * ```
 */
export function parseStorageUrl(url: string): StorageLocation {
  if (url === 'sqlite::memory:' || url === 'sqlite://:memory:') return { dialect: 'sqlite', path: ':memory:' };
  if (url.startsWith('sqlite://')) {
    const path = url.slice('sqlite://'.length);
    if (path === '') throw new LedgerError('invalid_url', 'storage.url: sqlite:// needs a file path');
    return { dialect: 'sqlite', path: resolve(path) };
  }
  if (/^postgres(?:ql)?:\/\/./.test(url)) return { dialect: 'postgres', url };
  throw new LedgerError(
    'invalid_url',
    'storage.url: expected sqlite://<path>, sqlite::memory: or postgres://user:password@host:port/database',
  );
}

function openSqlite(path: string, busyTimeoutMs: number): Kysely<LedgerTables> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  // The busy timeout first: switching to WAL takes a lock that another process opening the file may hold.
  const database = new DatabaseSync(path, { timeout: busyTimeoutMs });
  // WAL: readers (admin queries) do not block the writer, and a commit is one append. synchronous=NORMAL is
  // durable against a crash of the process; a power cut may lose the last commits (see the decision record).
  database.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
  return new Kysely<LedgerTables>({ dialect: createNodeSqliteDialect(database) });
}

function openPostgres(url: string, options: LedgerDatabaseOptions): Kysely<LedgerTables> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    // A server gone without a word (a cut network) is noticed by TCP keepalive rather than never.
    keepAlive: true,
  });
  const onError = options.onConnectionError;
  // An idle connection that fails is reported by the pool. One that fails while checked out reports to its query,
  // which fails (and the writer retries), but it also emits 'error' on the client, which pg-pool leaves without a
  // listener then: unheard, that event would crash the gateway when PostgreSQL restarts mid-query.
  pool.on('error', (error) => onError?.(error));
  pool.on('connect', (client) => client.on('error', () => undefined));
  return new Kysely<LedgerTables>({ dialect: new PostgresDialect({ pool }) });
}

async function currentSchema(db: Kysely<LedgerTables>): Promise<string> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  const schema = rows[0]?.schema;
  if (typeof schema !== 'string') {
    throw new LedgerError('migration_failed', 'no schema of the search_path exists: create it, or fix the URL');
  }
  return schema;
}

/**
 * Opens the gateway's SQL database from its URL and runs the ledger's migrations. SQLite goes through Node's
 * built-in `node:sqlite` (WAL mode, a busy timeout; the file's folder is created), PostgreSQL through a bounded
 * `pg` pool. Opening PostgreSQL connects lazily: with `migrate: false` nothing is sent until the first query.
 *
 * @example
 * ```ts
 * const database = await openLedgerDatabase(config.storage.url ?? 'sqlite://./data/gateway.db');
 * const writer = createLedgerWriter({ db: database, spillPath: './data/ledger-spill.jsonl' });
 * ```
 */
export async function openLedgerDatabase(url: string, options: LedgerDatabaseOptions = {}): Promise<LedgerDatabase> {
  const location = parseStorageUrl(url);
  const db =
    location.dialect === 'sqlite'
      ? openSqlite(location.path, options.busyTimeoutMs ?? 5_000)
      : openPostgres(location.url, options);
  const dialect = location.dialect;
  const database: LedgerDatabase = {
    dialect,
    db,
    migrate: async () => {
      const migrator = new Migrator({
        db,
        provider: { getMigrations: async () => (options.migrations ?? ledgerMigrations)(dialect) },
        // The migrations come from several modules (ledger, keys, providers, batches, responses), each touching its own
        // tables: a database first opened with the ledger's alone, then by the gateway, gets the others' older names
        // after the ledger's newer ones. Each runs once, whatever the order it is found in.
        allowUnorderedMigrations: true,
        // Without a schema, kysely looks for its migration tables in every schema of the database: another app's
        // (or another gateway's, in a schema of its own) would be taken for ours. Name the one we write to.
        ...(dialect === 'postgres' ? { migrationTableSchema: await currentSchema(db) } : {}),
      });
      const { error } = await migrator.migrateToLatest();
      if (error !== undefined) {
        throw new LedgerError('migration_failed', 'the ledger schema could not be brought up to date', {
          cause: error,
        });
      }
    },
    close: () => db.destroy(),
  };
  if (options.migrate ?? true) {
    try {
      await database.migrate();
    } catch (error) {
      await database.close();
      throw error;
    }
  }
  return database;
}
