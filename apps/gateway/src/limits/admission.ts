import {
  formatMoney,
  isBudgetExceededError,
  isBudgetUnavailableError,
  worstCaseCost,
  zeroMoney,
  type Budget,
  type BudgetReservation,
  type BudgetStore,
  type Money,
} from '@gw/cost';
import type { ProviderKind } from '@gw/providers';
import {
  composeScope,
  isRateLimitedError,
  isRateLimitUnavailableError,
  type LimitState,
  type RateLimit,
  type RateLimiter,
  type RateLimitLease,
} from '@gw/ratelimit';
import type { GatewayConfig } from '../config/schema.ts';
import type { Pricing } from '../cost/pricing.ts';
import { GatewayError } from '../gateway-error.ts';
import type { VirtualKey } from '../keys/key-store.ts';
import type { Logger } from '../observability/logger.ts';
import type { RoutedModel } from '../routing/gateway-routing.ts';
import type { RequestOutcome } from '../settle/settle-once.ts';
import type { DeploymentSlot } from './deployment-limits.ts';
import type { ParallelLimit, ReleaseSlot } from './parallel-limit.ts';

/** What is known about a request when it asks to be let through. */
export interface AdmitInput {
  readonly key: VirtualKey | undefined;
  /** The client's address, for per-IP limits. */
  readonly ip: () => string | undefined;
  /** The model the client named. */
  readonly model: string;
  readonly routed: RoutedModel;
  /** The prompt's tokens, estimated for a vendor kind. */
  readonly promptTokens: (vendor: ProviderKind | undefined) => number;
  /** `max_tokens` (or its equivalent) of the request; `undefined` when it names none. */
  readonly maxOutputTokens: number | undefined;
  /** Embeddings produce no output tokens. */
  readonly outputs: boolean;
  /** A streamed answer: its head leaves before the settle, so it carries the budget as the admission left it. */
  readonly stream: boolean;
  readonly signal: AbortSignal;
}

/** A request that was let through: what it holds, and how to give back what it did not use. */
export interface Admitted {
  /** `x-ratelimit-*` for the answer, and a stream's `x-gw-budget-remaining`. */
  readonly headers: Record<string, string>;
  /** For the router's `slot` option (per-deployment limits); undefined when no deployment has limits. */
  readonly slot: DeploymentSlot | undefined;
  /**
   * Corrects the token debits to the real usage, settles the budget reservation to the real cost and frees the
   * parallel slot. Returns the budget header as it stands after this request (for answers whose headers are not
   * sent yet).
   */
  settled(outcome: RequestOutcome): Record<string, string> | undefined;
}

/** Decides, before any upstream call, whether a request fits its limits and budgets. */
export interface Admission {
  /** `undefined` when nothing applies to the request (no work done); throws a 429 / 402 / 403 / 503 GatewayError. */
  admit(input: AdmitInput): Promise<Admitted | undefined>;
}

/** Options of {@link createAdmission}. */
export interface AdmissionOptions {
  config: GatewayConfig;
  pricing: Pricing;
  limiter: RateLimiter;
  budgets: BudgetStore;
  parallel: ParallelLimit;
  logger: Logger;
  /**
   * Called before each reservation; a promise it returns is awaited (memory store: the budget's spend so far is read
   * from the ledger, once), `undefined` means the budget is ready.
   */
  prepareBudget?: ((budget: Budget) => Promise<void> | undefined) | undefined;
  /** Told every refusal by scope (`key`, `key_model`, `ip`, `global`, `parallel`, `budget`): for metrics. */
  onRefused?: ((scope: string) => void) | undefined;
}

// The prompt estimate is a fast approximation (no tokenizer); a reservation must not come out short, so the prompt
// part of a worst case carries a margin.
const PROMPT_MARGIN = 1.25;
const PROMPT_SLACK_TOKENS = 16;

// Which limit a refusal names, for the metric's scope label.
function scopeLabel(scope: string): string {
  if (scope.startsWith('{key:')) return scope.includes('}:model:') ? 'key_model' : 'key';
  if (scope.startsWith('{ip:')) return 'ip';
  if (scope.startsWith('{global')) return 'global';
  return 'other';
}

function seconds(ms: number): string {
  return `${Math.max(0, Math.ceil(ms / 1000))}s`;
}

// OpenAI's header names by unit, written out so that no request builds them.
const HEADER_NAMES = {
  requests: ['x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests'],
  tokens: ['x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'],
} as const;

// OpenAI's headers, for the first limit of each unit (the key's own come first, then the rest).
function rateLimitHeaders(states: readonly LimitState[], headers: Record<string, string>): void {
  for (const state of states) {
    const [limit, remaining, reset] = HEADER_NAMES[state.unit];
    if (headers[limit] !== undefined) continue;
    headers[limit] = String(state.limit);
    headers[remaining] = String(state.remaining);
    headers[reset] = seconds(state.resetMs);
  }
}

// Exact decimal text (no float formatting: it is both slower and rounder than the amount).
function formatRemaining(remaining: Money): string {
  return formatMoney(nonNegative(remaining));
}

function gatewayCap(
  rate: { rpm?: number | undefined; tpm?: number | undefined } | undefined,
  scope: string,
): RateLimit[] {
  if (rate === undefined) return [];
  const limits: RateLimit[] = [];
  if (rate.rpm !== undefined) limits.push({ scope, unit: 'requests', limit: rate.rpm });
  if (rate.tpm !== undefined) limits.push({ scope, unit: 'tokens', limit: rate.tpm });
  return limits;
}

/**
 * The gateway's admission: a virtual key's `max_parallel`, its RPM/TPM (key-wide and per model), the per-IP and
 * global limits of `limits:`, and the key's and `budgets.global` budgets, all decided before any upstream call.
 * Tokens are debited as an estimate (prompt + `max_tokens`, else `limits.defaultMaxTokens`) and corrected to the
 * real usage at the settle; a budget reserves the worst case (the prompt with a margin + `max_tokens`, else the
 * model's maximum output, at the highest price among the deployments that may serve) and settles to the real cost.
 *
 * @example
 * const admitted = await admission.admit({ key, ip, model, routed, promptTokens, maxOutputTokens: 256, outputs: true, stream: false, signal });
 */
export function createAdmission(options: AdmissionOptions): Admission {
  const { config, pricing, limiter, budgets, parallel, logger } = options;
  const currency = pricing.currency;
  const onRefused = options.onRefused ?? (() => undefined);
  const globalLimits = gatewayCap(config.limits.global, composeScope('global'));
  const perIp = config.limits.perIp;
  const globalBudgets: Budget[] = config.budgets.global.map((budget, index) => ({
    scope: index === 0 ? 'global' : `global:${index}`,
    limit: pricing.toReporting({ amount: BigInt(Math.round(budget.amount * 1e12)), currency }),
    period: budget.period,
  }));
  const hasDeploymentLimits = config.limits.deployments.length > 0;
  const defaultMaxTokens = config.limits.defaultMaxTokens;
  const prepareBudget = options.prepareBudget;

  // The highest cost the request can reach on any deployment that may serve it; undefined when one is unpriced.
  const worstCase = (
    input: AdmitInput,
    promptTokens: (vendor: ProviderKind | undefined) => number,
  ): Money | undefined => {
    let worst: Money = zeroMoney(currency);
    for (const deployment of input.routed.deployments) {
      const price = pricing.priceOf(deployment);
      if (price === undefined) return undefined;
      const prompt = Math.ceil(promptTokens(deployment.kind) * PROMPT_MARGIN) + PROMPT_SLACK_TOKENS;
      const output = input.outputs ? (input.maxOutputTokens ?? price.maxOutputTokens ?? defaultMaxTokens) : 0;
      const cost = pricing.toReporting(worstCaseCost(price, prompt, output));
      if (cost.amount > worst.amount) worst = cost;
    }
    return worst;
  };

  // A key's own limits and budgets (with the gateway's), built once per key object: the resolver hands out the same
  // object until the key changes, so a request does not rebuild (or re-convert) them.
  const perKey = new WeakMap<VirtualKey, { limits: RateLimit[]; budgets: Budget[] }>();
  const noKey = { limits: globalLimits, budgets: globalBudgets };
  const ownOf = (key: VirtualKey | undefined): { limits: RateLimit[]; budgets: Budget[] } => {
    if (key === undefined) return noKey;
    let own = perKey.get(key);
    if (own === undefined) {
      const budgets: Budget[] = [];
      if (key.budget != null) {
        budgets.push({
          scope: `key:${key.id}`,
          limit: pricing.toReporting(key.budget.amount),
          period: key.budget.period,
        });
      }
      budgets.push(...globalBudgets);
      const limits = gatewayCap({ rpm: key.rpm ?? undefined, tpm: key.tpm ?? undefined }, composeScope('key', key.id));
      limits.push(...globalLimits);
      own = { limits, budgets };
      perKey.set(key, own);
    }
    return own;
  };

  const rateLimitsOf = (input: AdmitInput, own: RateLimit[]): RateLimit[] => {
    const { key } = input;
    const perModel = key?.modelLimits?.[input.model];
    const ip = perIp === undefined ? undefined : input.ip();
    if (perModel === undefined && ip === undefined) return own;
    // The key's own first (their headers win), then per model, per IP, the global ones last.
    const limits = own.slice(0, own.length - globalLimits.length);
    if (perModel !== undefined && key !== undefined)
      limits.push(...gatewayCap(perModel, composeScope('key', key.id, 'model', input.model)));
    if (ip !== undefined) limits.push(...gatewayCap(perIp, composeScope('ip', ip)));
    limits.push(...globalLimits);
    return limits;
  };

  return {
    async admit(input) {
      const { key } = input;
      const own = ownOf(key);
      const limits = rateLimitsOf(input, own.limits);
      const budgetList = own.budgets;
      const maxParallel = key?.maxParallel ?? null;
      if (limits.length === 0 && budgetList.length === 0 && maxParallel === null && !hasDeploymentLimits) {
        return undefined;
      }
      const vendor = input.routed.deployments[0]?.kind;
      // The prompt is counted once per vendor kind (the token debit and the budget's worst case ask the same).
      let countedKind: ProviderKind | undefined;
      let counted = -1;
      const promptTokens = (kind: ProviderKind | undefined): number => {
        if (counted < 0 || kind !== countedKind) {
          countedKind = kind;
          counted = input.promptTokens(kind);
        }
        return counted;
      };
      // Counted once, and only when a token limit (the key's, the gateway's or a deployment's) will debit it.
      const tokens =
        limits.some((limit) => limit.unit === 'tokens') || hasDeploymentLimits
          ? promptTokens(vendor) + (input.outputs ? (input.maxOutputTokens ?? defaultMaxTokens) : 0)
          : 0;
      const headers: Record<string, string> = {};

      // Held in order: a parallel slot, the rate limits, the budget. A later refusal gives back what was taken.
      let release: ReleaseSlot | undefined;
      if (maxParallel !== null && key !== undefined) {
        let checked = true;
        try {
          release = await parallel.acquire(key.id, maxParallel);
        } catch (error) {
          // Fail open: the request goes on uncounted (the Redis outage is logged where the connection is).
          if (config.limits.failMode === 'closed') throw unavailable('rate limits', error);
          checked = false;
        }
        if (checked && release === undefined) {
          onRefused('parallel');
          throw new GatewayError(`This API key already has ${maxParallel} requests in progress (max_parallel).`, {
            status: 429,
            type: 'rate_limit_error',
            code: 'rate_limit_exceeded',
            headers: { 'retry-after': '1' },
          });
        }
      }

      let lease: RateLimitLease | undefined;
      let reservation: BudgetReservation | undefined;
      try {
        if (limits.length > 0) {
          try {
            lease = await limiter.take(limits, { tokens, signal: input.signal });
          } catch (error) {
            if (isRateLimitedError(error)) {
              onRefused(scopeLabel(error.scope));
              const refusalHeaders: Record<string, string> = {};
              rateLimitHeaders(error.limits, refusalHeaders);
              if (error.retryAfterMs !== undefined) {
                refusalHeaders['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
              }
              throw new GatewayError(
                rateLimitMessage(error.unit, error.limit, error.retryAfterMs, scopeLabel(error.scope)),
                {
                  status: 429,
                  type: 'rate_limit_error',
                  code: 'rate_limit_exceeded',
                  headers: refusalHeaders,
                },
              );
            }
            if (isRateLimitUnavailableError(error)) throw unavailable('rate limits', error);
            throw error;
          }
          rateLimitHeaders(lease.limits, headers);
        }

        if (budgetList.length > 0) {
          const amount = worstCase(input, promptTokens);
          if (amount === undefined) {
            throw new GatewayError(
              `The model ${JSON.stringify(input.model.slice(0, 200))} has no price, so a request under a budget cannot use it; give it one under pricing.models.`,
              { status: 403, type: 'permission_error', code: 'model_unpriced', param: 'model' },
            );
          }
          if (prepareBudget !== undefined) {
            for (const budget of budgetList) {
              const preparing = prepareBudget(budget);
              if (preparing !== undefined) await preparing;
            }
          }
          try {
            reservation = await budgets.reserve(budgetList, amount, {
              ttlMs: config.budgets.reservationTtlMs,
              signal: input.signal,
            });
          } catch (error) {
            if (isBudgetExceededError(error)) {
              onRefused('budget');
              throw new GatewayError(error.message, {
                status: 402,
                type: 'insufficient_quota',
                code: 'budget_exceeded',
                headers: error.scope.startsWith('key:')
                  ? { 'x-gw-budget-remaining': formatRemaining(error.remaining) }
                  : {},
              });
            }
            if (isBudgetUnavailableError(error)) throw unavailable('budgets', error);
            throw error;
          }
          // A JSON answer shows the budget as its settle leaves it (settled()); only a stream's head leaves before.
          const keyState = key?.budget != null && input.stream ? reservation.states[0] : undefined;
          if (keyState !== undefined) headers['x-gw-budget-remaining'] = formatRemaining(keyState.remaining);
        }
      } catch (error) {
        release?.();
        if (lease !== undefined) void lease.settle(0);
        throw error;
      }

      const slot: DeploymentSlot | undefined = hasDeploymentLimits ? { tokens, leases: [] } : undefined;
      const held = { lease, reservation, release, slot };
      return {
        headers,
        slot,
        settled: (outcome) => settle(held, outcome, key),
      };
    },
  };

  function settle(
    held: {
      lease: RateLimitLease | undefined;
      reservation: BudgetReservation | undefined;
      release: ReleaseSlot | undefined;
      slot: DeploymentSlot | undefined;
    },
    outcome: RequestOutcome,
    key: VirtualKey | undefined,
  ): Record<string, string> | undefined {
    held.release?.();
    const used = outcome.usage?.total_tokens ?? 0;
    if (held.lease !== undefined) void held.lease.settle(used);
    if (held.slot !== undefined) {
      // Only the deployment that answered used tokens; the others refused or failed before producing any.
      const leases = held.slot.leases;
      leases.forEach((lease, index) => void lease.settle(index === leases.length - 1 ? used : 0));
    }
    const reservation = held.reservation;
    if (reservation === undefined) return undefined;
    const actual = outcome.cost?.total ?? zeroMoney(currency);
    budgets.settle(reservation, actual).then(
      (status) => {
        if (status === 'not_recorded') {
          logger.warn('a request’s cost could not be recorded in its budget: the budget store is unreachable', {
            requestId: outcome.requestId,
          });
        }
      },
      (error: unknown) => logger.error('settling a budget failed', { requestId: outcome.requestId, error }),
    );
    const keyState = key?.budget != null ? reservation.states[0] : undefined;
    if (keyState === undefined) return undefined;
    const remaining = keyState.remaining.amount + reservation.amount.amount - actual.amount;
    return { 'x-gw-budget-remaining': formatRemaining({ amount: remaining, currency }) };
  }

  // Only reached in the closed fail mode: in the open one the stores let the request through themselves.
  function unavailable(what: 'rate limits' | 'budgets', cause: unknown): GatewayError {
    return new GatewayError(`The gateway cannot check ${what} right now; try again shortly.`, {
      status: 503,
      type: 'service_unavailable_error',
      code: what === 'budgets' ? 'budgets_unavailable' : 'rate_limits_unavailable',
      headers: { 'retry-after': '1' },
      cause,
    });
  }
}

function nonNegative(value: Money): Money {
  return value.amount < 0n ? { amount: 0n, currency: value.currency } : value;
}

function rateLimitMessage(unit: string, limit: number, retryAfterMs: number | undefined, scope: string): string {
  const whose =
    scope === 'key'
      ? 'this API key'
      : scope === 'key_model'
        ? 'this API key on this model'
        : scope === 'ip'
          ? 'your address'
          : 'the gateway';
  if (retryAfterMs === undefined)
    return `Request too large: it needs more than ${limit} ${unit} per minute allowed for ${whose}.`;
  return `Rate limit reached for ${whose}: ${limit} ${unit} per minute. Retry in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s.`;
}
