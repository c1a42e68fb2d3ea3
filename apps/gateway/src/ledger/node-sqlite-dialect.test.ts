import { DatabaseSync } from 'node:sqlite';
import { Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createNodeSqliteDialect } from './node-sqlite-dialect.ts';

describe('createNodeSqliteDialect', () => {
  const db = new Kysely<{ t: { flag: boolean; amount: bigint; at: unknown } }>({
    dialect: createNodeSqliteDialect(new DatabaseSync(':memory:')),
  });
  afterEach(async () => {
    await sql`drop table if exists t`.execute(db);
  });

  it('stores booleans as 1 and 0 and reads integers past 2^53 exactly', async () => {
    await sql`create table t (flag integer, amount integer, at integer) strict`.execute(db);
    await db
      .insertInto('t')
      .values({ flag: true, amount: 2n ** 63n - 1n, at: 1 })
      .execute();
    expect(await db.selectFrom('t').selectAll().execute()).toEqual([{ flag: 1n, amount: 2n ** 63n - 1n, at: 1n }]);
  });

  it('refuses a Date, which node:sqlite would otherwise store as NULL without a word', async () => {
    await sql`create table t (flag integer, amount integer, at integer)`.execute(db);
    await expect(db.insertInto('t').values({ flag: false, amount: 0n, at: new Date() }).execute()).rejects.toThrow(
      'node:sqlite cannot store a non-binary object',
    );
    expect(await db.selectFrom('t').selectAll().execute()).toEqual([]);
  });

  it('runs transactions, and rolls them back', async () => {
    await sql`create table t (flag integer, amount integer, at integer)`.execute(db);
    await expect(
      db.transaction().execute(async (transaction) => {
        await transaction.insertInto('t').values({ flag: true, amount: 1n, at: 1 }).execute();
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await db.selectFrom('t').selectAll().execute()).toEqual([]);
  });
});
