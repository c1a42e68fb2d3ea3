import { unlink } from 'node:fs/promises';
import type { LedgerDatabase } from './ledger-database.ts';
import { insertRows, isRefusedRow } from './ledger-records.ts';
import { ledgerRowProblem, type LedgerRow } from './ledger-row.ts';
import { createSpillFile, readSpillFile, type SpillEntry } from './spill-file.ts';

/** Where a batch came from: the live buffer, or a spill file being replayed. */
export type LedgerBatchSource = 'live' | 'replay';

/** What the writer reports; the gateway logs and counts these (this module never logs). */
export type LedgerWriterEvent =
  | {
      /** A batch could not be written: the database is unreachable or failing. It is retried after `retryInMs`. */
      readonly type: 'write_failed';
      readonly source: LedgerBatchSource;
      readonly rows: number;
      /** Failed attempts in a row, this one included. */
      readonly attempt: number;
      readonly retryInMs: number;
      readonly error: unknown;
    }
  | {
      /** The database took a batch again after failures. */
      readonly type: 'recovered';
      readonly downMs: number;
      readonly failedAttempts: number;
    }
  /** Rows past `maxBuffered` (or left at close) were appended to the spill file and fsync'd. */
  | { readonly type: 'spilled'; readonly rows: number; readonly path: string }
  /** Rows could not be spilled either (disk full, no permission): they are lost, and counted in `dropped`. */
  | { readonly type: 'spill_failed'; readonly rows: number; readonly path: string; readonly error: unknown }
  /** A spill file was replayed to its end and deleted. `inserted` excludes rows the database already held. */
  | { readonly type: 'replayed'; readonly rows: number; readonly inserted: number; readonly path: string }
  /**
   * A row the database refuses while it accepts others (out of range, text PostgreSQL cannot store), or a spill
   * line that is not a row. It is dropped, not retried forever.
   */
  | {
      readonly type: 'rejected';
      readonly source: LedgerBatchSource;
      readonly requestId: string | undefined;
      readonly reason: string;
    };

/** Counters since the writer was created. */
export interface LedgerWriterStats {
  /** Rows in memory, waiting for (or in) an insert. */
  readonly buffered: number;
  /** Rows appended to the spill file. */
  readonly spilled: number;
  /** Rows read back from spill files and confirmed in the database. */
  readonly replayed: number;
  /** Rows confirmed in the database (inserted, or found there already), live and replayed. */
  readonly written: number;
  /** Of `written`, rows whose request id the database already held: replays, or a reused id. */
  readonly duplicates: number;
  readonly rejected: number;
  /** Rows lost because neither the database nor the spill file would take them. */
  readonly dropped: number;
  /** Insert attempts that failed (each is retried). */
  readonly failedBatches: number;
}

/** Options of {@link createLedgerWriter}. */
export interface LedgerWriterOptions {
  db: LedgerDatabase;
  /**
   * The spill file (JSON lines). Files left by an earlier run (`<spillPath>` and `<spillPath>.*.replay`) are
   * replayed at start. Relative to the working directory; its folder is created when first needed.
   */
  spillPath: string;
  /**
   * Rows per INSERT. Default 500 on PostgreSQL; 100 on SQLite, whose inserts run on this thread: a batch's cost
   * grows with its rows (the per-row cost does not shrink with bigger batches), and the event loop waits for it.
   */
  batchSize?: number;
  /** A partial batch is written this long after its first row arrived. Default 1000 ms. */
  flushIntervalMs?: number;
  /** Rows kept in memory while the database lags or is down; past this they go to the spill file. Default 10,000. */
  maxBuffered?: number;
  /** First retry delay after a failed batch; doubles per failure up to `retryMaxDelayMs`. Default 250 ms. */
  retryBaseDelayMs?: number;
  /** Default 10 s. */
  retryMaxDelayMs?: number;
  /** An insert taking longer than this counts as failed (a server gone silent). Default 30 s. */
  writeTimeoutMs?: number;
  onEvent?: (event: LedgerWriterEvent) => void;
  /** Clock for outage durations and spill-file names. Default `Date.now`. */
  now?: () => number;
  /** A number in [0, 1) for the retry jitter. Default `Math.random`. */
  random?: () => number;
}

/** Options of {@link LedgerWriter.close}. */
export interface CloseOptions {
  /** Aborting stops waiting for the database: what is not written yet is spilled at once. */
  signal?: AbortSignal | undefined;
}

/** Writes ledger rows in batches, off the request path. */
export interface LedgerWriter {
  /** Queues a row. Never throws and never waits: an array push. */
  write(row: LedgerRow): void;
  /**
   * Writes what is buffered now, without waiting for the interval. Resolves when the buffer is written, or after
   * the first failed attempt (the rows stay buffered and are retried): it never waits for an outage to end.
   */
  flush(): Promise<void>;
  /**
   * Drains: writes what is buffered; if the database fails (or `signal` aborts), spills the rest. When it resolves,
   * every row ever passed to `write` is in the database or the spill file. Rows written after this are appended to
   * the spill file directly. The database itself stays open: its owner closes it.
   */
  close(options?: CloseOptions): Promise<void>;
  stats(): LedgerWriterStats;
}

interface Replay {
  readonly path: string;
  readonly entries: AsyncGenerator<SpillEntry>;
  rows: number;
  inserted: number;
}

/**
 * Decides the delay before retry `attempt` (1-based): exponential, capped, with jitter over its upper half so that
 * gateways sharing one database do not retry in step.
 *
 * @example
 * ```ts
 * retryDelay(3, 250, 10_000, Math.random); // between 500 and 1000 ms
 * ```
 */
export function retryDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

function checkPositiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
}

/**
 * Creates the ledger's batched writer. Rows are inserted every `batchSize` rows or `flushIntervalMs`, each batch
 * idempotent by request id. While the database is down, rows wait in memory (up to `maxBuffered`) and batches are
 * retried with backoff; rows past the bound are spilled to a local file, which is replayed once the database takes
 * writes again (and at start).
 *
 * @example
 * ```ts
 * const writer = createLedgerWriter({
 *   db: database,
 *   spillPath: './data/ledger-spill.jsonl',
 *   onEvent: (event) => logger.warn('ledger', { ...event }),
 * });
 * settleHooks.push((usage, outcome) => writer.write(toLedgerRow(usage, outcome)));
 * process.on('SIGTERM', () => void writer.close().then(() => database.close()));
 * ```
 */
export function createLedgerWriter(options: LedgerWriterOptions): LedgerWriter {
  const database = options.db;
  const batchSize = checkPositiveInteger('batchSize', options.batchSize ?? (database.dialect === 'sqlite' ? 100 : 500));
  const flushIntervalMs = checkPositiveInteger('flushIntervalMs', options.flushIntervalMs ?? 1000);
  const maxBuffered = checkPositiveInteger('maxBuffered', options.maxBuffered ?? 10_000);
  if (maxBuffered < batchSize) throw new RangeError('maxBuffered must be at least batchSize');
  const retryBaseDelayMs = checkPositiveInteger('retryBaseDelayMs', options.retryBaseDelayMs ?? 250);
  const retryMaxDelayMs = checkPositiveInteger('retryMaxDelayMs', options.retryMaxDelayMs ?? 10_000);
  const writeTimeoutMs = checkPositiveInteger('writeTimeoutMs', options.writeTimeoutMs ?? 30_000);
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const spill = createSpillFile(options.spillPath, now);

  // Rows waiting for an insert, oldest first. The one array the request path touches.
  const buffer: LedgerRow[] = [];
  // The live batch being written, or, after a failed insert, waiting to be retried before anything else.
  let current: LedgerRow[] | undefined;
  let flushDue = false;
  let timer: NodeJS.Timeout | undefined;
  let pumping: Promise<void> | undefined;
  let spilling: Promise<void> | undefined;
  // Set by close() before anything else runs, so the pump sees it from its first step.
  let stopping = false;
  let closing: Promise<void> | undefined;
  let closed = false;
  // Aborted by close()'s signal: stops waiting for the database.
  const stop = new AbortController();
  // Wakes the pump from its wait between retries (flush, close).
  let wakeUp: (() => void) | undefined;
  // Resolved by the pump when nothing live is left to write, or when an attempt failed (see flush()).
  let settledWaiters: (() => void)[] = [];
  let failures = 0;
  let downSince = 0;
  // Spill files may be waiting: at start (a previous run's), and after every spill.
  let replayWanted = true;
  let replayQueue: string[] = [];
  let replay: Replay | undefined;
  const counters = { spilled: 0, replayed: 0, written: 0, duplicates: 0, rejected: 0, dropped: 0, failedBatches: 0 };

  const emit = (event: LedgerWriterEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A failing listener must not stop the ledger.
    }
  };

  const settled = () => {
    const waiters = settledWaiters;
    settledWaiters = [];
    for (const resolve of waiters) resolve();
  };

  const reject = (row: LedgerRow | undefined, reason: string, source: LedgerBatchSource) => {
    counters.rejected += 1;
    emit({
      type: 'rejected',
      source,
      requestId: typeof row?.requestId === 'string' ? row.requestId : undefined,
      reason,
    });
  };

  const insert = (rows: readonly LedgerRow[]): Promise<number> =>
    insertRows(database, rows, AbortSignal.any([stop.signal, AbortSignal.timeout(writeTimeoutMs)]));

  // Writes rows; `rest` is what is still to write: nothing on success, all (or the rest) when the database is
  // failing. A batch the database refuses for its data holds a row it will never take: rows then go one by one, and
  // the refused ones are rejected instead of blocking every later batch.
  const writeRows = async (
    rows: LedgerRow[],
    source: LedgerBatchSource,
  ): Promise<{ rest: LedgerRow[]; inserted: number }> => {
    let failure: unknown;
    try {
      const inserted = await insert(rows);
      succeeded(rows.length, inserted, source);
      return { rest: [], inserted };
    } catch (error) {
      failure = error;
    }
    if (stop.signal.aborted || !isRefusedRow(failure)) {
      failed(failure, rows.length, source);
      return { rest: rows, inserted: 0 };
    }
    let inserted = 0;
    for (const [index, row] of rows.entries()) {
      try {
        const one = await insert([row]);
        succeeded(1, one, source);
        inserted += one;
      } catch (error) {
        if (stop.signal.aborted || !isRefusedRow(error)) {
          failed(error, rows.length - index, source);
          return { rest: rows.slice(index), inserted };
        }
        reject(row, error instanceof Error ? error.message : String(error), source);
      }
    }
    return { rest: [], inserted };
  };

  const succeeded = (rows: number, inserted: number, source: LedgerBatchSource) => {
    counters.written += rows;
    counters.duplicates += rows - inserted;
    if (source === 'replay') counters.replayed += rows;
    if (failures > 0) {
      emit({ type: 'recovered', downMs: now() - downSince, failedAttempts: failures });
      failures = 0;
      // Rows may have been spilled during the outage.
      replayWanted = true;
    }
  };

  let nextDelayMs = 0;
  const failed = (error: unknown, rows: number, source: LedgerBatchSource) => {
    counters.failedBatches += 1;
    if (failures === 0) downSince = now();
    failures += 1;
    nextDelayMs = retryDelay(failures, retryBaseDelayMs, retryMaxDelayMs, random);
    emit({ type: 'write_failed', source, rows, attempt: failures, retryInMs: nextDelayMs, error });
  };

  const backOff = () =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timeout);
        wakeUp = undefined;
        resolve();
      };
      const timeout = setTimeout(wake, nextDelayMs);
      timeout.unref();
      wakeUp = wake;
    });

  const liveBatchDue = () =>
    current !== undefined || buffer.length >= batchSize || (buffer.length > 0 && (flushDue || stopping));

  const takeLiveBatch = (): LedgerRow[] | undefined => {
    if (current !== undefined) return current;
    while (liveBatchDue()) {
      const batch: LedgerRow[] = [];
      for (const row of buffer.splice(0, batchSize)) {
        // Checked here, once, off the request path: a row no database would take must not block the others.
        const problem = ledgerRowProblem(row);
        if (problem === undefined) batch.push(row);
        else reject(row, problem, 'live');
      }
      if (batch.length > 0) {
        current = batch;
        return batch;
      }
    }
    return undefined;
  };

  const nextReplayBatch = async (file: Replay): Promise<{ rows: LedgerRow[]; done: boolean }> => {
    const rows: LedgerRow[] = [];
    while (rows.length < batchSize) {
      const next = await file.entries.next();
      if (next.done === true) return { rows, done: true };
      const entry = next.value;
      if ('row' in entry) rows.push(entry.row);
      else reject(undefined, `${file.path} line ${entry.line}: ${entry.problem}`, 'replay');
    }
    return { rows, done: false };
  };

  const abandonReplay = async () => {
    const file = replay;
    replay = undefined;
    replayQueue = [];
    replayWanted = true;
    await file?.entries.return(undefined);
  };

  // One step of replaying spill files: one batch. Returns false when there is nothing to replay.
  const replayStep = async (): Promise<boolean> => {
    if (replay === undefined) {
      if (replayQueue.length === 0) {
        if (!replayWanted) return false;
        replayWanted = false;
        replayQueue = await spill.takeForReplay().catch(() => []);
      }
      const path = replayQueue.shift();
      if (path === undefined) return false;
      replay = { path, entries: readSpillFile(path), rows: 0, inserted: 0 };
    }
    const file = replay;
    let batch: { rows: LedgerRow[]; done: boolean };
    try {
      batch = await nextReplayBatch(file);
    } catch {
      // The file vanished or cannot be read: another process replays it, or it is for the operator to see.
      replay = undefined;
      return true;
    }
    if (batch.rows.length > 0) {
      const { rest, inserted } = await writeRows(batch.rows, 'replay');
      if (rest.length > 0) {
        // The file stays; it is replayed from its start when the database is back (rows already in are ignored).
        await abandonReplay();
        settled();
        if (!stopping) await backOff();
        return true;
      }
      file.rows += batch.rows.length;
      file.inserted += inserted;
    }
    if (batch.done) {
      replay = undefined;
      await unlink(file.path).catch(() => undefined);
      emit({ type: 'replayed', rows: file.rows, inserted: file.inserted, path: file.path });
    }
    return true;
  };

  const pump = async () => {
    for (;;) {
      const batch = takeLiveBatch();
      if (batch !== undefined) {
        const { rest } = await writeRows(batch, 'live');
        current = rest.length > 0 ? rest : undefined;
        if (current === undefined) continue;
        settled();
        if (stopping) return;
        await backOff();
        continue;
      }
      flushDue = false;
      settled();
      if (stopping) return;
      // Replay goes between live batches; rows that arrived during its step are looked at first.
      if (!(await replayStep()) && !liveBatchDue()) return;
    }
  };

  const kick = () => {
    if (pumping !== undefined) return;
    pumping = pump().finally(() => {
      pumping = undefined;
      if (stopping) return;
      // Rows that arrived while the pump was finishing its last step.
      if (liveBatchDue()) kick();
      else if (buffer.length > 0 && timer === undefined) armTimer();
    });
  };

  const armTimer = () => {
    timer = setTimeout(() => {
      timer = undefined;
      if (buffer.length === 0) return;
      flushDue = true;
      kick();
    }, flushIntervalMs);
    timer.unref();
  };

  const spilledOrDropped = (rows: number, error: unknown) => {
    if (error === undefined) {
      counters.spilled += rows;
      emit({ type: 'spilled', rows, path: spill.path });
    } else {
      counters.dropped += rows;
      emit({ type: 'spill_failed', rows, path: spill.path, error });
    }
  };

  const spillRows = (rows: LedgerRow[]) =>
    spill.append(rows).then(
      () => spilledOrDropped(rows.length, undefined),
      (error: unknown) => spilledOrDropped(rows.length, error ?? new Error('spill failed')),
    );

  const spillRowsSync = (rows: LedgerRow[]) => {
    try {
      spill.appendSync(rows);
      spilledOrDropped(rows.length, undefined);
    } catch (error) {
      spilledOrDropped(rows.length, error ?? new Error('spill failed'));
    }
  };

  const spillOverflow = () => {
    if (spilling !== undefined) return;
    spilling = (async () => {
      // The batch being retried counts against the bound too: it is memory the outage holds. Past the bound, rows
      // go down to a batch below it, so that each fsync carries at least a batch instead of a row or two.
      while (buffer.length + (current?.length ?? 0) > maxBuffered) {
        const over = buffer.length + (current?.length ?? 0) - (maxBuffered - batchSize);
        // The oldest rows go: what stays in memory is what came last, and the file keeps time order.
        await spillRows(buffer.splice(0, over));
        replayWanted = true;
      }
    })().finally(() => {
      spilling = undefined;
      if (!stopping) kick();
    });
  };

  kick();

  return {
    write(row) {
      if (closed) {
        spillRowsSync([row]);
        return;
      }
      buffer.push(row);
      // While closing, the drain (or the final spill) takes every row: no timer, no new spill round.
      if (stopping) return;
      if (buffer.length >= batchSize) kick();
      else if (timer === undefined) armTimer();
      if (buffer.length + (current?.length ?? 0) > maxBuffered) spillOverflow();
    },

    flush() {
      if (closed) return Promise.resolve();
      return new Promise<void>((resolve) => {
        settledWaiters.push(resolve);
        flushDue = true;
        wakeUp?.();
        kick();
      });
    },

    close(closeOptions = {}) {
      stopping = true;
      closing ??= (async () => {
        clearTimeout(timer);
        timer = undefined;
        const onAbort = () => stop.abort();
        closeOptions.signal?.addEventListener('abort', onAbort, { once: true });
        if (closeOptions.signal?.aborted === true) stop.abort();
        try {
          wakeUp?.();
          kick();
          await pumping;
          await spilling;
          const left = [...(current ?? []), ...buffer.splice(0)];
          current = undefined;
          if (left.length > 0) await spillRows(left);
          await replay?.entries.return(undefined);
          replay = undefined;
          await spill.close();
        } finally {
          closeOptions.signal?.removeEventListener('abort', onAbort);
          closed = true;
          // Rows written while the drain ran: from here on write() appends them itself.
          const late = buffer.splice(0);
          if (late.length > 0) spillRowsSync(late);
          settled();
        }
      })();
      return closing;
    },

    stats: () => ({ ...counters, buffered: buffer.length + (current?.length ?? 0) }),
  };
}
