// The batch store on SQLite and on PostgreSQL: leases that two stores on one database never share, a lease that ran
// out taken over, a line settled with its ledger row in one transaction, output files in OpenAI's format, requeues.
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openLedgerDatabase, type LedgerDatabase } from '../ledger/ledger-database.ts';
import { announceSkip, ledgerRow, TEST_DIALECTS, type ScratchDatabase } from '../ledger/test-helpers.ts';
import { gatewayMigrations } from '../storage/migrations.ts';
import { parseBatchInput } from './batch-input.ts';
import type { ClaimedLine } from './batch-records.ts';
import { createBatchStore, type BatchStore } from './batch-store.ts';

const T0 = 1_800_000_000_000;
const LEASE = 10_000;

function input(count: number): string {
  return Array.from({ length: count }, (_, index) =>
    JSON.stringify({
      custom_id: `req-${index + 1}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'chat', messages: [{ role: 'user', content: `line ${index + 1}` }] },
    }),
  ).join('\n');
}

for (const dialect of TEST_DIALECTS) {
  announceSkip(dialect, 'batch store');
  describe.skipIf(dialect.skip !== undefined)(`batch store on ${dialect.dialect}`, () => {
    const open: LedgerDatabase[] = [];
    let scratch: ScratchDatabase | undefined;
    afterEach(async () => {
      for (const database of open.splice(0)) await database.close();
      await scratch?.drop();
      scratch = undefined;
    });

    async function stores(count: number): Promise<{ stores: BatchStore[]; database: LedgerDatabase }> {
      scratch = await dialect.create();
      const databases: LedgerDatabase[] = [];
      for (let index = 0; index < count; index += 1) {
        const database = await openLedgerDatabase(scratch.url, { migrations: gatewayMigrations });
        open.push(database);
        databases.push(database);
      }
      return { stores: databases.map(createBatchStore), database: databases[0] as LedgerDatabase };
    }

    async function batchOf(store: BatchStore, lines: number, keyId: string | null = null) {
      const content = input(lines);
      const file = await store.createFile({ keyId, purpose: 'batch', filename: 'in.jsonl', content });
      const batch = await store.createBatch({
        keyId,
        endpoint: '/v1/chat/completions',
        inputFileId: file.id,
        completionWindow: '24h',
        windowMs: 86_400_000,
        metadata: { job: 'nightly' },
        lines: parseBatchInput(content, { maxLines: 50_000 }),
        now: T0,
      });
      await store.startValidated(T0);
      return batch;
    }

    const success = (line: ClaimedLine) => ({
      state: 'succeeded' as const,
      requestId: `r-${line.customId}`,
      statusCode: 200,
      response: JSON.stringify({ answer: line.customId }),
    });

    it('gives every line to one claimer only, when several stores claim at once', async () => {
      const {
        stores: [a, b, c],
      } = await stores(3);
      if (a === undefined || b === undefined || c === undefined) throw new Error('three stores');
      const batch = await batchOf(a, 60);
      expect(batch.status).toBe('validating');
      const claims = await Promise.all(
        [a, b, c, a, b, c].map((store, index) => store.claim(`owner-${index % 3}`, 15, T0 + 1, LEASE)),
      );
      const claimed = claims.flat().map((line) => line.customId);
      expect(new Set(claimed).size).toBe(claimed.length);
      // Nothing is left once everyone claimed what they could.
      const rest = await a.claim('owner-late', 100, T0 + 2, LEASE);
      expect(claimed.length + rest.length).toBe(60);
    });

    it('runs a line again once its lease ran out, and refuses the late settle of the process that lost it', async () => {
      const {
        stores: [a, b],
      } = await stores(2);
      if (a === undefined || b === undefined) throw new Error('two stores');
      await batchOf(a, 1);
      const [first] = await a.claim('dead', 1, T0, LEASE);
      if (first === undefined) throw new Error('claimed');
      expect(await b.claim('alive', 1, T0 + LEASE - 1, LEASE)).toEqual([]);
      const [again] = await b.claim('alive', 1, T0 + LEASE + 1, LEASE);
      expect(again).toMatchObject({ customId: 'req-1', attempts: 2 });
      // The first process comes back: its answer is not the line's (its ledger row is still written: it was called).
      const row = ledgerRow();
      expect(await a.settle(first, 'dead', { ...success(first), requestId: row.requestId }, row, T0 + LEASE + 2)).toBe(
        false,
      );
      if (again === undefined) throw new Error('claimed again');
      expect(await b.settle(again, 'alive', success(again), undefined, T0 + LEASE + 3)).toBe(true);
    });

    it('keeps a renewed lease', async () => {
      const {
        stores: [a],
      } = await stores(1);
      if (a === undefined) throw new Error('a store');
      await batchOf(a, 1);
      await a.claim('owner', 1, T0, LEASE);
      await a.renew('owner', T0 + LEASE - 10, LEASE);
      expect(await a.claim('other', 1, T0 + LEASE + 1, LEASE)).toEqual([]);
    });

    it('writes the ledger row and the link to its line in the settling transaction, and the files once all settled', async () => {
      const {
        stores: [store],
        database,
      } = await stores(1);
      if (store === undefined) throw new Error('a store');
      const batch = await batchOf(store, 3);
      const lines = await store.claim('owner', 10, T0, LEASE);
      expect(lines.map((line) => line.customId)).toEqual(['req-1', 'req-2', 'req-3']);
      const [one, two, three] = lines;
      if (one === undefined || two === undefined || three === undefined) throw new Error('three lines');
      const rows = [ledgerRow(), ledgerRow(), ledgerRow()];
      await store.settle(one, 'owner', { ...success(one), requestId: rows[0]?.requestId ?? '' }, rows[0], T0 + 1);
      await store.settle(
        two,
        'owner',
        {
          state: 'failed',
          requestId: rows[1]?.requestId ?? '',
          statusCode: 400,
          response: JSON.stringify({ error: { message: 'bad' } }),
        },
        rows[1],
        T0 + 2,
      );
      // Not finished while a line runs.
      expect(await store.finalize(T0 + 3, LEASE)).toEqual([]);
      await store.settle(three, 'owner', { ...success(three), requestId: rows[2]?.requestId ?? '' }, rows[2], T0 + 4);
      expect(await store.finalize(T0 + 5, LEASE)).toEqual([batch.id]);

      const done = await store.getBatch(batch.id, undefined);
      expect(done).toMatchObject({ status: 'completed', counts: { total: 3, completed: 2, failed: 1 } });
      const output = (await store.fileContent(done?.outputFileId ?? '', undefined))?.trim().split('\n') ?? [];
      expect(output.map((line) => JSON.parse(line) as unknown)).toEqual([
        {
          id: expect.stringMatching(/^batch_req_/) as unknown,
          custom_id: 'req-1',
          response: { status_code: 200, request_id: rows[0]?.requestId, body: { answer: 'req-1' } },
          error: null,
        },
        expect.objectContaining({ custom_id: 'req-3' }) as unknown,
      ]);
      const errors = (await store.fileContent(done?.errorFileId ?? '', undefined))?.trim().split('\n') ?? [];
      expect(errors.map((line) => JSON.parse(line) as unknown)).toEqual([
        expect.objectContaining({
          custom_id: 'req-2',
          response: expect.objectContaining({ status_code: 400 }) as unknown,
        }),
      ]);
      const { rows: ledger } = await sql<{ n: number | string | bigint }>`
        select count(*) as n from ledger join batch_requests using (request_id) where batch_id = ${batch.id}`.execute(
        database.db,
      );
      expect(Number(ledger[0]?.n)).toBe(3);
      expect((await store.requestIds(batch.id)).sort()).toEqual(rows.map((row) => row.requestId).sort());
    });

    it('requeues failed lines (all, or one by custom_id) and sends the batch back to in_progress', async () => {
      const {
        stores: [store],
      } = await stores(1);
      if (store === undefined) throw new Error('a store');
      const batch = await batchOf(store, 2);
      for (const line of await store.claim('owner', 10, T0, LEASE)) {
        await store.settle(
          line,
          'owner',
          { state: 'failed', requestId: `r-${line.customId}`, statusCode: 400, response: '{}' },
          undefined,
          T0,
        );
      }
      await store.finalize(T0 + 1, LEASE);
      const finished = await store.getBatch(batch.id, undefined);
      expect(finished?.status).toBe('completed');
      expect(await store.requeue(batch.id, 'nope', T0 + 2)).toBeUndefined();
      expect(await store.requeue(batch.id, 'req-2', T0 + 2)).toBe(1);
      const requeued = await store.getBatch(batch.id, undefined);
      expect(requeued).toMatchObject({ status: 'in_progress', outputFileId: null, errorFileId: null });
      // The old error file is gone.
      expect(await store.getFile(finished?.errorFileId ?? '', undefined)).toBeUndefined();
      // A line that has not failed is not retried.
      expect(await store.requeue(batch.id, 'req-2', T0 + 3)).toBe(false);
      const [line] = await store.claim('owner', 10, T0 + 3, LEASE);
      expect(line).toMatchObject({ customId: 'req-2', attempts: 1 });
      expect(await store.requeue(batch.id, undefined, T0 + 4)).toBe(1);
    });

    it('cancels the lines not started, and finishes cancelled once the running ones settled', async () => {
      const {
        stores: [store],
      } = await stores(1);
      if (store === undefined) throw new Error('a store');
      const batch = await batchOf(store, 3);
      const [running] = await store.claim('owner', 1, T0, LEASE);
      if (running === undefined) throw new Error('claimed');
      expect(await store.cancel(batch.id, 'someone-else', T0 + 1)).toBeUndefined();
      expect(await store.cancel(batch.id, undefined, T0 + 1)).toMatchObject({ status: 'cancelling' });
      expect(await store.claim('owner', 10, T0 + 2, LEASE)).toEqual([]);
      expect(await store.finalize(T0 + 2, LEASE)).toEqual([]);
      await store.settle(running, 'owner', success(running), undefined, T0 + 3);
      expect(await store.finalize(T0 + 4, LEASE)).toEqual([batch.id]);
      expect(await store.getBatch(batch.id, undefined)).toMatchObject({
        status: 'cancelled',
        counts: { total: 3, completed: 1, failed: 2 },
      });
      expect(await store.cancel(batch.id, undefined, T0 + 5)).toMatchObject({ status: 'cancelled' });
    });

    it('expires the lines still queued when the completion window ends', async () => {
      const {
        stores: [store],
      } = await stores(1);
      if (store === undefined) throw new Error('a store');
      const batch = await batchOf(store, 2);
      const [first] = await store.claim('owner', 1, T0, LEASE);
      if (first === undefined) throw new Error('claimed');
      await store.settle(first, 'owner', success(first), undefined, T0 + 1);
      await store.expire(T0 + 86_400_000);
      expect(await store.finalize(T0 + 86_400_001, LEASE)).toEqual([batch.id]);
      const expired = await store.getBatch(batch.id, undefined);
      expect(expired).toMatchObject({ status: 'expired', counts: { total: 2, completed: 1, failed: 1 } });
      const errors = await store.fileContent(expired?.errorFileId ?? '', undefined);
      expect(JSON.parse(errors ?? '')).toMatchObject({
        custom_id: 'req-2',
        response: null,
        error: { code: 'batch_expired' },
      });
    });

    it('shows a key only its own files and batches, newest first with a cursor', async () => {
      const {
        stores: [store],
      } = await stores(1);
      if (store === undefined) throw new Error('a store');
      const mine = await batchOf(store, 1, 'key-a');
      const theirs = await batchOf(store, 1, 'key-b');
      expect(await store.getBatch(mine.id, 'key-b')).toBeUndefined();
      expect(await store.getFile(mine.inputFileId, 'key-b')).toBeUndefined();
      expect(await store.deleteFile(mine.inputFileId, 'key-b')).toBe(false);
      expect((await store.listBatches({ owner: 'key-a', limit: 10 })).data.map((batch) => batch.id)).toEqual([mine.id]);
      const all = await store.listBatches({ owner: undefined, limit: 1 });
      expect(all).toMatchObject({ hasMore: true });
      const next = await store.listBatches({ owner: undefined, limit: 1, after: all.data[0]?.id });
      expect([...all.data, ...next.data].map((batch) => batch.id).sort()).toEqual([mine.id, theirs.id].sort());
      expect(next.hasMore).toBe(false);
    });
  });
}
