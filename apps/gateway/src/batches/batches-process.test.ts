// Batches across gateway processes, as an operator runs them: a gateway killed with SIGKILL in the middle of a batch
// and started again finishes it with every line answered once and billed once; two gateways on one PostgreSQL
// database share a batch and no line runs twice.
import { join } from 'node:path';
import { startStandInUpstream, type RecordedRequest, type StandInUpstream } from '@gw/providers/testing';
import { waitFor } from '@gw/test-kit';
import { sql } from 'kysely';
import { describe, expect, it, type TestContext } from 'vitest';
import { openLedgerDatabase } from '../ledger/ledger-database.ts';
import { TEST_DIALECTS, type ScratchDatabase, type TestDialect } from '../ledger/test-helpers.ts';
import { startGatewayProcess, TEST_VENDOR_KEY, type GatewayProcess } from '../test-helpers.ts';

const MASTER_KEY = 'gw-master-key-batch-process-0123456789';
const MASTER = { authorization: `Bearer ${MASTER_KEY}` };
const SQLITE = TEST_DIALECTS.find((dialect) => dialect.dialect === 'sqlite') as TestDialect;
const POSTGRES = TEST_DIALECTS.find((dialect) => dialect.dialect === 'postgres') as TestDialect;
if (POSTGRES.skip !== undefined) console.info(`batches on two processes skipped: ${POSTGRES.skip}`);

type OnFinished = TestContext['onTestFinished'];

function configOf(database: ScratchDatabase, upstream: StandInUpstream, name: string, maxConcurrency: number) {
  return {
    server: { host: '127.0.0.1', port: 0 },
    auth: { masterKey: MASTER_KEY },
    storage: { url: database.url, spillPath: join(database.folder, `spill-${name}.jsonl`), flushIntervalMs: 20 },
    logging: { requests: false },
    providers: [{ id: 'up', kind: 'openai', apiKey: TEST_VENDOR_KEY, baseUrl: upstream.baseUrl, maxConcurrency }],
    models: [{ name: 'chat', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] }],
    retry: { maxRetries: 0 },
    breaker: { enabled: false },
    // A short lease: the lines a killed process held are taken over within a second or two.
    batches: { pollMs: 50, leaseMs: 1500, concurrency: 4 },
  };
}

function promptOf(request: RecordedRequest): string {
  const body = request.body as { messages?: Array<{ content?: string }> } | undefined;
  return body?.messages?.at(-1)?.content ?? '';
}

async function createBatch(url: string, count: number): Promise<string> {
  const text = Array.from({ length: count }, (_, index) =>
    JSON.stringify({
      custom_id: `line-${index}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'chat', messages: [{ role: 'user', content: `prompt ${index}` }] },
    }),
  ).join('\n');
  const form = new FormData();
  form.set('purpose', 'batch');
  form.set('file', new File([text], 'input.jsonl'));
  const uploaded = await fetch(`${url}/v1/files`, { method: 'POST', headers: MASTER, body: form });
  expect(uploaded.status).toBe(200);
  const file = (await uploaded.json()) as { id: string };
  const created = await fetch(`${url}/v1/batches`, {
    method: 'POST',
    headers: { ...MASTER, 'content-type': 'application/json' },
    body: JSON.stringify({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
  });
  expect(created.status).toBe(200);
  return ((await created.json()) as { id: string }).id;
}

interface BatchJson {
  status: string;
  output_file_id: string | null;
  error_file_id: string | null;
  request_counts: { total: number; completed: number; failed: number };
}

async function batchOf(url: string, id: string): Promise<BatchJson> {
  return (await (await fetch(`${url}/v1/batches/${id}`, { headers: MASTER })).json()) as BatchJson;
}

async function completed(url: string, id: string): Promise<BatchJson> {
  await waitFor(async () => (await batchOf(url, id)).status === 'completed', 60_000);
  return batchOf(url, id);
}

async function outputIds(url: string, batch: BatchJson): Promise<string[]> {
  const text = await (await fetch(`${url}/v1/files/${batch.output_file_id ?? ''}/content`, { headers: MASTER })).text();
  return text
    .trim()
    .split('\n')
    .map((line) => String((JSON.parse(line) as { custom_id: string }).custom_id));
}

/** Ledger rows of the batch by custom_id. */
async function billed(database: ScratchDatabase, batchId: string): Promise<Map<string, number>> {
  const ledger = await openLedgerDatabase(database.url, { migrate: false });
  try {
    const { rows } = await sql<{ custom_id: string; n: number | string | bigint }>`
      select custom_id, count(*) as n from ledger join batch_requests using (request_id)
      where batch_id = ${batchId} group by custom_id`.execute(ledger.db);
    return new Map(rows.map((row) => [row.custom_id, Number(row.n)]));
  } finally {
    await ledger.close();
  }
}

async function requestsServed(gateway: GatewayProcess): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('llm_requests_total{'))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

async function setUp(onFinished: OnFinished, dialect: TestDialect, delayMs: number) {
  const database = await dialect.create();
  onFinished(() => database.drop());
  const upstream = await startStandInUpstream({ defaultBehaviour: { type: 'chat', delayMs } });
  onFinished(() => upstream.close());
  const start = async (name: string, maxConcurrency: number): Promise<GatewayProcess> => {
    const gateway = await startGatewayProcess({ config: configOf(database, upstream, name, maxConcurrency) });
    onFinished(() => gateway.kill());
    return gateway;
  };
  return { database, upstream, start };
}

describe('batches across processes', () => {
  it('finishes a batch after a SIGKILL mid-batch: every line answered once and billed once', async ({
    onTestFinished,
  }) => {
    const { database, upstream, start } = await setUp(onTestFinished, SQLITE, 150);
    const first = await start('first', 2);
    const batchId = await createBatch(first.url, 30);
    // Killed while calls are upstream: those lines were never settled.
    await waitFor(() => upstream.requests.length >= 8 && upstream.inFlight > 0, 30_000);
    first.child.kill('SIGKILL');
    await first.exited();
    // The process's exit can be seen before the upstream sees its connections close.
    await waitFor(() => upstream.inFlight === 0, 10_000);
    const cut = upstream.requests.filter((request) => request.aborted).length;
    expect(cut).toBeGreaterThan(0);

    const second = await start('second', 2);
    const done = await completed(second.url, batchId);
    expect(done.request_counts).toEqual({ total: 30, completed: 30, failed: 0 });
    expect(done.error_file_id).toBeNull();
    const ids = await outputIds(second.url, done);
    expect(ids.sort()).toEqual(Array.from({ length: 30 }, (_, index) => `line-${index}`).sort());
    // The lines cut by the kill ran again...
    expect(upstream.requests.length).toBeGreaterThan(30);
    // ...and each line is one ledger row.
    const rows = await billed(database, batchId);
    expect(rows.size).toBe(30);
    expect([...rows.values()].every((count) => count === 1)).toBe(true);
  });

  it.skipIf(POSTGRES.skip !== undefined)(
    'shares one batch between two processes on one PostgreSQL database, no line run twice',
    async ({ onTestFinished }) => {
      const { database, upstream, start } = await setUp(onTestFinished, POSTGRES, 20);
      // One after the other: the first migrates the fresh schema.
      const a = await start('a', 2);
      const b = await start('b', 2);
      const batchId = await createBatch(a.url, 80);
      const done = await completed(b.url, batchId);
      expect(done.request_counts).toEqual({ total: 80, completed: 80, failed: 0 });
      const prompts = upstream.requests.map(promptOf);
      expect(prompts).toHaveLength(80);
      expect(new Set(prompts).size).toBe(80);
      const rows = await billed(database, batchId);
      expect(rows.size).toBe(80);
      expect([...rows.values()].every((count) => count === 1)).toBe(true);
      // Both took part.
      const [byA, byB] = [await requestsServed(a), await requestsServed(b)];
      expect(byA).toBeGreaterThan(0);
      expect(byB).toBeGreaterThan(0);
      expect(byA + byB).toBe(80);
    },
  );
});
