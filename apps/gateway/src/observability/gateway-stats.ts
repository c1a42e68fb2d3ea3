import type { FallbackReason } from '@gw/providers';
import type { CircuitBreakerState, GiveUpReason } from '@gw/retry';
import type { RequestOutcome } from '../settle/settle-once.ts';
import { errorKind } from './metrics.ts';

/** What {@link GatewayStats.snapshot} returns: counts since the process started. */
export interface StatsSnapshot {
  /** When counting started (the process's start), ms since the epoch. */
  readonly since: number;
  readonly requests: { total: number; completed: number; failed: number; cancelled: number; fallback: number };
  /** Failed requests by error kind (a provider error's kind or the gateway's code). */
  readonly errors: Record<string, number>;
  /** Calls tried again on the same deployment, by the kind of failure that caused it. */
  readonly retries: { total: number; byKind: Record<string, number> };
  /** Retries that stopped short of success, by why (`max_retries`, `deadline`, `retry_after_too_long`). */
  readonly giveUps: { total: number; byReason: Record<string, number> };
  /** Breaker state changes, by the state entered, and per deployment. */
  readonly breakerTransitions: {
    total: number;
    byState: Record<string, number>;
    byDeployment: Array<{ deployment: string; from: string; to: string; count: number; lastAt: number }>;
  };
  /** Aliases that fell back to another, by why and by pair. */
  readonly fallbacks: {
    total: number;
    byReason: Record<string, number>;
    byPair: Array<{ from: string; to: string; count: number }>;
  };
  /** Configuration reloads by result. */
  readonly reloads: { ok: number; error: number };
}

/** Counters for `GET /admin/stats`, fed by the policies' and the router's events and by the settle hook. */
export interface GatewayStats {
  retried(kind: string): void;
  gaveUp(reason: GiveUpReason): void;
  breakerChanged(deployment: string, from: CircuitBreakerState, to: CircuitBreakerState): void;
  fellBack(from: string, to: string, reason: FallbackReason): void;
  reloaded(ok: boolean): void;
  /** A settle subscriber. */
  readonly settled: (outcome: RequestOutcome) => void;
  snapshot(): StatsSnapshot;
}

// Deployment and alias names can be chosen by clients (provider-id/model): past this many distinct keys the rest are
// counted under OTHER, so the counters stay bounded.
const MAX_KEYS = 1000;
const OTHER = 'other';

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function boundedKey(map: ReadonlyMap<string, unknown>, key: string): string {
  return map.has(key) || map.size < MAX_KEYS ? key : OTHER;
}

/**
 * Creates the gateway's statistics: plain counters since start, independent of whether `/metrics` is enabled.
 *
 * @example
 * const stats = createGatewayStats();
 * const policies = createDeploymentPolicies(config, logger, { onRetry: (_deployment, kind) => stats.retried(kind) });
 */
export function createGatewayStats(now: () => number = Date.now): GatewayStats {
  const since = now();
  const requests = { total: 0, completed: 0, failed: 0, cancelled: 0, fallback: 0 };
  const errors: Record<string, number> = {};
  const retries = { total: 0, byKind: {} as Record<string, number> };
  const giveUps = { total: 0, byReason: {} as Record<string, number> };
  const breakerByState: Record<string, number> = {};
  let breakerTotal = 0;
  const breakerByDeployment = new Map<
    string,
    { deployment: string; from: string; to: string; count: number; lastAt: number }
  >();
  const fallbackByReason: Record<string, number> = {};
  let fallbackTotal = 0;
  const fallbackByPair = new Map<string, { from: string; to: string; count: number }>();
  const reloads = { ok: 0, error: 0 };

  return {
    retried(kind) {
      retries.total += 1;
      bump(retries.byKind, kind);
    },
    gaveUp(reason) {
      giveUps.total += 1;
      bump(giveUps.byReason, reason);
    },
    breakerChanged(deployment, from, to) {
      breakerTotal += 1;
      bump(breakerByState, to);
      const key = boundedKey(breakerByDeployment, `${deployment}\u0001${from}\u0001${to}`);
      const entry = breakerByDeployment.get(key);
      if (entry !== undefined) {
        entry.count += 1;
        entry.lastAt = now();
      } else {
        const named = key === OTHER ? { deployment: OTHER, from: OTHER, to: OTHER } : { deployment, from, to };
        breakerByDeployment.set(key, { ...named, count: 1, lastAt: now() });
      }
    },
    fellBack(from, to, reason) {
      fallbackTotal += 1;
      bump(fallbackByReason, reason);
      const key = boundedKey(fallbackByPair, `${from}\u0001${to}`);
      const entry = fallbackByPair.get(key);
      if (entry === undefined)
        fallbackByPair.set(key, key === OTHER ? { from: OTHER, to: OTHER, count: 1 } : { from, to, count: 1 });
      else entry.count += 1;
    },
    reloaded(ok) {
      if (ok) reloads.ok += 1;
      else reloads.error += 1;
    },
    settled(outcome) {
      requests.total += 1;
      requests[outcome.status] += 1;
      if (outcome.fallback) requests.fallback += 1;
      if (outcome.status === 'failed') bump(errors, errorKind(outcome.error));
    },
    snapshot: () => ({
      since,
      requests: { ...requests },
      errors: { ...errors },
      retries: { total: retries.total, byKind: { ...retries.byKind } },
      giveUps: { total: giveUps.total, byReason: { ...giveUps.byReason } },
      breakerTransitions: {
        total: breakerTotal,
        byState: { ...breakerByState },
        byDeployment: [...breakerByDeployment.values()].map((entry) => ({ ...entry })),
      },
      fallbacks: {
        total: fallbackTotal,
        byReason: { ...fallbackByReason },
        byPair: [...fallbackByPair.values()].map((entry) => ({ ...entry })),
      },
      reloads: { ...reloads },
    }),
  };
}
