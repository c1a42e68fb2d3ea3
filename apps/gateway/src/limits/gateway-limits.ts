import {
  createMemoryBudgetStore,
  createRedisBudgetStore,
  type Budget,
  type BudgetStore,
  type BudgetStoreEvent,
} from '@gw/cost';
import type { AcquireSlot } from '@gw/providers';
import {
  createMemoryRateLimitStore,
  createRateLimiter,
  createRedisRateLimitStore,
  type RateLimiter,
  type RateLimiterEvent,
} from '@gw/ratelimit';
import type { GatewayConfig } from '../config/schema.ts';
import type { Pricing } from '../cost/pricing.ts';
import type { VirtualKey } from '../keys/key-store.ts';
import type { LedgerQueries } from '../ledger/ledger-queries.ts';
import type { Logger } from '../observability/logger.ts';
import type { KeySpend } from '../routes/admin/keys-routes.ts';
import type { GatewayRedis } from '../storage/redis.ts';
import { createAdmission, type Admission } from './admission.ts';
import { withDeploymentLimits } from './deployment-limits.ts';
import { createMemoryParallelLimit, createRedisParallelLimit } from './parallel-limit.ts';

/** The gateway's limits and budgets, in memory or on Redis. Built once at start. */
export interface GatewayLimits {
  readonly admission: Admission;
  readonly limiter: RateLimiter;
  readonly budgets: BudgetStore;
  /** Adds `limits.deployments` in front of the router's own `acquire` (concurrency queues). */
  wrapAcquire: (inner: AcquireSlot) => AcquireSlot;
  /** A key's budget state for the admin API; `undefined` without a budget or when the store cannot say. */
  spendOf: (key: VirtualKey) => Promise<KeySpend | undefined>;
}

/** Options of {@link createGatewayLimits}. */
export interface GatewayLimitsOptions {
  config: GatewayConfig;
  pricing: Pricing;
  logger: Logger;
  /** With Redis: every limit, budget and `max_parallel` shared by the processes using it. */
  redis?: GatewayRedis | undefined;
  /** The ledger, where a memory budget store reads what was spent before this process started. */
  queries?: LedgerQueries | undefined;
  /** Told each refusal by scope, for metrics. */
  onRefused?: ((scope: string) => void) | undefined;
  /** Told when a store loses Redis (`rate_limits`, `budgets`), once per outage, for metrics. */
  onOutage?: ((store: 'rate_limits' | 'budgets') => void) | undefined;
}

function keyBudget(key: VirtualKey, pricing: Pricing): Budget | undefined {
  if (key.budget === null) return undefined;
  return { scope: `key:${key.id}`, limit: pricing.toReporting(key.budget.amount), period: key.budget.period };
}

/**
 * Builds the rate limiter, the budget store and `max_parallel` counting from `limits:`, `budgets:` and `redis:`.
 * Without Redis everything is counted in this process, and a budget's spend so far is read from the ledger the
 * first time the budget is used. With Redis, counters live there (atomic Lua scripts); while Redis is unreachable
 * the fail modes decide (`limits.failMode`, `budgets.failMode`, both open by default), an outage is logged once
 * and recovered from without a restart.
 *
 * @example
 * const limits = createGatewayLimits({ config, pricing, logger, redis, queries: storage.queries });
 */
export function createGatewayLimits(options: GatewayLimitsOptions): GatewayLimits {
  const { config, pricing, logger, redis, queries } = options;
  const { prefix, timeoutMs } = config.redis;
  const onLimiterEvent = (event: RateLimiterEvent): void => {
    if (event.type === 'store_down') {
      logger.warn(`rate limits cannot reach redis: failing ${config.limits.failMode}`, { error: event.error });
      options.onOutage?.('rate_limits');
    }
    if (event.type === 'store_up') logger.info('rate limits reach redis again', { downMs: event.downMs });
  };
  const onBudgetEvent = (event: BudgetStoreEvent): void => {
    if (event.type === 'store_down') {
      logger.warn(`budgets cannot reach redis: failing ${config.budgets.failMode}`, { error: event.error });
      options.onOutage?.('budgets');
    }
    if (event.type === 'store_up') logger.info('budgets reach redis again', { downMs: event.downMs });
  };
  const limiter = createRateLimiter({
    store:
      redis === undefined
        ? createMemoryRateLimitStore()
        : createRedisRateLimitStore({ client: redis.client, prefix: `${prefix}rl:`, timeoutMs }),
    failMode: config.limits.failMode,
    onEvent: onLimiterEvent,
  });
  const budgets: BudgetStore =
    redis === undefined
      ? createMemoryBudgetStore({ reservationTtlMs: config.budgets.reservationTtlMs })
      : createRedisBudgetStore({
          client: redis.client,
          prefix: `${prefix}budget:`,
          timeoutMs,
          failMode: config.budgets.failMode,
          reservationTtlMs: config.budgets.reservationTtlMs,
          onEvent: onBudgetEvent,
        });
  const parallel =
    redis === undefined
      ? createMemoryParallelLimit()
      : createRedisParallelLimit({
          client: redis.client,
          prefix,
          slotTtlMs: config.budgets.reservationTtlMs,
          timeoutMs,
        });

  // In memory, a budget starts each process at zero: what the ledger holds for its period is its spend so far, read
  // once per budget (again after a failure). Once read, the budget is `true` here and nothing is awaited; the key's
  // budget object changes with the key, so the id is built only for an object not seen ready yet.
  const prepared = new Map<string, Promise<void> | true>();
  const ready = new WeakSet<Budget>();
  const prepareBudget =
    redis === undefined && queries !== undefined
      ? (budget: Budget): Promise<void> | undefined => {
          if (ready.has(budget)) return undefined;
          const id = `${budget.period}:${budget.scope}`;
          const state = prepared.get(id);
          if (state === true) {
            ready.add(budget);
            return undefined;
          }
          if (state !== undefined) return state;
          const done = spentFromLedger(budget, budgets, queries).then(
            () => void prepared.set(id, true),
            (error: unknown) => {
              prepared.delete(id);
              throw error;
            },
          );
          prepared.set(id, done);
          return done;
        }
      : undefined;

  const admission = createAdmission({
    config,
    pricing,
    limiter,
    budgets,
    parallel,
    logger,
    prepareBudget,
    onRefused: options.onRefused,
  });

  return {
    admission,
    limiter,
    budgets,
    wrapAcquire: (inner) =>
      withDeploymentLimits(config.limits.deployments, limiter, inner, options.onRefused ?? (() => undefined)),
    async spendOf(key) {
      const budget = keyBudget(key, pricing);
      if (budget === undefined) return undefined;
      try {
        await prepareBudget?.(budget);
        const state = await budgets.remaining(budget);
        return {
          spent: state.spent,
          periodStart: state.periodStart === undefined ? null : new Date(state.periodStart),
        };
      } catch {
        return undefined;
      }
    },
  };
}

async function spentFromLedger(budget: Budget, budgets: BudgetStore, queries: LedgerQueries): Promise<void> {
  const state = await budgets.remaining(budget);
  const keyId = budget.scope.startsWith('key:') ? budget.scope.slice('key:'.length) : undefined;
  const groups = await queries.usage({
    groupBy: 'key',
    ...(state.periodStart === undefined ? {} : { from: new Date(state.periodStart) }),
    ...(keyId === undefined ? {} : { keyId }),
  });
  const currency = budget.limit.currency;
  let spent = 0n;
  for (const group of groups) spent += group.cost[currency] ?? 0n;
  if (spent > 0n) await budgets.setSpent(budget, { amount: spent, currency });
}
