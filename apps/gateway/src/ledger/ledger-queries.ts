import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { sql, type ExpressionBuilder, type RawBuilder } from 'kysely';
import type { LedgerDatabase } from './ledger-database.ts';
import { LedgerError } from './ledger-error.ts';
import { fromRecord, readBigInt, readCount, readDate, storedDate } from './ledger-records.ts';
import type { LedgerRow, LedgerTokens } from './ledger-row.ts';
import type { LedgerTables } from './ledger-schema.ts';

/** Filters and page of {@link LedgerQueries.listRequests}. */
export interface ListRequestsOptions {
  /** Rows per page, 1 to 1000. Default 50. */
  limit?: number | undefined;
  /** The `next` cursor of the previous page: rows older than its last one. */
  before?: string | undefined;
  model?: string | undefined;
  provider?: string | undefined;
  status?: LedgerRow['status'] | undefined;
  keyId?: string | undefined;
  /** Rows created at or after this. */
  from?: Date | undefined;
  /** Rows created before this. */
  to?: Date | undefined;
  signal?: AbortSignal | undefined;
}

/** One page of requests, newest first. */
export interface RequestPage {
  readonly rows: LedgerRow[];
  /** Cursor of the next (older) page, to pass as `before`; null on the last page. */
  readonly next: string | null;
}

/** How {@link LedgerQueries.usage} groups: UTC days or hours, or by model, provider or virtual key. */
export type UsageGroupBy = 'day' | 'hour' | 'model' | 'provider' | 'key';

/** A second grouping of {@link LedgerQueries.usage}, inside each of the first (a time bucket, usually). */
export type UsageSplit = 'model' | 'provider' | 'key';

/** Range and grouping of {@link LedgerQueries.usage}. */
export interface UsageOptions {
  groupBy: UsageGroupBy;
  /** Each group split again by model, provider or key: one entry per (group, split) pair that has rows. */
  split?: UsageSplit | undefined;
  /** Rows created at or after this. Without it the sum starts at the oldest row: a scan of the whole table. */
  from?: Date | undefined;
  /** Rows created before this. */
  to?: Date | undefined;
  /** Only the rows of this virtual key. */
  keyId?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** The usage of one group. */
export interface UsageGroup {
  /**
   * `day` / `hour`: the bucket's start as an ISO timestamp in UTC (`2026-12-03T00:00:00.000Z`); `model`,
   * `provider`: the name; `key`: the virtual key id, null for requests without one.
   */
  readonly group: string | null;
  /** With {@link UsageOptions.split}: the model, provider or key id (null: requests without a key). */
  readonly split?: string | null | undefined;
  readonly requests: number;
  /** Of `requests`, those that failed (status `failed`; a cancelled request is not an error). */
  readonly errors: number;
  /** Of `requests`, those whose model had no price: their cost is unknown, not zero. */
  readonly unpriced: number;
  /** Of `requests`, those billed on the gateway's estimate of their tokens (the vendor reported no usage). */
  readonly estimated: number;
  readonly tokens: LedgerTokens;
  /**
   * Exact total cost per currency, in 10^-12 currency units (`{ USD: 1234500000n }`); a currency appears only
   * when priced requests in it exist. Unpriced requests count in `requests` and `tokens` only.
   */
  readonly cost: Record<string, bigint>;
  /** Of `requests`, those the response cache answered (billed nothing). */
  readonly cacheHits: number;
  /** What the cache hits would have cost, exactly, per currency (10^-12 units), like `cost`. */
  readonly costSaved: Record<string, bigint>;
}

/** Range of {@link LedgerQueries.latency}. */
export interface LatencyOptions {
  /** Rows created at or after this. */
  from?: Date | undefined;
  /** Rows created before this. */
  to?: Date | undefined;
  /** Only the rows of this virtual key. */
  keyId?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** The 50th and 95th percentiles (nearest rank) of one measure, in milliseconds; null without a sample. */
export interface Percentiles {
  readonly samples: number;
  readonly p50: number | null;
  readonly p95: number | null;
}

/** The latency of one model: of its completed requests, and time to first token of its completed streams. */
export interface ModelLatency {
  readonly model: string;
  readonly latency: Percentiles;
  readonly ttft: Percentiles;
}

/** Options of {@link LedgerQueries.prune}. */
export interface PruneOptions {
  /** Rows deleted per statement: small enough that the writer is never held up long. Default 5000. */
  batchSize?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** The ledger's reads, for the admin routes and the console, and its retention. */
export interface LedgerQueries {
  /** Requests newest first, filtered, one page at a time (keyset pagination on created_at and request id). */
  listRequests(options?: ListRequestsOptions): Promise<RequestPage>;
  /** One request by id, or undefined. */
  getRequest(requestId: string, options?: { signal?: AbortSignal | undefined }): Promise<LedgerRow | undefined>;
  /** Requests, tokens and exact cost per group, groups in ascending order (time buckets oldest first). */
  usage(options: UsageOptions): Promise<UsageGroup[]>;
  /** p50 / p95 latency and time to first token per model, models in name order. */
  latency(options?: LatencyOptions): Promise<ModelLatency[]>;
  /** Deletes rows created before `olderThan`, in batches; returns how many. */
  prune(olderThan: Date, options?: PruneOptions): Promise<number>;
}

const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
// SQLite's SUM of integers fails past 2^63 (and TOTAL is a float): each amount is summed as its high and low 32
// bits, both far from overflowing (the low sum needs 2^31 rows to get there), and joined exactly in BigInt.
const LOW_BITS = 32n;
const LOW_MASK = 2n ** LOW_BITS - 1n;

type Builder = ExpressionBuilder<LedgerTables, 'ledger'>;
type Mutable<T, Override = object> = { -readonly [K in Exclude<keyof T, keyof Override>]: T[K] } & Override;

function encodeCursor(row: LedgerRow): string {
  return Buffer.from(`${row.createdAt.getTime()}:${row.requestId}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; requestId: string } {
  const text = Buffer.from(cursor, 'base64url').toString();
  const colon = text.indexOf(':');
  const milliseconds = text.slice(0, colon);
  if (colon < 1 || !/^\d{1,15}$/.test(milliseconds) || colon === text.length - 1) {
    throw new LedgerError('invalid_query', 'before: not a cursor this ledger returned');
  }
  return { createdAt: new Date(Number(milliseconds)), requestId: text.slice(colon + 1) };
}

function checkRange(from: Date | undefined, to: Date | undefined): void {
  for (const [name, date] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (date !== undefined && Number.isNaN(date.getTime()))
      throw new LedgerError('invalid_query', `${name}: not a date`);
  }
}

function exactSum(database: LedgerDatabase, column: 'total_cost' | 'cost_saved'): RawBuilder<unknown>[] {
  const ref = sql.ref(column);
  if (database.dialect === 'postgres') return [sql`sum(${ref})`]; // numeric: exact at any size
  return [sql`sum(${ref} >> ${sql.lit(Number(LOW_BITS))})`, sql`sum(${ref} & ${sql.lit(Number(LOW_MASK))})`];
}

/** An exact sum read back: one part on PostgreSQL, the high and low halves on SQLite (see `exactSum`). */
function joinSum(record: object, prefix: 'cost' | 'saved', parts: number): bigint {
  const column = prefix === 'cost' ? 'total_cost' : 'cost_saved';
  const [high = 0n, low] = Array.from({ length: parts }, (_, index) =>
    readBigInt(Reflect.get(record, `${prefix}_${index}`), column),
  );
  return low === undefined ? high : (high << LOW_BITS) + low;
}

function bucket(database: LedgerDatabase, groupBy: UsageGroupBy | UsageSplit): RawBuilder<unknown> {
  switch (groupBy) {
    case 'model':
      return sql.ref('model');
    case 'provider':
      return sql.ref('provider');
    case 'key':
      return sql.ref('api_key_id');
    case 'day':
    case 'hour': {
      if (database.dialect === 'postgres') {
        // date_bin from a UTC midnight: UTC buckets whatever the session's time zone (PostgreSQL 14+).
        const stride = sql.lit(groupBy === 'day' ? '1 day' : '1 hour');
        return sql`date_bin(${stride}::interval, created_at, timestamptz '2000-01-01 00:00:00+00')`;
      }
      const size = sql.lit(groupBy === 'day' ? DAY_MS : HOUR_MS);
      return sql`created_at - created_at % ${size}`;
    }
  }
}

function readGroup(value: unknown, groupBy: UsageGroupBy): string | null {
  if (value === null) return null;
  if (groupBy === 'day' || groupBy === 'hour') return readDate(value, 'created_at').toISOString();
  if (typeof value !== 'string') throw new LedgerError('unexpected_value', `ledger group is ${typeof value}`);
  return value;
}

function compareNames(a: string | null | undefined, b: string | null | undefined): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  return a < b ? -1 : 1;
}

function compareGroups(a: UsageGroup, b: UsageGroup): number {
  return compareNames(a.group, b.group) || compareNames(a.split, b.split);
}

// Nearest-rank percentile: the value at rank ceil(p * n / 100), in integer arithmetic that SQLite and PostgreSQL
// both do exactly ((p * n + 99) / 100 truncates).
const PERCENTILES = [50, 95] as const;
const rankOf = (percentile: number, count: number): number => Math.floor((percentile * count + 99) / 100);

interface RankedRecord {
  model: unknown;
  value: unknown;
  row_rank: unknown;
  samples: unknown;
}

/**
 * The ledger's queries over an open database.
 *
 * @example
 * ```ts
 * const queries = createLedgerQueries(database);
 * const page = await queries.listRequests({ model: 'chat', limit: 20 });
 * const more = page.next === null ? undefined : await queries.listRequests({ model: 'chat', before: page.next });
 * const byDay = await queries.usage({ groupBy: 'day', from: new Date('2026-12-01T00:00:00Z') });
 * ```
 */
export function createLedgerQueries(database: LedgerDatabase): LedgerQueries {
  const { db, dialect } = database;
  const abortable = (signal: AbortSignal | undefined) => (signal === undefined ? undefined : { signal });

  const inRange = (builder: Builder, from: Date | undefined, to: Date | undefined) => {
    const conditions = [];
    if (from !== undefined) conditions.push(builder('created_at', '>=', storedDate(from, dialect)));
    if (to !== undefined) conditions.push(builder('created_at', '<', storedDate(to, dialect)));
    return conditions;
  };

  return {
    async listRequests(options = {}) {
      const limit = options.limit ?? DEFAULT_PAGE;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
        throw new LedgerError('invalid_query', `limit: expected an integer from 1 to ${MAX_PAGE}`);
      }
      checkRange(options.from, options.to);
      const cursor = options.before === undefined ? undefined : decodeCursor(options.before);
      const records = await db
        .selectFrom('ledger')
        .selectAll()
        .where((builder) => {
          const conditions = inRange(builder, options.from, options.to);
          if (options.model !== undefined) conditions.push(builder('model', '=', options.model));
          if (options.provider !== undefined) conditions.push(builder('provider', '=', options.provider));
          if (options.status !== undefined) conditions.push(builder('status', '=', options.status));
          if (options.keyId !== undefined) conditions.push(builder('api_key_id', '=', options.keyId));
          if (cursor !== undefined) {
            conditions.push(
              builder(
                builder.refTuple('created_at', 'request_id'),
                '<',
                builder.tuple(storedDate(cursor.createdAt, dialect), cursor.requestId),
              ),
            );
          }
          return builder.and(conditions);
        })
        .orderBy('created_at', 'desc')
        .orderBy('request_id', 'desc')
        // One more than asked: whether a next page exists, without a count.
        .limit(limit + 1)
        .execute(abortable(options.signal));
      const rows = records.slice(0, limit).map(fromRecord);
      const last = rows.at(-1);
      return { rows, next: records.length > limit && last !== undefined ? encodeCursor(last) : null };
    },

    async getRequest(requestId, options = {}) {
      const record = await db
        .selectFrom('ledger')
        .selectAll()
        .where('request_id', '=', requestId)
        .executeTakeFirst(abortable(options.signal));
      return record === undefined ? undefined : fromRecord(record);
    },

    async usage(options) {
      checkRange(options.from, options.to);
      const sums = exactSum(database, 'total_cost');
      const savedSums = exactSum(database, 'cost_saved');
      const records = await db
        .selectFrom('ledger')
        .select((builder) => [
          bucket(database, options.groupBy).as('bucket'),
          'currency',
          ...(options.split === undefined ? [] : [bucket(database, options.split).as('split')]),
          builder.fn.countAll().as('requests'),
          sql`sum(case when status = 'failed' then 1 else 0 end)`.as('errors'),
          // Flags are booleans on PostgreSQL and 0/1 on SQLite: a CASE counts both.
          sql`sum(case when unpriced then 1 else 0 end)`.as('unpriced'),
          sql`sum(case when estimated then 1 else 0 end)`.as('estimated'),
          sql`sum(case when cache_hit then 1 else 0 end)`.as('cache_hits'),
          builder.fn.sum('input_tokens').as('input_tokens'),
          builder.fn.sum('cached_input_tokens').as('cached_input_tokens'),
          builder.fn.sum('cache_write_tokens').as('cache_write_tokens'),
          builder.fn.sum('output_tokens').as('output_tokens'),
          builder.fn.sum('reasoning_tokens').as('reasoning_tokens'),
          ...sums.map((sum, index) => sum.as(`cost_${index}`)),
          ...savedSums.map((sum, index) => sum.as(`saved_${index}`)),
        ])
        .where((builder) => {
          const conditions = inRange(builder, options.from, options.to);
          if (options.keyId !== undefined) conditions.push(builder('api_key_id', '=', options.keyId));
          return builder.and(conditions);
        })
        .groupBy(options.split === undefined ? [sql`bucket`, 'currency'] : [sql`bucket`, sql`split`, 'currency'])
        .execute(abortable(options.signal));

      const groups = new Map<string, Mutable<UsageGroup, { tokens: Mutable<LedgerTokens> }>>();
      for (const record of records) {
        const name = readGroup(record.bucket, options.groupBy);
        const split = options.split === undefined ? undefined : readGroup(Reflect.get(record, 'split'), options.split);
        // JSON of the pair: no separator a model name could contain.
        const key = JSON.stringify([name, split]);
        let group = groups.get(key);
        if (group === undefined) {
          group = {
            group: name,
            split,
            requests: 0,
            errors: 0,
            unpriced: 0,
            estimated: 0,
            tokens: { input: 0, cachedInput: 0, cacheWrite: 0, output: 0, reasoning: 0 },
            cost: {},
            cacheHits: 0,
            costSaved: {},
          };
          groups.set(key, group);
        }
        group.requests += readCount(record.requests, 'requests');
        group.errors += readCount(record.errors, 'errors');
        group.unpriced += readCount(record.unpriced, 'unpriced');
        group.estimated += readCount(record.estimated, 'estimated');
        group.tokens.input += readCount(record.input_tokens, 'input_tokens');
        group.tokens.cachedInput += readCount(record.cached_input_tokens, 'cached_input_tokens');
        group.tokens.cacheWrite += readCount(record.cache_write_tokens, 'cache_write_tokens');
        group.tokens.output += readCount(record.output_tokens, 'output_tokens');
        group.tokens.reasoning += readCount(record.reasoning_tokens, 'reasoning_tokens');
        group.cacheHits += readCount(record.cache_hits, 'cache_hits');
        if (record.currency !== null) {
          group.cost[record.currency] = joinSum(record, 'cost', sums.length);
          const saved = joinSum(record, 'saved', savedSums.length);
          if (saved > 0n) group.costSaved[record.currency] = saved;
        }
      }
      return [...groups.values()].sort(compareGroups);
    },

    async latency(options = {}) {
      checkRange(options.from, options.to);
      const ranked = async (column: 'latency_ms' | 'ttft_ms'): Promise<RankedRecord[]> => {
        const conditions = [sql`status = 'completed'`];
        if (column === 'ttft_ms') conditions.push(sql`ttft_ms is not null`);
        if (options.from !== undefined) conditions.push(sql`created_at >= ${storedDate(options.from, dialect)}`);
        if (options.to !== undefined) conditions.push(sql`created_at < ${storedDate(options.to, dialect)}`);
        if (options.keyId !== undefined) conditions.push(sql`api_key_id = ${options.keyId}`);
        const ref = sql.ref(column);
        const ranks = PERCENTILES.map((percentile) => sql`row_rank = (${sql.lit(percentile)} * samples + 99) / 100`);
        // Window functions (SQLite 3.25+, PostgreSQL): the database sorts, only two rows per model come back.
        const query = sql<RankedRecord>`select model, value, row_rank, samples from (
            select model, ${ref} as value,
              row_number() over (partition by model order by ${ref}) as row_rank,
              count(*) over (partition by model) as samples
            from ledger where ${sql.join(conditions, sql` and `)}
          ) ranked where ${sql.join(ranks, sql` or `)}`;
        return (await query.execute(db, abortable(options.signal))).rows;
      };
      const [latency, ttft] = await Promise.all([ranked('latency_ms'), ranked('ttft_ms')]);
      const models = new Map<string, { latency: Mutable<Percentiles>; ttft: Mutable<Percentiles> }>();
      const empty = (): Mutable<Percentiles> => ({ samples: 0, p50: null, p95: null });
      const fill = (records: RankedRecord[], measure: 'latency' | 'ttft'): void => {
        for (const record of records) {
          if (typeof record.model !== 'string') throw new LedgerError('unexpected_value', 'ledger model is not text');
          let entry = models.get(record.model);
          if (entry === undefined) {
            entry = { latency: empty(), ttft: empty() };
            models.set(record.model, entry);
          }
          const target = entry[measure];
          const rank = readCount(record.row_rank, 'row_rank');
          target.samples = readCount(record.samples, 'samples');
          const value = readCount(record.value, measure);
          if (rank === rankOf(50, target.samples)) target.p50 = value;
          if (rank === rankOf(95, target.samples)) target.p95 = value;
        }
      };
      fill(latency, 'latency');
      fill(ttft, 'ttft');
      return [...models]
        .sort(([a], [b]) => compareNames(a, b))
        .map(([model, entry]) => ({ model, latency: entry.latency, ttft: entry.ttft }));
    },

    async prune(olderThan, options = {}) {
      checkRange(olderThan, undefined);
      const batchSize = options.batchSize ?? 5000;
      if (!Number.isInteger(batchSize) || batchSize < 1) {
        throw new LedgerError('invalid_query', 'batchSize: expected a positive integer');
      }
      let deleted = 0;
      for (;;) {
        options.signal?.throwIfAborted();
        const result = await db
          .deleteFrom('ledger')
          .where(
            'request_id',
            'in',
            db
              .selectFrom('ledger')
              .select('request_id')
              .where('created_at', '<', storedDate(olderThan, dialect))
              .limit(batchSize),
          )
          .executeTakeFirst(abortable(options.signal));
        const count = Number(result.numDeletedRows);
        deleted += count;
        if (count < batchSize) return deleted;
        // SQLite runs on this thread: let requests (and the writer) through between batches.
        await yieldToEventLoop();
      }
    },
  };
}
