import type { Hono } from 'hono';
import type { GatewayEnv } from '../../gateway-env.ts';
import type { GatewayStats } from '../../observability/gateway-stats.ts';
import type { DeploymentPolicyStats } from '../../routing/deployment-policies.ts';
import { snakeCased } from './health-routes.ts';

/** Options of {@link addStatsRoutes}. */
export interface StatsRoutesOptions {
  stats: GatewayStats;
  /** The retry and breaker counters of the deployments that have policies now. */
  deployments: () => DeploymentPolicyStats[];
  now?: (() => number) | undefined;
}

/**
 * `GET /admin/stats`: counts since start (requests by outcome, errors by kind, retries by kind, give-ups, breaker
 * transitions, fallbacks, configuration reloads), and each deployment's retry and breaker counters since its
 * policies were built.
 *
 * @example
 * addStatsRoutes(admin, { stats, deployments: () => policies.stats() });
 */
export function addStatsRoutes(admin: Hono<GatewayEnv>, options: StatsRoutesOptions): void {
  const now = options.now ?? Date.now;
  admin.get('/stats', (c) => {
    const { since, ...counts } = options.stats.snapshot();
    return c.json(
      snakeCased({
        since: new Date(since).toISOString(),
        uptimeSeconds: Math.round((now() - since) / 1000),
        ...counts,
        deployments: options.deployments(),
      }),
    );
  });
}
