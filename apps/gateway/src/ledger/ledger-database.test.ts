import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openLedgerDatabase, parseStorageUrl } from './ledger-database.ts';
import { isLedgerError } from './ledger-error.ts';
import { announceSkip, TEST_DIALECTS, type ScratchDatabase } from './test-helpers.ts';

const run = promisify(execFile);

describe('parseStorageUrl', () => {
  it('reads the documented forms, SQLite paths relative to the working directory', () => {
    expect(parseStorageUrl('sqlite://./data/gateway.db')).toEqual({
      dialect: 'sqlite',
      path: resolve(process.cwd(), 'data/gateway.db'),
    });
    expect(parseStorageUrl('sqlite:///var/lib/gw/gateway.db')).toEqual({
      dialect: 'sqlite',
      path: '/var/lib/gw/gateway.db',
    });
    expect(parseStorageUrl('sqlite::memory:')).toEqual({ dialect: 'sqlite', path: ':memory:' });
    expect(parseStorageUrl('postgres://gw:secret@db:5432/gw')).toEqual({
      dialect: 'postgres',
      url: 'postgres://gw:secret@db:5432/gw',
    });
    expect(parseStorageUrl('postgresql://db/gw').dialect).toBe('postgres');
  });

  it('refuses other URLs with an invalid_url error that does not repeat the password', () => {
    for (const url of ['mysql://root:hunter2@db/gw', 'sqlite://', '/data/gateway.db', 'postgres://']) {
      let thrown: unknown;
      try {
        parseStorageUrl(url);
      } catch (error) {
        thrown = error;
      }
      expect(isLedgerError(thrown) && thrown.kind, url).toBe('invalid_url');
      expect(String(thrown)).not.toContain('hunter2');
    }
  });
});

describe('openLedgerDatabase on SQLite', () => {
  const folders: string[] = [];
  afterEach(async () => {
    for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
  });

  it('creates the folder and the file, in WAL mode with a busy timeout', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'gw-ledger-'));
    folders.push(folder);
    const path = join(folder, 'nested', 'data', 'gateway.db');
    const database = await openLedgerDatabase(`sqlite://${path}`, { busyTimeoutMs: 1234 });
    try {
      expect(existsSync(path)).toBe(true);
      const { rows } = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(database.db);
      expect(rows[0]?.journal_mode).toBe('wal');
      const timeout = await sql<{ timeout: bigint }>`pragma busy_timeout`.execute(database.db);
      expect(timeout.rows[0]?.timeout).toBe(1234n);
    } finally {
      await database.close();
    }
    // Another process (here: a second handle) sees the ledger table the migration made.
    const other = new DatabaseSync(path);
    expect(other.prepare(`select count(*) as n from ledger`).get()).toEqual({ n: 0 });
    other.close();
  });

  it('runs in memory for sqlite::memory:', async () => {
    const database = await openLedgerDatabase('sqlite::memory:');
    const { rows } = await sql<{ n: bigint }>`select count(*) as n from ledger`.execute(database.db);
    expect(rows[0]?.n).toBe(0n);
    await database.close();
  });

  it('refuses a file it cannot open, closing what it opened', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'gw-ledger-'));
    folders.push(folder);
    // A folder where the file should be.
    await expect(openLedgerDatabase(`sqlite://${folder}`)).rejects.toThrow();
  });
});

// A gateway process that opens (and so migrates) the database at `url`, then exits.
async function startGatewayProcess(url: string): Promise<void> {
  const script = `import { openLedgerDatabase } from ${JSON.stringify(new URL('./ledger-database.ts', import.meta.url).href)};
const database = await openLedgerDatabase(process.argv[1]);
await database.close();`;
  await run(process.execPath, ['--input-type=module', '--no-warnings', '-e', script, url]);
}

describe.each(TEST_DIALECTS)('migrations on $dialect', (testDialect) => {
  const { dialect, skip, create } = testDialect;
  announceSkip(testDialect, 'ledger migration tests');
  let scratch: ScratchDatabase | undefined;
  afterEach(async () => {
    await scratch?.drop();
    scratch = undefined;
  });

  it.skipIf(skip !== undefined)(
    `are idempotent and safe from three gateways starting at once${skip === undefined ? '' : ` (skipped: ${skip})`}`,
    async () => {
      scratch = await create();
      const url = scratch.url;
      await Promise.all([startGatewayProcess(url), startGatewayProcess(url), startGatewayProcess(url)]);
      const database = await openLedgerDatabase(url);
      try {
        await database.migrate();
        expect(database.dialect).toBe(dialect);
        const migrations = await sql<{ name: string }>`select name from kysely_migration`.execute(database.db);
        expect(migrations.rows.map((row) => row.name)).toEqual([
          '2026-12-03-01-ledger',
          '2026-12-11-05-ledger-cache-hits',
        ]);
        const indexes =
          dialect === 'sqlite'
            ? await sql<{ name: string }>`select name from sqlite_master
                where type = 'index' and tbl_name = 'ledger' and name not like 'sqlite_%' order by name`.execute(
                database.db,
              )
            : await sql<{ name: string }>`select indexname as name from pg_indexes
                where tablename = 'ledger' and schemaname = current_schema() and indexname <> 'ledger_pkey'
                order by indexname`.execute(database.db);
        expect(indexes.rows.map((row) => row.name)).toEqual([
          'ledger_api_key_id_created_at',
          'ledger_created_at',
          'ledger_model_created_at',
          'ledger_provider_created_at',
        ]);
      } finally {
        await database.close();
      }
    },
    30_000,
  );

  it.runIf(dialect === 'postgres' && skip === undefined)(
    'migrates its own schema when another schema of the database holds kysely tables already',
    async () => {
      scratch = await create();
      const other = await create();
      try {
        await (await openLedgerDatabase(other.url)).close();
        const database = await openLedgerDatabase(scratch.url);
        const { rows } = await sql<{ n: string }>`select count(*) as n from ledger`.execute(database.db);
        expect(rows[0]?.n).toBe('0');
        await database.close();
      } finally {
        await other.drop();
      }
    },
  );
});
