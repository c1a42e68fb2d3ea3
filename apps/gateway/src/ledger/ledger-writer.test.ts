import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '@gw/test-kit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openLedgerDatabase, type LedgerDatabase } from './ledger-database.ts';
import { createLedgerQueries } from './ledger-queries.ts';
import { insertRows } from './ledger-records.ts';
import { toSpillLine, type LedgerRow } from './ledger-row.ts';
import {
  createLedgerWriter,
  retryDelay,
  type LedgerWriter,
  type LedgerWriterEvent,
  type LedgerWriterOptions,
} from './ledger-writer.ts';
import { announceSkip, ledgerRow, outageOf, TEST_DIALECTS, type Outage, type ScratchDatabase } from './test-helpers.ts';

const byId = (a: LedgerRow, b: LedgerRow) => (a.requestId < b.requestId ? -1 : 1);

async function spillFiles(folder: string): Promise<string[]> {
  return (await readdir(folder)).filter((name) => name.startsWith('spill.jsonl')).sort();
}

async function spillLines(folder: string): Promise<number> {
  let lines = 0;
  for (const name of await spillFiles(folder)) {
    lines += (await readFile(join(folder, name), 'utf8')).split('\n').filter((line) => line !== '').length;
  }
  return lines;
}

describe('retryDelay', () => {
  it('doubles from the base up to the cap, jittered over the upper half', () => {
    const low = () => 0;
    const high = () => 0.999_999;
    expect([1, 2, 3, 4, 5, 6, 7].map((attempt) => retryDelay(attempt, 250, 10_000, low))).toEqual([
      125, 250, 500, 1000, 2000, 4000, 5000,
    ]);
    expect(retryDelay(3, 250, 10_000, high)).toBe(1000);
    expect(retryDelay(60, 250, 10_000, high)).toBe(10_000);
  });
});

describe('createLedgerWriter timing (SQLite in memory, fake timers)', () => {
  let database: LedgerDatabase;
  let writer: LedgerWriter | undefined;
  beforeEach(async () => {
    database = await openLedgerDatabase('sqlite::memory:');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(async () => {
    vi.useRealTimers();
    await writer?.close();
    await database.close();
  });

  // Turns of the event loop (setImmediate is not faked) until `check` holds, or for `ms` of real time.
  const turnsUntil = async (check: () => boolean, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (!check() && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  };

  it('writes a full batch at once and a partial one flushIntervalMs after its first row', async () => {
    writer = createLedgerWriter({
      db: database,
      spillPath: join('/nonexistent', 'spill.jsonl'),
      batchSize: 10,
      flushIntervalMs: 1000,
    });
    for (let index = 0; index < 23; index += 1) writer.write(ledgerRow());
    await turnsUntil(() => writer?.stats().written === 20);
    expect(writer.stats()).toMatchObject({ written: 20, buffered: 3 });

    await vi.advanceTimersByTimeAsync(999);
    await turnsUntil(() => false, 100);
    expect(writer.stats().written).toBe(20);
    await vi.advanceTimersByTimeAsync(1);
    await turnsUntil(() => writer?.stats().written === 23);
    expect(writer.stats()).toMatchObject({ written: 23, buffered: 0 });
  });

  it('flush() writes a partial batch now', async () => {
    writer = createLedgerWriter({ db: database, spillPath: '/nonexistent/spill.jsonl', flushIntervalMs: 60_000 });
    writer.write(ledgerRow());
    writer.write(ledgerRow());
    await writer.flush();
    expect(writer.stats()).toMatchObject({ written: 2, buffered: 0 });
    expect((await createLedgerQueries(database).listRequests()).rows).toHaveLength(2);
  });
});

describe.each(TEST_DIALECTS)('createLedgerWriter on $dialect', (testDialect) => {
  const { dialect, skip, create } = testDialect;
  announceSkip(testDialect, 'ledger writer tests');
  let scratch: ScratchDatabase;
  let database: LedgerDatabase;
  const cleanups: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    if (skip !== undefined) return;
    scratch = await create();
    database = await openLedgerDatabase(scratch.url);
  });
  afterEach(async () => {
    if (skip !== undefined) return;
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await database.close();
    await scratch.drop();
  });

  const test = it.skipIf(skip !== undefined);
  const skipped = skip === undefined ? '' : ` (skipped: ${skip})`;

  const startWriter = (options: Partial<LedgerWriterOptions> & { db?: LedgerDatabase } = {}) => {
    const writer = createLedgerWriter({
      db: database,
      spillPath: join(scratch.folder, 'spill.jsonl'),
      flushIntervalMs: 10,
      retryBaseDelayMs: 5,
      retryMaxDelayMs: 50,
      ...options,
    });
    cleanups.push(() => writer.close());
    return writer;
  };

  // The writer's own database, on which the outage is made: migrated already (through `database`).
  const openOutage = async (): Promise<{ outage: Outage; db: LedgerDatabase }> => {
    const outage = await outageOf(dialect, scratch);
    cleanups.push(() => outage.close());
    const db = await openLedgerDatabase(outage.url, { migrate: false, busyTimeoutMs: 10, connectTimeoutMs: 2000 });
    cleanups.push(() => db.close());
    return { outage, db };
  };

  const stored = async () =>
    (await createLedgerQueries(database).listRequests({ limit: 1000 })).rows.slice().sort(byId);

  test(`writes every row once, however often it is written or replayed${skipped}`, async () => {
    const rows = Array.from({ length: 30 }, () => ledgerRow());
    await insertRows(database, rows.slice(0, 5));
    const writer = startWriter({ batchSize: 7 });
    for (const row of [...rows, ...rows.slice(10, 20)]) writer.write(row);
    await writer.flush();
    expect(await stored()).toEqual(rows.slice().sort(byId));
    expect(writer.stats()).toMatchObject({ written: 40, duplicates: 15, failedBatches: 0, buffered: 0 });
  });

  test(`close() writes what is buffered, and spills nothing when the database is up${skipped}`, async () => {
    const writer = startWriter({ batchSize: 100, flushIntervalMs: 60_000 });
    const rows = Array.from({ length: 7 }, () => ledgerRow());
    for (const row of rows) writer.write(row);
    await writer.close();
    expect(await stored()).toEqual(rows.slice().sort(byId));
    expect(writer.stats()).toMatchObject({ written: 7, spilled: 0, buffered: 0 });
    expect(await spillFiles(scratch.folder)).toEqual([]);
  });

  test(`rejects a row out of range with an event and writes the others${skipped}`, async () => {
    const events: LedgerWriterEvent[] = [];
    const writer = startWriter({ onEvent: (event) => events.push(event) });
    const good = [ledgerRow(), ledgerRow()];
    writer.write(good[0] ?? ledgerRow());
    writer.write(ledgerRow({ requestId: 'bad', latencyMs: -1 }));
    writer.write(good[1] ?? ledgerRow());
    await writer.flush();
    expect(await stored()).toEqual(good.slice().sort(byId));
    expect(events).toEqual([
      {
        type: 'rejected',
        source: 'live',
        requestId: 'bad',
        reason: 'latencyMs must be an integer from 0 to 2147483647',
      },
    ]);
  });

  it.runIf(dialect === 'postgres' && skip === undefined)(
    `isolates a row the database refuses, and keeps writing the rest${skipped}`,
    async () => {
      const events: LedgerWriterEvent[] = [];
      const writer = startWriter({ onEvent: (event) => events.push(event) });
      const good = Array.from({ length: 5 }, () => ledgerRow());
      // PostgreSQL text cannot hold U+0000 (SQLSTATE 22021); a client can put one in a model name.
      const poisoned = ledgerRow({ requestId: 'poisoned', model: 'chat\u0000' });
      for (const row of [...good.slice(0, 2), poisoned, ...good.slice(2)]) writer.write(row);
      await writer.flush();
      expect(await stored()).toEqual(good.slice().sort(byId));
      expect(events).toEqual([expect.objectContaining({ type: 'rejected', source: 'live', requestId: 'poisoned' })]);
      expect(writer.stats()).toMatchObject({ written: 5, rejected: 1, failedBatches: 0 });
    },
  );

  test(`keeps rows through an outage: buffered, spilled past the bound, all written once after it${skipped}`, async () => {
    const { outage, db } = await openOutage();
    const events: LedgerWriterEvent[] = [];
    const writer = startWriter({ db, batchSize: 10, maxBuffered: 20, onEvent: (event) => events.push(event) });
    const rows = Array.from({ length: 65 }, () => ledgerRow());
    writer.write(rows[0] ?? ledgerRow());
    await writer.flush();

    await outage.start();
    for (const row of rows.slice(1)) writer.write(row);
    await waitFor(
      () => writer.stats().failedBatches >= 3 && writer.stats().spilled + writer.stats().buffered === 64,
      10_000,
    );
    expect(writer.stats().spilled).toBeGreaterThanOrEqual(44);
    // flush() during the outage returns after a failed attempt, instead of waiting for the database.
    await writer.flush();
    expect(writer.stats().buffered).toBeLessThanOrEqual(20);
    expect(await spillLines(scratch.folder)).toBe(writer.stats().spilled);
    expect(await stored()).toEqual([rows[0]]);
    expect(events.some((event) => event.type === 'write_failed' && event.retryInMs <= 50)).toBe(true);

    await outage.end();
    await waitFor(() => writer.stats().buffered === 0 && writer.stats().replayed >= writer.stats().spilled, 10_000);
    await waitFor(() => events.some((event) => event.type === 'replayed'), 10_000);
    expect(await stored()).toEqual(rows.slice().sort(byId));
    expect(await spillFiles(scratch.folder)).toEqual([]);
    expect(events.filter((event) => event.type === 'recovered')).toHaveLength(1);
  });

  test(`close() with the database down spills every row, and the next writer replays them${skipped}`, async () => {
    const { outage, db } = await openOutage();
    await outage.start();
    const events: LedgerWriterEvent[] = [];
    const first = startWriter({ db, batchSize: 10, onEvent: (event) => events.push(event) });
    const rows = Array.from({ length: 25 }, () => ledgerRow());
    for (const row of rows) first.write(row);
    await first.close();
    expect(first.stats()).toMatchObject({ buffered: 0, spilled: 25, written: 0, dropped: 0 });
    // A row settled after close (a stream that ended late) goes straight to the file.
    const late = ledgerRow();
    first.write(late);
    expect(await spillLines(scratch.folder)).toBe(26);
    expect(await stored()).toEqual([]);

    await outage.end();
    const replayed: LedgerWriterEvent[] = [];
    startWriter({ onEvent: (event) => replayed.push(event) });
    await waitFor(() => replayed.some((event) => event.type === 'replayed'), 10_000);
    expect(await stored()).toEqual([...rows, late].sort(byId));
    expect(replayed.filter((event) => event.type === 'replayed')).toEqual([
      expect.objectContaining({ rows: 26, inserted: 26 }),
    ]);
    expect(events.filter((event) => event.type === 'write_failed').length).toBeGreaterThan(0);
    expect(await spillFiles(scratch.folder)).toEqual([]);
  });

  test(`replays a spill file left by a crash, skipping the line the crash cut short${skipped}`, async () => {
    const rows = Array.from({ length: 3 }, () => ledgerRow());
    const torn = toSpillLine(ledgerRow()).slice(0, 40);
    await writeFile(join(scratch.folder, 'spill.jsonl'), rows.map(toSpillLine).join('') + torn);
    const events: LedgerWriterEvent[] = [];
    const writer = startWriter({ onEvent: (event) => events.push(event) });
    await waitFor(() => events.some((event) => event.type === 'replayed'), 10_000);
    expect(await stored()).toEqual(rows.slice().sort(byId));
    expect(events).toEqual([
      expect.objectContaining({ type: 'rejected', source: 'replay', requestId: undefined }),
      expect.objectContaining({ type: 'replayed', rows: 3, inserted: 3 }),
    ]);
    expect(events[0]).toMatchObject({ reason: expect.stringContaining('line 4: not JSON') });
    expect(writer.stats()).toMatchObject({ replayed: 3, rejected: 1 });
  });

  it.runIf(dialect === 'postgres' && skip === undefined)(
    `close() with an aborted signal spills at once instead of waiting for a hung database${skipped}`,
    async () => {
      const outage = await outageOf(dialect, scratch);
      const db = await openLedgerDatabase(outage.url, { migrate: false, connectTimeoutMs: 60_000 });
      cleanups.push(() => db.close());
      // Cleaned up first: closing the proxy fails the connection attempt the pool is still waiting on.
      cleanups.push(() => outage.close());
      const writer = startWriter({ db, writeTimeoutMs: 60_000 });
      // The proxy now accepts connections and never answers: the insert would wait a minute.
      await outage.stall?.();
      writer.write(ledgerRow());
      writer.write(ledgerRow());
      await waitFor(() => writer.stats().buffered === 2);
      await writer.close({ signal: AbortSignal.timeout(100) });
      expect(writer.stats()).toMatchObject({ buffered: 0, spilled: 2, written: 0 });
    },
  );
});
