import { randomUUID } from 'node:crypto';
import { CostError } from '../cost-error.ts';
import type { Money } from '../money.ts';
import { BudgetExceededError, BudgetUnavailableError } from './budget-errors.ts';
import {
  budgetState,
  checkAmount,
  checkBudget,
  checkReserve,
  DEFAULT_RESERVATION_TTL_MS,
  refusingIndex,
  strongerStatus,
  type Budget,
  type BudgetCallOptions,
  type BudgetReservation,
  type BudgetState,
  type BudgetStore,
  type BudgetStoreStats,
  type ReserveOptions,
  type SettleStatus,
} from './budget.ts';
import {
  READ_SCRIPT,
  RESERVE_SCRIPT,
  SET_SPENT_SCRIPT,
  SETTLE_SCRIPT,
  type RedisScript,
} from './redis-budget-scripts.ts';

/** Default of {@link RedisBudgetStoreOptions.prefix}. */
const DEFAULT_PREFIX = 'gw:budget:';
/** Default of {@link RedisBudgetStoreOptions.timeoutMs}. */
const DEFAULT_TIMEOUT_MS = 100;

const DIGITS = /^\d+$/;
const SETTLE_STATUSES: readonly SettleStatus[] = ['already_settled', 'settled', 'settled_late'];

/**
 * The part of an ioredis client (`Redis` or `Cluster`, ioredis 5 or 6) the store uses. Typed structurally, so that
 * this package's types do not require ioredis to be installed by those who only use the memory store.
 *
 * @example
 * ```ts
 * const client: BudgetRedisClient = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * ```
 */
export interface BudgetRedisClient {
  /** ioredis's connection state; the store only sends commands when it is `'ready'`. */
  readonly status: string;
  /** True for an ioredis `Cluster`: one reservation must then keep to one hash tag. */
  readonly isCluster?: boolean | undefined;
  evalsha(sha1: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/**
 * What a Redis budget store does when Redis cannot decide a reservation: let the request through unheld
 * (`'open'`) or refuse it with a `BudgetUnavailableError` (`'closed'`).
 *
 * @example
 * ```ts
 * const failMode: BudgetFailMode = process.env.BUDGETS_STRICT === '1' ? 'closed' : 'open';
 * ```
 */
export type BudgetFailMode = 'open' | 'closed';

/**
 * What a Redis budget store reports through `onEvent`, for metrics and logs (the library itself never logs).
 *
 * @example
 * ```ts
 * const onEvent = (event: BudgetStoreEvent): void => {
 *   if (event.type === 'store_down') logger.error({ err: event.error }, 'budgets unavailable');
 * };
 * ```
 */
export type BudgetStoreEvent =
  /** A call failed after the store worked (or at its first call): once per outage, however many calls fail in it. */
  | { type: 'store_down'; error: unknown }
  /** The store answered again: `downMs` after `store_down`, with `errors` failed calls in between. */
  | { type: 'store_up'; downMs: number; errors: number };

/**
 * Options of {@link createRedisBudgetStore}.
 *
 * @example
 * ```ts
 * const options: RedisBudgetStoreOptions = { client: redis, hashTag: 'gw-budgets', failMode: 'closed' };
 * ```
 */
export interface RedisBudgetStoreOptions {
  /** An ioredis client the caller owns (connects, closes, configures); the store never closes it. */
  client: BudgetRedisClient;
  /**
   * Prepended to every key; stores with the same Redis and prefix share their budgets. No braces (they would
   * become the hash tag). Default `'gw:budget:'`.
   */
  prefix?: string | undefined;
  /**
   * One hash tag for every key of the store, so that all budgets live in one Redis Cluster slot and a reservation
   * across any scopes (a key's budget and the global one) stays one atomic script. Required on Cluster to reserve
   * across scopes; the cost is that one shard serves all budget calls. Default: each scope is its own tag (its own
   * `{…}` if it has one, else the whole scope).
   */
  hashTag?: string | undefined;
  /**
   * Longest wait for Redis per call, in ms; then the call fails (and `reserve` fails open or closed), so a request
   * is decided quickly even when Redis hangs. Default 100.
   */
  timeoutMs?: number | undefined;
  /** `'open'` (default): a reservation Redis cannot decide is let through, unheld and `degraded`. */
  failMode?: BudgetFailMode | undefined;
  /** Called synchronously; it must not throw (an error it throws is re-thrown on a microtask). */
  onEvent?: ((event: BudgetStoreEvent) => void) | undefined;
  /** Default TTL of a reservation, in ms (an integer > 0). Default 600 000 (10 minutes). */
  reservationTtlMs?: number | undefined;
  /**
   * Clock in ms sent with each call, for periods and expiry. Default: none, the Redis server's clock (`TIME`), the
   * one clock every process shares. Give one only in tests, or when all processes' clocks are known to agree.
   */
  now?: (() => number) | undefined;
}

/**
 * Creates a budget store that keeps its counters in Redis, shared exactly by every process that uses the same
 * Redis and prefix. Each call is one `EVALSHA` of a Lua script, atomic across all budgets of the call; amounts stay
 * exact 64-bit integers of 10^-12 (at most {@link MAX_BUDGET_UNITS} per counter, about 9.2 million currency units).
 * Day and month counters expire once their period is over and nothing in them can be settled any more.
 *
 * While the client is not `ready` calls fail at once, without queuing a command that would run later; a call that
 * waits longer than `timeoutMs` fails. Then `reserve` fails open (a `degraded` reservation) or closed
 * (`BudgetUnavailableError`), `settle` resolves `'not_recorded'`, reads reject with `BudgetUnavailableError`; the
 * outage is reported once (`store_down`, then `store_up`) and counted in `stats()`. Nothing needs a restart.
 *
 * Keys: `<prefix>{<scope>}:<period>:<currency>` and the same with `:r` (its reservations by deadline), or
 * `<prefix>=<scope>:…` for a scope that has its own `{tag}`, or `<prefix>{<hashTag>}<scope>:…` with `hashTag`.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 *
 * const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * const store = createRedisBudgetStore({ client: redis, onEvent: (event) => console.warn(event) });
 * const reservation = await store.reserve([{ scope: 'key:team-a', limit: money('50', 'USD'), period: 'month' }], worstCase);
 * ```
 */
export function createRedisBudgetStore(options: RedisBudgetStoreOptions): BudgetStore {
  const client = options.client;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const hashTag = options.hashTag;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const failMode = options.failMode ?? 'open';
  const onEvent = options.onEvent;
  const defaultTtlMs = options.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS;
  const now = options.now;
  const clock = now ?? Date.now;
  if (prefix.includes('{') || prefix.includes('}')) {
    throw new CostError('invalid_budget', `prefix must not contain braces (they would be the hash tag), got ${prefix}`);
  }
  if (hashTag !== undefined && (hashTag === '' || hashTag.includes('{') || hashTag.includes('}'))) {
    throw new CostError('invalid_budget', `hashTag must be a non-empty string without braces, got ${hashTag}`);
  }
  if (!(timeoutMs > 0)) throw new CostError('invalid_budget', `timeoutMs must be a number > 0, got ${timeoutMs}`);
  if (failMode !== 'open' && failMode !== 'closed') {
    throw new CostError('invalid_budget', `failMode must be 'open' or 'closed', got ${String(failMode)}`);
  }
  checkReserve([], { amount: 0n, currency: 'USD' }, defaultTtlMs);

  const stats: BudgetStoreStats = {
    reserved: 0,
    refused: 0,
    settled: 0,
    settledLate: 0,
    failedOpen: 0,
    failedClosed: 0,
    notRecorded: 0,
    storeErrors: 0,
    outages: 0,
    storeDown: false,
  };
  let downSince = 0;
  let errorsWhileDown = 0;
  // Reservations settled through this store, so that a second settle costs no round trip, and so that a degraded
  // one (which Redis knows nothing of) is recorded once.
  const settled = new WeakSet<BudgetReservation>();

  function emit(event: BudgetStoreEvent): void {
    if (onEvent === undefined) return;
    try {
      onEvent(event);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  function storeAnswered(): void {
    if (!stats.storeDown) return;
    stats.storeDown = false;
    emit({ type: 'store_up', downMs: clock() - downSince, errors: errorsWhileDown });
  }

  function storeFailed(error: unknown): void {
    stats.storeErrors += 1;
    if (stats.storeDown) {
      errorsWhileDown += 1;
      return;
    }
    stats.storeDown = true;
    stats.outages += 1;
    downSince = clock();
    errorsWhileDown = 1;
    emit({ type: 'store_down', error });
  }

  // The counter's two keys and their slot's hash tag (Redis's rule: the first `{`, up to the next `}`, if not
  // empty). Tagged and untagged scopes get different key families (`=` / `{`), so `a` and `{a}` stay two budgets.
  function keysOf(budget: Budget): { hash: string; zset: string; tag: string } {
    const suffix = `:${budget.period}:${budget.limit.currency}`;
    const scope = budget.scope;
    let hash: string;
    if (hashTag !== undefined) hash = `${prefix}{${hashTag}}${scope}${suffix}`;
    else if (tagOf(scope) !== undefined) hash = `${prefix}=${scope}${suffix}`;
    else hash = `${prefix}{${scope}}${suffix}`;
    return { hash, zset: `${hash}:r`, tag: tagOf(hash) ?? hash };
  }

  /** The budgets in groups that each fit one script call: one group, except across slots on a Cluster. */
  function groupsOf(budgets: readonly Budget[]): { keys: string[]; indexes: number[] }[] {
    const groups = new Map<string, { keys: string[]; indexes: number[] }>();
    budgets.forEach((budget, index) => {
      const { hash, zset, tag } = keysOf(budget);
      const group = client.isCluster === true ? tag : '';
      let entry = groups.get(group);
      if (entry === undefined) {
        entry = { keys: [], indexes: [] };
        groups.set(group, entry);
      }
      entry.keys.push(hash, zset);
      entry.indexes.push(index);
    });
    return [...groups.values()];
  }

  async function run(script: RedisScript, keys: string[], args: string[], signal?: AbortSignal): Promise<unknown> {
    // Sent only to a ready client: ioredis would otherwise queue the command offline and run it after
    // reconnecting, holding money for a request that was long decided without it.
    if (client.status !== 'ready') throw new Error(`redis is not ready (status: ${client.status})`);
    return bounded(evalScript(script, keys, args), timeoutMs, signal);
  }

  async function evalScript(script: RedisScript, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await client.evalsha(script.sha1, keys.length, ...keys, ...args);
    } catch (error) {
      // NOSCRIPT is the error code Redis puts first in its reply (the protocol's error kind), not prose: the
      // script cache is empty after a restart or failover, and EVAL loads it again.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(script.text, keys.length, ...keys, ...args);
    }
  }

  function clockArgument(): string {
    return now === undefined ? '' : String(now());
  }

  /** The signal's own abort is the caller's answer; anything else is the store failing. */
  function isOwnAbort(error: unknown, signal: AbortSignal | undefined): boolean {
    return signal?.aborted === true && error === signal.reason;
  }

  async function reserve(
    budgets: readonly Budget[],
    amount: Money,
    reserveOptions: ReserveOptions = {},
  ): Promise<BudgetReservation> {
    const ttlMs = reserveOptions.ttlMs ?? defaultTtlMs;
    const signal = reserveOptions.signal;
    checkReserve(budgets, amount, ttlMs);
    const groups = groupsOf(budgets);
    if (groups.length > 1) {
      throw new CostError(
        'invalid_budget',
        'on Redis Cluster the budgets of one reservation must share a hash tag: set the hashTag option',
      );
    }
    signal?.throwIfAborted();
    const id = randomUUID();
    if (budgets.length === 0) {
      const at = clock();
      return { id, amount, budgets: [], states: [], reservedAt: at, expiresAt: at + ttlMs, degraded: false };
    }
    const args = [clockArgument(), id, amount.amount.toString(), String(ttlMs)];
    for (const budget of budgets) args.push(budget.period, budget.limit.amount.toString());
    let reply: unknown;
    try {
      reply = await run(RESERVE_SCRIPT, (groups[0] as { keys: string[] }).keys, args, signal);
      if (!isReserveReply(reply, budgets.length)) throw unexpected('reserve', reply);
    } catch (error) {
      if (isOwnAbort(error, signal)) throw error;
      storeFailed(error);
      if (failMode === 'closed') {
        stats.failedClosed += 1;
        throw new BudgetUnavailableError({ cause: error });
      }
      stats.failedOpen += 1;
      const at = clock();
      return { id, amount, budgets: [...budgets], states: [], reservedAt: at, expiresAt: at + ttlMs, degraded: true };
    }
    storeAnswered();
    const [allowed, reservedAt, expiresAt] = reply;
    const fits: boolean[] = [];
    const states = budgets.map((budget, index) => {
      const base = 3 + index * 4;
      fits.push(reply[base] === 1);
      return budgetState(
        budget,
        BigInt(reply[base + 1] as string),
        BigInt(reply[base + 2] as string),
        reply[base + 3] as number,
      );
    });
    if (allowed !== 1) {
      stats.refused += 1;
      const refused = states[refusingIndex(states, fits)] as BudgetState;
      throw new BudgetExceededError({ refused, requested: amount, budgets: states });
    }
    stats.reserved += 1;
    return { id, amount, budgets: [...budgets], states, reservedAt, expiresAt, degraded: false };
  }

  async function settle(
    reservation: BudgetReservation,
    actual: Money,
    callOptions: BudgetCallOptions = {},
  ): Promise<SettleStatus> {
    const signal = callOptions.signal;
    checkAmount('the actual cost', actual, reservation.amount.currency);
    signal?.throwIfAborted();
    if (settled.has(reservation)) return 'already_settled';
    settled.add(reservation);
    let status: SettleStatus = 'already_settled';
    try {
      const replies = await Promise.all(
        groupsOf(reservation.budgets).map(async ({ keys, indexes }) => {
          const args = [clockArgument(), reservation.id, actual.amount.toString(), reservation.degraded ? '1' : '0'];
          for (const index of indexes) args.push((reservation.budgets[index] as Budget).period);
          const reply = await run(SETTLE_SCRIPT, keys, args, signal);
          if (!isSettleReply(reply, indexes.length)) throw unexpected('settle', reply);
          return reply;
        }),
      );
      for (const reply of replies) {
        for (const code of reply.slice(1)) status = strongerStatus(status, SETTLE_STATUSES[code] ?? 'already_settled');
      }
    } catch (error) {
      // Not settled: a later settle of the same reservation may try again.
      settled.delete(reservation);
      if (isOwnAbort(error, signal)) throw error;
      storeFailed(error);
      stats.notRecorded += 1;
      return 'not_recorded';
    }
    storeAnswered();
    if (status === 'settled') stats.settled += 1;
    if (status === 'settled_late') stats.settledLate += 1;
    return status;
  }

  async function snapshot(budgets: readonly Budget[], callOptions: BudgetCallOptions = {}): Promise<BudgetState[]> {
    const signal = callOptions.signal;
    for (const budget of budgets) checkBudget(budget);
    signal?.throwIfAborted();
    const states: BudgetState[] = [];
    try {
      await Promise.all(
        groupsOf(budgets).map(async ({ keys, indexes }) => {
          const args = [clockArgument()];
          for (const index of indexes) args.push((budgets[index] as Budget).period);
          const reply = await run(READ_SCRIPT, keys, args, signal);
          if (!isReadReply(reply, indexes.length)) throw unexpected('read', reply);
          indexes.forEach((index, position) => {
            const base = 1 + position * 3;
            const spent = BigInt(reply[base] as string);
            const reserved = BigInt(reply[base + 1] as string);
            states[index] = budgetState(budgets[index] as Budget, spent, reserved, reply[base + 2] as number);
          });
        }),
      );
    } catch (error) {
      if (isOwnAbort(error, signal)) throw error;
      storeFailed(error);
      throw new BudgetUnavailableError({ cause: error });
    }
    storeAnswered();
    return states;
  }

  async function remaining(budget: Budget, callOptions: BudgetCallOptions = {}): Promise<BudgetState> {
    const [state] = await snapshot([budget], callOptions);
    return state as BudgetState;
  }

  async function setSpent(budget: Budget, spent: Money, callOptions: BudgetCallOptions = {}): Promise<BudgetState> {
    const signal = callOptions.signal;
    checkBudget(budget);
    checkAmount('the spend', spent, budget.limit.currency);
    signal?.throwIfAborted();
    const { hash, zset } = keysOf(budget);
    let reply: unknown;
    try {
      reply = await run(
        SET_SPENT_SCRIPT,
        [hash, zset],
        [clockArgument(), budget.period, spent.amount.toString()],
        signal,
      );
      if (!isReadReply(reply, 1)) throw unexpected('setSpent', reply);
    } catch (error) {
      if (isOwnAbort(error, signal)) throw error;
      storeFailed(error);
      throw new BudgetUnavailableError({ cause: error });
    }
    storeAnswered();
    return budgetState(budget, BigInt(reply[1] as string), BigInt(reply[2] as string), reply[3] as number);
  }

  return { reserve, settle, remaining, snapshot, setSpent, stats: () => ({ ...stats }) };
}

/** Redis's hash tag of a key: what lies between the first `{` and the next `}`, when that is not empty. */
function tagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open === -1) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

function unexpected(call: string, reply: unknown): Error {
  return new Error(`unexpected reply from the budget ${call} script: ${String(JSON.stringify(reply)).slice(0, 200)}`);
}

const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value);
const isUnits = (value: unknown): value is string => typeof value === 'string' && DIGITS.test(value);

/** {allowed, now, expiresAt, then per budget: fits, spent, reserved, period start}. */
function isReserveReply(reply: unknown, count: number): reply is [number, number, number, ...(number | string)[]] {
  if (!Array.isArray(reply) || reply.length !== 3 + count * 4) return false;
  if (!isTime(reply[0]) || !isTime(reply[1]) || !isTime(reply[2])) return false;
  for (let base = 3; base < reply.length; base += 4) {
    if (!isTime(reply[base]) || !isUnits(reply[base + 1]) || !isUnits(reply[base + 2]) || !isTime(reply[base + 3])) {
      return false;
    }
  }
  return true;
}

/** {now, then per budget: 0, 1 or 2}. */
function isSettleReply(reply: unknown, count: number): reply is number[] {
  return (
    Array.isArray(reply) &&
    reply.length === 1 + count &&
    reply.every((value, index) => (index === 0 ? isTime(value) : value === 0 || value === 1 || value === 2))
  );
}

/** {now, then per budget: spent, reserved, period start}. */
function isReadReply(reply: unknown, count: number): reply is [number, ...(number | string)[]] {
  if (!Array.isArray(reply) || reply.length !== 1 + count * 3 || !isTime(reply[0])) return false;
  for (let base = 1; base < reply.length; base += 3) {
    if (!isUnits(reply[base]) || !isUnits(reply[base + 1]) || !isTime(reply[base + 2])) return false;
  }
  return true;
}

/** `promise`, rejected when it takes longer than `timeoutMs` or `signal` aborts first. */
function bounded<T>(promise: Promise<T>, timeoutMs: number, signal: AbortSignal | undefined): Promise<T> {
  if (signal?.aborted === true) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    let late: NodeJS.Immediate | undefined;
    const onAbort = (): void => {
      clearTimeout(timer);
      clearImmediate(late);
      reject(signal?.reason);
    };
    // The answer may be in, unread, because this process was busy past the timeout (a long synchronous task, a GC
    // pause): the event loop's next I/O phase reads it before the timeout counts (setImmediate runs after that phase).
    const timer = setTimeout(() => {
      late = setImmediate(() => {
        signal?.removeEventListener('abort', onAbort);
        reject(new Error(`redis did not answer within ${timeoutMs} ms`));
      });
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        clearTimeout(timer);
        clearImmediate(late);
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        clearImmediate(late);
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
