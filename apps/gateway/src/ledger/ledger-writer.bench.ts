// What the ledger costs: write() on the request path, and the rows per second the writer sustains into SQLite and
// PostgreSQL (DATABASE_URL) at a few batch sizes. Run by hand:
//   node --conditions=@gw/source apps/gateway/src/ledger/ledger-writer.bench.ts
// Prints numbers; asserts nothing.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { openLedgerDatabase, type LedgerDatabase } from './ledger-database.ts';
import { insertRows } from './ledger-records.ts';
import type { LedgerRow } from './ledger-row.ts';
import { createLedgerWriter } from './ledger-writer.ts';

const folder = await mkdtemp(join(tmpdir(), 'gw-ledger-bench-'));
const spillPath = join(folder, 'spill.jsonl');
const start = Date.UTC(2026, 11, 3);

// Request ids as the gateway mints them today (random UUIDv4), or time-ordered (a UUIDv7-like time prefix).
let timeOrderedIds = false;

function requestId(index: number): string {
  if (!timeOrderedIds) return randomUUID();
  return `${(start + index).toString(16).padStart(12, '0')}-${randomUUID().slice(14)}`;
}

function row(index: number): LedgerRow {
  return {
    requestId: requestId(index),
    createdAt: new Date(start + index),
    apiKeyId: index % 3 === 0 ? null : `vk_${index % 50}`,
    model: ['chat', 'fast', 'embed', 'reasoner'][index % 4] ?? 'chat',
    provider: ['openai', 'anthropic', 'glm', 'deepseek', 'qwen'][index % 5] ?? 'openai',
    upstreamModel: 'gpt-4o-mini-2024-07-18',
    endpoint: 'chat',
    stream: index % 2 === 0,
    status: index % 50 === 0 ? 'failed' : 'completed',
    httpStatus: index % 50 === 0 ? 502 : 200,
    errorKind: index % 50 === 0 ? 'server' : null,
    attempts: 1,
    fallback: false,
    ttftMs: 150 + (index % 200),
    latencyMs: 900 + (index % 2000),
    tokens: { input: 1200, cachedInput: 300, cacheWrite: 0, output: 250 + (index % 100), reasoning: 0 },
    cost: {
      currency: 'USD',
      input: 180_000_000n,
      cachedInput: 22_500_000n,
      cacheWrite: 0n,
      output: 150_000_000n,
      reasoning: 0n,
      total: 352_500_000n,
    },
    estimated: false,
  };
}

function rows(count: number, offset = 0): LedgerRow[] {
  return Array.from({ length: count }, (_, index) => row(offset + index));
}

// write(): what the request path pays. The writer's database is never reached within the timed loop (the batch
// it kicks off runs after the loop), so this is the push and its checks.
async function writeCost(): Promise<void> {
  const database = await openLedgerDatabase('sqlite::memory:');
  const prepared = rows(100_000);
  const rounds = 3;
  const count = prepared.length * rounds;
  const writer = createLedgerWriter({
    db: database,
    spillPath,
    batchSize: 500,
    maxBuffered: count * 2,
    flushIntervalMs: 60_000,
  });
  const plain: LedgerRow[] = [];
  const timed = (action: (item: LedgerRow) => void) => {
    const began = performance.now();
    for (let round = 0; round < rounds; round += 1) for (const item of prepared) action(item);
    return ((performance.now() - began) / count) * 1e6;
  };
  timed((item) => plain.push(item));
  plain.length = 0;
  const pushNs = timed((item) => plain.push(item));
  const writeNs = timed((item) => writer.write(item));
  console.log(`write(): ${writeNs.toFixed(1)} ns per row (a bare array push: ${pushNs.toFixed(1)} ns)`);
  await writer.close();
  await database.close();
}

async function throughput(label: string, database: LedgerDatabase, batchSize: number, count: number): Promise<void> {
  await database.db.deleteFrom('ledger').execute();
  const writer = createLedgerWriter({ db: database, spillPath, batchSize, maxBuffered: count, flushIntervalMs: 50 });
  const prepared = rows(count);
  const began = performance.now();
  for (const item of prepared) writer.write(item);
  await writer.close();
  const seconds = (performance.now() - began) / 1000;
  const stats = writer.stats();
  if (stats.written !== count) throw new Error(`wrote ${stats.written} of ${count}: ${JSON.stringify(stats)}`);
  console.log(
    `${label.padEnd(26)} batch ${String(batchSize).padStart(4)}: ${Math.round(count / seconds).toLocaleString('en')} rows/s`,
  );
}

// One INSERT of a batch into a table that already holds rows: on SQLite this blocks the event loop, so it is the
// longest pause the writer puts between two requests. CPU time is printed beside wall time: on a busy machine the
// wall time also counts waiting for a core.
async function insertPause(label: string, database: LedgerDatabase, batchSize: number): Promise<void> {
  await insertRows(database, rows(100_000, 1e9));
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let round = 0; round < 40; round += 1) {
    const batch = rows(batchSize, 2e9 + round * batchSize);
    const began = performance.now();
    const cpuBefore = process.cpuUsage();
    await insertRows(database, batch);
    const used = process.cpuUsage(cpuBefore);
    wall.push(performance.now() - began);
    cpu.push((used.user + used.system) / 1000);
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  console.log(
    `${label.padEnd(26)} one INSERT of ${batchSize} rows: median ${median(wall).toFixed(1)} ms wall, ${median(cpu).toFixed(1)} ms CPU of this process`,
  );
}

console.log(
  `load average ${loadavg()
    .map((load) => load.toFixed(1))
    .join(' ')} on ${availableParallelism()} cores`,
);
await writeCost();
const sqlite = await openLedgerDatabase(`sqlite://${join(folder, 'gateway.db')}`);
for (const batchSize of [100, 500, 1000]) await throughput('SQLite', sqlite, batchSize, 200_000);
for (const batchSize of [100, 500]) await insertPause('SQLite', sqlite, batchSize);
await sqlite.close();
timeOrderedIds = true;
const ordered = await openLedgerDatabase(`sqlite://${join(folder, 'ordered.db')}`);
await throughput('SQLite, ids in time order', ordered, 500, 200_000);
for (const batchSize of [100, 500]) await insertPause('SQLite, ids in time order', ordered, batchSize);
await ordered.close();
timeOrderedIds = false;

const postgresUrl = process.env.DATABASE_URL;
if (postgresUrl?.startsWith('postgres') === true) {
  const schema = `ledger_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  try {
    const url = new URL(postgresUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const postgres = await openLedgerDatabase(url.toString());
    for (const batchSize of [100, 500, 1000, 2000]) await throughput('PostgreSQL', postgres, batchSize, 100_000);
    await insertPause('PostgreSQL', postgres, 500);
    await postgres.close();
  } finally {
    await admin.query(`drop schema ${schema} cascade`);
    await admin.end();
  }
} else {
  console.log('PostgreSQL: skipped (DATABASE_URL is not a postgres:// URL)');
}
await rm(folder, { recursive: true, force: true });
