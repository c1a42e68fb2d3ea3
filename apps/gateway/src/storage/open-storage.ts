import type { GatewayConfig } from '../config/schema.ts';
import { openLedgerDatabase, type LedgerDatabase } from '../ledger/ledger-database.ts';
import { createLedgerQueries, type LedgerQueries } from '../ledger/ledger-queries.ts';
import { createLedgerWriter, type LedgerWriter, type LedgerWriterEvent } from '../ledger/ledger-writer.ts';
import { createKeyStore, type KeyStore } from '../keys/key-store.ts';
import { createProviderStore, type ProviderStore } from '../stored-providers/provider-store.ts';
import type { Logger } from '../observability/logger.ts';
import { createSqlResponseStore, type SqlResponseStore } from '../routes/v1/sql-response-store.ts';
import { gatewayMigrations } from './migrations.ts';

/** The gateway's database and what runs over it: the ledger's writer and queries, migrations, retention. */
export interface Storage {
  readonly database: LedgerDatabase;
  /** Undefined when `storage.ledger` is off. */
  readonly writer: LedgerWriter | undefined;
  readonly queries: LedgerQueries;
  /** The virtual keys. */
  readonly keys: KeyStore;
  /** The providers added through the admin API. */
  readonly providers: ProviderStore;
  /** The stored answers of `POST /v1/responses` (`responses.retentionDays`). */
  readonly responses: SqlResponseStore;
  /** True once the schema is up to date (migrations run at start, and again until they succeed). */
  ready(): boolean;
  /**
   * Drains the writer (every row written or spilled), stops the timers and closes the database. `signal` stops
   * waiting for the database: what is not written then is spilled.
   */
  close(options?: { signal?: AbortSignal | undefined }): Promise<void>;
}

const MIGRATE_RETRY_MS = 5_000;
const DAY_MS = 86_400_000;
// Retention runs once a day, and first a minute after start (not in the middle of the start-up).
const FIRST_PRUNE_MS = 60_000;

function logWriterEvent(logger: Logger, event: LedgerWriterEvent): void {
  switch (event.type) {
    case 'write_failed':
      if (event.attempt === 1)
        logger.warn('ledger: the database refused a batch; rows are kept and retried', {
          error: event.error,
          rows: event.rows,
        });
      return;
    case 'recovered':
      logger.info('ledger: the database is back; buffered rows are being written', { downMs: event.downMs });
      return;
    case 'spilled':
      logger.warn('ledger: rows spilled to the local file until the database is back', { rows: event.rows });
      return;
    case 'spill_failed':
      logger.error('ledger: rows could not be spilled', { error: event.error, rows: event.rows });
      return;
    case 'replayed':
      logger.info('ledger: spilled rows replayed', { rows: event.rows });
      return;
    case 'rejected':
      logger.error('ledger: a row was refused by the database and dropped', {
        requestId: event.requestId,
        reason: event.reason,
      });
      return;
  }
}

/**
 * Opens the database of `storage.url` (SQLite by default, PostgreSQL for a postgres:// URL), brings its schema up to
 * date, and starts the ledger's writer and the retention. A database that cannot be reached at start does not stop
 * the gateway: the migrations are retried in the background, and the writer keeps the rows (in memory, then in the
 * spill file) until it can write them.
 *
 * @example
 * const storage = await openStorage(config, logger);
 * process.once('SIGTERM', () => void storage.close());
 */
export async function openStorage(config: GatewayConfig, logger: Logger): Promise<Storage> {
  const settings = config.storage;
  const database = await openLedgerDatabase(settings.url, {
    migrate: false,
    migrations: gatewayMigrations,
    onConnectionError: (error) => logger.warn('database connection lost', { error }),
  });
  let migrated = false;
  let retry: NodeJS.Timeout | undefined;
  const migrate = async (): Promise<void> => {
    try {
      await database.migrate();
      migrated = true;
    } catch (error) {
      logger.error('database schema could not be brought up to date; retrying', { error });
      retry = setTimeout(() => void migrate(), MIGRATE_RETRY_MS);
      retry.unref();
    }
  };
  await migrate();

  const writer = settings.ledger
    ? createLedgerWriter({
        db: database,
        spillPath: settings.spillPath,
        flushIntervalMs: settings.flushIntervalMs,
        maxBuffered: settings.maxBuffered,
        onEvent: (event) => logWriterEvent(logger, event),
      })
    : undefined;
  const queries = createLedgerQueries(database);

  const responses = createSqlResponseStore(database, { retentionDays: config.responses.retentionDays });
  const prunes: NodeJS.Timeout[] = [];
  let closed = false;
  const schedulePrune = (what: string, retentionDays: number, prune: () => Promise<number>, delay: number): void => {
    if (retentionDays === 0 || closed) return;
    const timer = setTimeout(() => {
      prunes.splice(prunes.indexOf(timer), 1);
      prune()
        .then((deleted) => {
          if (deleted > 0) logger.info(`${what}: rows past the retention deleted`, { rows: deleted, retentionDays });
        })
        .catch((error: unknown) => logger.warn(`${what}: retention could not run`, { error }))
        .finally(() => schedulePrune(what, retentionDays, prune, DAY_MS));
    }, delay);
    timer.unref();
    prunes.push(timer);
  };
  const retention = settings.retentionDays;
  schedulePrune('ledger', retention, () => queries.prune(new Date(Date.now() - retention * DAY_MS)), FIRST_PRUNE_MS);
  schedulePrune('responses', config.responses.retentionDays, () => responses.prune(), FIRST_PRUNE_MS);

  let closing: Promise<void> | undefined;
  return {
    database,
    writer,
    queries,
    keys: createKeyStore(database),
    providers: createProviderStore(database),
    responses,
    ready: () => migrated,
    close: (options = {}) => {
      closing ??= (async () => {
        clearTimeout(retry);
        closed = true;
        for (const timer of prunes.splice(0)) clearTimeout(timer);
        await writer?.close(options.signal === undefined ? {} : { signal: options.signal });
        await database.close();
      })();
      return closing;
    },
  };
}
