import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { LedgerDatabase } from '../ledger/ledger-database.ts';
import { insertRowsWith } from '../ledger/ledger-records.ts';
import { ledgerRowProblem, type LedgerRow } from '../ledger/ledger-row.ts';
import type { LedgerDialect, LedgerTables } from '../ledger/ledger-schema.ts';
import type { BatchInputLine } from './batch-input.ts';
import {
  fileId,
  num,
  resultLine,
  toBatch,
  type Batch,
  type BatchFile,
  type BatchRow,
  type ClaimedLine,
  type LineResult,
  type Owner,
} from './batch-records.ts';
import type { BatchTables } from './batch-schema.ts';

/** The files, batches and batch lines in the gateway's database. */
export interface BatchStore {
  createFile(file: { keyId: string | null; purpose: string; filename: string; content: string }): Promise<BatchFile>;
  getFile(id: string, owner: Owner): Promise<BatchFile | undefined>;
  fileContent(id: string, owner: Owner): Promise<string | undefined>;
  deleteFile(id: string, owner: Owner): Promise<boolean>;
  /** Creates a batch (`validating`) and its lines in one transaction. */
  createBatch(batch: {
    keyId: string | null;
    endpoint: string;
    inputFileId: string;
    completionWindow: string;
    windowMs: number;
    metadata: Record<string, string> | null;
    lines: readonly BatchInputLine[];
    now: number;
  }): Promise<Batch>;
  getBatch(id: string, owner: Owner): Promise<Batch | undefined>;
  /** Newest first, after the batch `after` (OpenAI's cursor). */
  listBatches(options: {
    owner: Owner;
    after?: string | undefined;
    limit: number;
  }): Promise<{ data: Batch[]; hasMore: boolean }>;
  /** `undefined`: no such batch; `false`: not cancellable in its status. */
  cancel(id: string, owner: Owner, now: number): Promise<Batch | false | undefined>;
  /** True when a batch is not finished yet (the runner's one read while idle: no write, no lock). */
  hasWork(): Promise<boolean>;
  /** validating → in_progress. */
  startValidated(now: number): Promise<void>;
  /** Lines of expired batches that never ran become `expired`. */
  expire(now: number): Promise<void>;
  /**
   * Claims up to `limit` runnable lines (queued and due, or running under an expired lease) for `owner`, atomically:
   * two processes never get the same line.
   */
  claim(owner: string, limit: number, now: number, leaseMs: number): Promise<ClaimedLine[]>;
  /** Extends the leases of every line `owner` runs. */
  renew(owner: string, now: number, leaseMs: number): Promise<void>;
  /**
   * Settles a run: the line's new state and the run's ledger row (when it reached routing) in one transaction. False
   * when the line was not `owner`'s any more (its lease ran out and another process took it): the ledger row, for an
   * upstream call that did happen, is written all the same.
   */
  settle(
    line: ClaimedLine,
    owner: string,
    result: LineResult,
    ledger: LedgerRow | undefined,
    now: number,
  ): Promise<boolean>;
  /** Finalizes batches with no line left to run; returns the ids finalized. */
  finalize(now: number, staleMs: number): Promise<string[]>;
  /**
   * Requeues the failed lines of a batch (all, or the one with `customId`); the batch goes back to `in_progress`.
   * `undefined`: no such batch (or line); `false`: the batch is cancelled or expired, or the line has not failed.
   */
  requeue(batchId: string, customId: string | undefined, now: number): Promise<number | false | undefined>;
  /** The ledger request ids of a batch's runs. */
  requestIds(batchId: string): Promise<string[]>;
}

const ACTIVE_STATES = ['queued', 'running'];
// Lines inserted per statement: well under SQLite's 32766 parameters (9 columns each).
const INSERT_CHUNK = 500;

/**
 * The batch store over the gateway's database (SQLite or PostgreSQL). Leases are rows updated under a condition
 * (`state = 'queued' or lease_expires < now`) so that the database, not the process, decides who runs a line.
 *
 * @example
 * const store = createBatchStore(storage.database);
 */
export function createBatchStore(database: LedgerDatabase): BatchStore {
  const db = database.db.withTables<BatchTables>();
  const dialect: LedgerDialect = database.dialect;

  const countsOf = async (
    executor: Kysely<BatchTables & LedgerTables>,
    ids: readonly string[],
  ): Promise<Map<string, Batch['counts']>> => {
    const result = new Map<string, { total: number; completed: number; failed: number }>();
    for (const id of ids) result.set(id, { total: 0, completed: 0, failed: 0 });
    if (ids.length === 0) return result;
    const rows = await executor
      .selectFrom('batch_lines')
      .select(['batch_id', 'state', (eb) => eb.fn.countAll().as('n')])
      .where('batch_id', 'in', ids)
      .groupBy(['batch_id', 'state'])
      .execute();
    for (const row of rows) {
      const counts = result.get(row.batch_id);
      if (counts === undefined) continue;
      const n = Number(row.n);
      counts.total += n;
      if (row.state === 'succeeded') counts.completed += n;
      else if (row.state === 'failed' || row.state === 'cancelled' || row.state === 'expired') counts.failed += n;
    }
    return result;
  };

  const readBatch = async (
    executor: Kysely<BatchTables & LedgerTables>,
    id: string,
    owner: Owner,
  ): Promise<Batch | undefined> => {
    let query = executor.selectFrom('batches').selectAll().where('id', '=', id);
    if (owner !== undefined) query = query.where('api_key_id', owner === null ? 'is' : '=', owner);
    const row = await query.executeTakeFirst();
    if (row === undefined) return undefined;
    const counts = await countsOf(executor, [id]);
    return toBatch(row, counts.get(id) ?? { total: 0, completed: 0, failed: 0 });
  };

  const fileRow = (owner: Owner, id: string) => {
    let query = db.selectFrom('batch_files').where('id', '=', id);
    if (owner !== undefined) query = query.where('api_key_id', owner === null ? 'is' : '=', owner);
    return query;
  };

  /** Builds the output and error files of a batch and sets its final status, inside `trx`. */
  const writeResults = async (
    trx: Transaction<BatchTables & LedgerTables>,
    batch: BatchRow,
    final: 'completed' | 'cancelled' | 'expired',
    now: number,
  ): Promise<boolean> => {
    const lines = await trx
      .selectFrom('batch_lines')
      .select(['line_no', 'custom_id', 'state', 'request_id', 'status_code', 'response', 'error'])
      .where('batch_id', '=', batch.id)
      .orderBy('line_no')
      .execute();
    const output: string[] = [];
    const errors: string[] = [];
    for (const line of lines) (line.state === 'succeeded' ? output : errors).push(resultLine(batch.id, line));
    const store = async (content: string[], name: string): Promise<string | null> => {
      if (content.length === 0) return null;
      const text = `${content.join('\n')}\n`;
      const id = fileId();
      await trx
        .insertInto('batch_files')
        .values({
          id,
          api_key_id: batch.api_key_id,
          purpose: 'batch_output',
          filename: `${batch.id}_${name}.jsonl`,
          bytes: Buffer.byteLength(text),
          created_at: now,
          content: text,
        })
        .execute();
      return id;
    };
    const outputFileId = await store(output, 'output');
    const errorFileId = await store(errors, 'error');
    const timeColumn = final === 'completed' ? 'completed_at' : final === 'cancelled' ? 'cancelled_at' : 'expired_at';
    const updated = await trx
      .updateTable('batches')
      .set({ status: final, [timeColumn]: now, output_file_id: outputFileId, error_file_id: errorFileId })
      .where('id', '=', batch.id)
      .where('status', '=', batch.status)
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1;
  };

  // No queued or running line (in_progress); no running line whose process is alive (cancelling: a line whose lease
  // ran out belongs to a process that died, and is cancelled with the rest).
  const noActiveLines = (leaseAliveAt?: number) =>
    leaseAliveAt === undefined
      ? sql<boolean>`not exists (select 1 from batch_lines l where l.batch_id = batches.id and l.state in ('queued', 'running'))`
      : sql<boolean>`not exists (select 1 from batch_lines l where l.batch_id = batches.id and l.state = 'running' and l.lease_expires >= ${leaseAliveAt})`;

  return {
    async createFile(file) {
      const created: BatchFile = {
        id: fileId(),
        keyId: file.keyId,
        purpose: file.purpose,
        filename: file.filename,
        bytes: Buffer.byteLength(file.content),
        createdAt: Date.now(),
      };
      await db
        .insertInto('batch_files')
        .values({
          id: created.id,
          api_key_id: created.keyId,
          purpose: created.purpose,
          filename: created.filename,
          bytes: created.bytes,
          created_at: created.createdAt,
          content: file.content,
        })
        .execute();
      return created;
    },
    async getFile(id, owner) {
      const row = await fileRow(owner, id)
        .select(['id', 'api_key_id', 'purpose', 'filename', 'bytes', 'created_at'])
        .executeTakeFirst();
      if (row === undefined) return undefined;
      return {
        id: row.id,
        keyId: row.api_key_id,
        purpose: row.purpose,
        filename: row.filename,
        bytes: num(row.bytes),
        createdAt: num(row.created_at),
      };
    },
    async fileContent(id, owner) {
      const row = await fileRow(owner, id).select('content').executeTakeFirst();
      return row?.content;
    },
    async deleteFile(id, owner) {
      let query = db.deleteFrom('batch_files').where('id', '=', id);
      if (owner !== undefined) query = query.where('api_key_id', owner === null ? 'is' : '=', owner);
      const result = await query.executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
    async createBatch(batch) {
      const id = `batch_${randomUUID().replaceAll('-', '')}`;
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('batches')
          .values({
            id,
            api_key_id: batch.keyId,
            endpoint: batch.endpoint,
            input_file_id: batch.inputFileId,
            completion_window: batch.completionWindow,
            status: 'validating',
            metadata: batch.metadata === null ? null : JSON.stringify(batch.metadata),
            output_file_id: null,
            error_file_id: null,
            created_at: batch.now,
            expires_at: batch.now + batch.windowMs,
            in_progress_at: null,
            finalizing_at: null,
            completed_at: null,
            failed_at: null,
            expired_at: null,
            cancelling_at: null,
            cancelled_at: null,
          })
          .execute();
        for (let start = 0; start < batch.lines.length; start += INSERT_CHUNK) {
          await trx
            .insertInto('batch_lines')
            .values(
              batch.lines.slice(start, start + INSERT_CHUNK).map((line) => ({
                batch_id: id,
                line_no: line.lineNo,
                custom_id: line.customId,
                body: line.body,
                state: 'queued',
                attempts: 0,
                not_before: 0,
                updated_at: batch.now,
              })),
            )
            .execute();
        }
      });
      const created = await readBatch(db, id, undefined);
      if (created === undefined) throw new Error(`batch ${id} vanished after its creation`);
      return created;
    },
    getBatch: (id, owner) => readBatch(db, id, owner),
    async listBatches({ owner, after, limit }) {
      let query = db.selectFrom('batches').selectAll();
      if (owner !== undefined) query = query.where('api_key_id', owner === null ? 'is' : '=', owner);
      if (after !== undefined) {
        const cursor = await db
          .selectFrom('batches')
          .select(['created_at', 'id'])
          .where('id', '=', after)
          .executeTakeFirst();
        if (cursor !== undefined) {
          const at = num(cursor.created_at);
          query = query.where((eb) =>
            eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', cursor.id)])]),
          );
        }
      }
      const rows = await query
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
      const page = rows.slice(0, limit);
      const counts = await countsOf(
        db,
        page.map((row) => row.id),
      );
      return {
        data: page.map((row) => toBatch(row, counts.get(row.id) ?? { total: 0, completed: 0, failed: 0 })),
        hasMore: rows.length > limit,
      };
    },
    async cancel(id, owner, now) {
      const found = await readBatch(db, id, owner);
      if (found === undefined) return undefined;
      if (found.status === 'cancelling' || found.status === 'cancelled') return found;
      const updated = await db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('batches')
          .set({ status: 'cancelling', cancelling_at: now })
          .where('id', '=', id)
          .where('status', 'in', ['validating', 'in_progress'])
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) return false;
        await trx
          .updateTable('batch_lines')
          .set({
            state: 'cancelled',
            error: JSON.stringify({
              code: 'batch_cancelled',
              message: 'The batch was cancelled before this request ran.',
            }),
            updated_at: now,
          })
          .where('batch_id', '=', id)
          .where('state', '=', 'queued')
          .execute();
        return true;
      });
      if (!updated) return false;
      return readBatch(db, id, owner);
    },
    async hasWork() {
      const row = await db
        .selectFrom('batches')
        .select('id')
        .where('status', 'in', ['validating', 'in_progress', 'finalizing', 'cancelling'])
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },
    async startValidated(now) {
      await db
        .updateTable('batches')
        .set({ status: 'in_progress', in_progress_at: now })
        .where('status', '=', 'validating')
        .execute();
    },
    async expire(now) {
      await db
        .updateTable('batch_lines')
        .set({
          state: 'expired',
          error: JSON.stringify({
            code: 'batch_expired',
            message: 'This request could not be executed before the completion window expired.',
          }),
          updated_at: now,
        })
        .where('state', '=', 'queued')
        .where('batch_id', 'in', (eb) =>
          eb.selectFrom('batches').select('id').where('status', '=', 'in_progress').where('expires_at', '<=', now),
        )
        .execute();
    },
    async claim(owner, limit, now, leaseMs) {
      if (limit <= 0) return [];
      const runnable = sql`(state = 'queued' and not_before <= ${now}) or (state = 'running' and lease_expires < ${now})`;
      // The condition is repeated in the UPDATE: a row another process claimed between the SELECT and the UPDATE is
      // re-checked under its row lock (PostgreSQL) or behind the write lock (SQLite) and skipped.
      const { rows } = await sql<{
        batch_id: string;
        line_no: string | number | bigint;
        custom_id: string;
        body: string;
        attempts: string | number | bigint;
      }>`
        update batch_lines
        set state = 'running', lease_owner = ${owner}, lease_expires = ${now + leaseMs}, attempts = attempts + 1,
          updated_at = ${now}
        where (batch_id, line_no) in (
          select l.batch_id, l.line_no from batch_lines l join batches b on b.id = l.batch_id
          where b.status = 'in_progress'
            and ((l.state = 'queued' and l.not_before <= ${now}) or (l.state = 'running' and l.lease_expires < ${now}))
          order by b.created_at, l.line_no
          limit ${limit}
        ) and (${runnable})
        returning batch_id, line_no, custom_id, body, attempts`.execute(db);
      if (rows.length === 0) return [];
      const batches = await db
        .selectFrom('batches')
        .select(['id', 'endpoint', 'api_key_id'])
        .where('id', 'in', [...new Set(rows.map((row) => row.batch_id))])
        .execute();
      const byId = new Map(batches.map((batch) => [batch.id, batch]));
      return rows.map((row) => ({
        batchId: row.batch_id,
        lineNo: Number(row.line_no),
        customId: row.custom_id,
        body: row.body,
        attempts: Number(row.attempts),
        endpoint: byId.get(row.batch_id)?.endpoint ?? '',
        keyId: byId.get(row.batch_id)?.api_key_id ?? null,
      }));
    },
    async renew(owner, now, leaseMs) {
      await db
        .updateTable('batch_lines')
        .set({ lease_expires: now + leaseMs })
        .where('lease_owner', '=', owner)
        .where('state', '=', 'running')
        .execute();
    },
    async settle(line, owner, result, ledger, now) {
      return db.transaction().execute(async (trx) => {
        // A row the ledger would refuse (the writer drops those too) must not keep the line from settling: it would
        // run again and again.
        if (ledger !== undefined && ledgerRowProblem(ledger) === undefined) {
          await insertRowsWith(trx, dialect, [ledger]);
          await trx
            .insertInto('batch_requests')
            .values({ request_id: ledger.requestId, batch_id: line.batchId, custom_id: line.customId })
            .onConflict((conflict) => conflict.column('request_id').doNothing())
            .execute();
        }
        const updated = await trx
          .updateTable('batch_lines')
          .set({
            state: result.state,
            lease_owner: null,
            lease_expires: null,
            request_id: result.requestId,
            status_code: result.statusCode,
            response: result.response,
            not_before: result.notBefore ?? 0,
            updated_at: now,
          })
          .where('batch_id', '=', line.batchId)
          .where('line_no', '=', line.lineNo)
          .where('state', '=', 'running')
          .where('lease_owner', '=', owner)
          .executeTakeFirst();
        return Number(updated.numUpdatedRows) === 1;
      });
    },
    async finalize(now, staleMs) {
      const candidates = await db
        .selectFrom('batches')
        .selectAll()
        .where((eb) =>
          eb.or([
            eb.and([eb('status', '=', 'in_progress'), noActiveLines()]),
            eb.and([eb('status', '=', 'cancelling'), noActiveLines(now)]),
            eb.and([eb('status', '=', 'finalizing'), eb('finalizing_at', '<', now - staleMs)]),
          ]),
        )
        .orderBy('created_at')
        .limit(20)
        .execute();
      const finalized: string[] = [];
      for (const candidate of candidates) {
        let batch: BatchRow = candidate;
        if (batch.status === 'in_progress' || batch.status === 'finalizing') {
          // Take it: only the process whose UPDATE matched builds the files (a stale one is taken over by time).
          const claimed = await db
            .updateTable('batches')
            .set({ status: 'finalizing', finalizing_at: now })
            .where('id', '=', batch.id)
            .where('status', '=', batch.status)
            .where((eb) =>
              batch.finalizing_at === null
                ? eb('finalizing_at', 'is', null)
                : eb('finalizing_at', '=', num(batch.finalizing_at)),
            )
            .where(noActiveLines())
            .executeTakeFirst();
          if (Number(claimed.numUpdatedRows) !== 1) continue;
          batch = { ...batch, status: 'finalizing', finalizing_at: now };
        }
        const done = await db
          .transaction()
          .execute(async (trx) => {
            if (batch.status === 'cancelling') {
              await trx
                .updateTable('batch_lines')
                .set({
                  state: 'cancelled',
                  lease_owner: null,
                  error: JSON.stringify({
                    code: 'batch_cancelled',
                    message: 'The batch was cancelled before this request ran.',
                  }),
                  updated_at: now,
                })
                .where('batch_id', '=', batch.id)
                .where('state', 'in', ACTIVE_STATES)
                .execute();
            }
            const expiredLines = await trx
              .selectFrom('batch_lines')
              .select('line_no')
              .where('batch_id', '=', batch.id)
              .where('state', '=', 'expired')
              .limit(1)
              .executeTakeFirst();
            const final =
              batch.status === 'cancelling' ? 'cancelled' : expiredLines === undefined ? 'completed' : 'expired';
            const written = await writeResults(trx, batch, final, now);
            if (!written) throw new Error('batch changed while it was finalized');
            return true;
          })
          .catch(() => false);
        if (done) finalized.push(batch.id);
      }
      return finalized;
    },
    async requeue(batchId, customId, now) {
      const batch = await readBatch(db, batchId, undefined);
      if (batch === undefined) return undefined;
      if (!['in_progress', 'finalizing', 'completed'].includes(batch.status)) return false;
      return db.transaction().execute(async (trx) => {
        let query = trx
          .updateTable('batch_lines')
          .set({
            state: 'queued',
            attempts: 0,
            not_before: 0,
            request_id: null,
            status_code: null,
            response: null,
            error: null,
            updated_at: now,
          })
          .where('batch_id', '=', batchId)
          .where('state', '=', 'failed');
        if (customId !== undefined) {
          const line = await trx
            .selectFrom('batch_lines')
            .select('state')
            .where('batch_id', '=', batchId)
            .where('custom_id', '=', customId)
            .executeTakeFirst();
          if (line === undefined) return undefined;
          if (line.state !== 'failed') return false;
          query = query.where('custom_id', '=', customId);
        }
        const result = await query.executeTakeFirst();
        const requeued = Number(result.numUpdatedRows);
        if (requeued === 0) return 0;
        const old = [batch.outputFileId, batch.errorFileId].filter((id): id is string => id !== null);
        if (old.length > 0) await trx.deleteFrom('batch_files').where('id', 'in', old).execute();
        await trx
          .updateTable('batches')
          .set({
            status: 'in_progress',
            finalizing_at: null,
            completed_at: null,
            output_file_id: null,
            error_file_id: null,
          })
          .where('id', '=', batchId)
          .execute();
        return requeued;
      });
    },
    async requestIds(batchId) {
      const rows = await db.selectFrom('batch_requests').select('request_id').where('batch_id', '=', batchId).execute();
      return rows.map((row) => row.request_id);
    },
  };
}
