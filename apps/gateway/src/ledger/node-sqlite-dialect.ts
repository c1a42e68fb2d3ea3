import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { SqliteAdapter, SqliteDialect, type DialectAdapter, type SqliteDatabase, type SqliteStatement } from 'kysely';
import { LRUCache } from 'lru-cache';

// The ledger's INSERTs differ only by their row count, its queries by their filters: a few dozen texts in all.
const STATEMENT_CACHE_SIZE = 200;

function toSqliteValue(value: unknown): SQLInputValue {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') {
    return value;
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Uint8Array) return value;
  // node:sqlite binds an unknown object (a Date, say) as NULL without a word; refuse it loudly instead.
  throw new TypeError(`node:sqlite cannot store a ${typeof value === 'object' ? 'non-binary object' : typeof value}`);
}

function bind(parameters: readonly unknown[]): SQLInputValue[] {
  return parameters.map(toSqliteValue);
}

function adaptStatement(statement: StatementSync): SqliteStatement {
  // Integers come back as BigInt: cost sums pass 2^53 long before they pass 2^63, and a JS number would lose them.
  // The ledger's row readers convert the columns that are counts back to numbers.
  statement.setReadBigInts(true);
  return {
    // Whether it returns rows (a SELECT, or anything with RETURNING): kysely then calls all(), else run().
    reader: statement.columns().length > 0,
    all: (parameters) => statement.all(...bind(parameters)),
    run: (parameters) => statement.run(...bind(parameters)),
    iterate: (parameters) => statement.iterate(...bind(parameters)),
  };
}

// Kysely runs SQLite migrations outside a transaction and without a lock (one connection is assumed), so two
// processes starting on one file would both create the table. SQLite's DDL is transactional: saying so makes the
// Migrator wrap its work in a transaction, which BEGIN IMMEDIATE (below) turns into the file's write lock.
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class NodeSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/**
 * Adapts a `node:sqlite` database to the better-sqlite3-like interface kysely's `SqliteDialect` drives, with a
 * cache of prepared statements. Kysely serialises queries on its one SQLite connection, so transactions stay
 * whole.
 *
 * @example
 * ```ts
 * const db = new Kysely<Tables>({ dialect: createNodeSqliteDialect(new DatabaseSync('./data/gateway.db')) });
 * ```
 */
export function createNodeSqliteDialect(database: DatabaseSync): SqliteDialect {
  const statements = new LRUCache<string, SqliteStatement>({ max: STATEMENT_CACHE_SIZE });
  const adapted: SqliteDatabase = {
    close: () => {
      statements.clear();
      database.close();
    },
    prepare: (sql) => {
      let statement = statements.get(sql);
      if (statement === undefined) {
        // Kysely opens transactions with a plain BEGIN, which takes the write lock only at the first write: two
        // processes migrating one file would both read "not migrated yet". IMMEDIATE takes the lock first, so the
        // second waits (busy_timeout) and then reads the first one's work.
        statement = adaptStatement(database.prepare(sql === 'begin' ? 'begin immediate' : sql));
        statements.set(sql, statement);
      }
      return statement;
    },
  };
  return new NodeSqliteDialect({ database: adapted });
}
