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

/** Range and grouping of {@link LedgerQueries.usage}. */
export interface UsageOptions {
  groupBy: UsageGroupBy;
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
  readonly requests: number;
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

function bucket(database: LedgerDatabase, groupBy: UsageGroupBy): RawBuilder<unknown> {
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

function compareGroups(a: UsageGroup, b: UsageGroup): number {
  if (a.group === b.group) return 0;
  if (a.group === null) return -1;
  if (b.group === null) return 1;
  return a.group < b.group ? -1 : 1;
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
          builder.fn.countAll().as('requests'),
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
        .groupBy([sql`bucket`, 'currency'])
        .execute(abortable(options.signal));

      const groups = new Map<string | null, Mutable<UsageGroup, { tokens: Mutable<LedgerTokens> }>>();
      for (const record of records) {
        const key = readGroup(record.bucket, options.groupBy);
        let group = groups.get(key);
        if (group === undefined) {
          group = {
            group: key,
            requests: 0,
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
