import { Hono, type MiddlewareHandler } from 'hono';
import type { GatewayEnv } from '../../gateway-env.ts';
import type { LedgerQueries } from '../../ledger/ledger-queries.ts';
import type { ConfigReloader } from '../../config/config-reloader.ts';
import { addBatchAdminRoutes, type BatchAdminRoutesOptions } from './batches-routes.ts';
import { addConfigRoutes } from './config-routes.ts';
import { addHealthRoutes } from './health-routes.ts';
import { addKeyRoutes, type KeyRoutesOptions } from './keys-routes.ts';
import { addProviderRoutes, type ProviderRoutesOptions } from './providers-routes.ts';
import { addQueueRoutes, type QueueRoutesOptions } from './queues-routes.ts';
import { addStatsRoutes, type StatsRoutesOptions } from './stats-routes.ts';
import { addUsageRoutes } from './usage-routes.ts';

/** What the admin API is built from. */
export interface AdminAppOptions {
  /** Guards every admin route (the master key); `undefined` in open dev mode, said loudly at start. */
  auth: MiddlewareHandler | undefined;
  /** The ledger's queries; without them the usage routes answer 404 `ledger_disabled`. */
  queries?: LedgerQueries | undefined;
  /** The reporting currency. */
  currency: string;
  /** The virtual keys' store and resolver. */
  keys: KeyRoutesOptions;
  /** The health view (deployments, breakers, queues, adaptive caps, probes). */
  health: () => object;
  /** The file's and the stored providers. */
  providers: ProviderRoutesOptions;
  /** The providers' queues. */
  queues: QueueRoutesOptions;
  /** Counters since start. */
  stats: StatsRoutesOptions;
  /** The running configuration and its reloads. */
  config: ConfigReloader;
  /** The batches (store and runner). */
  batches: BatchAdminRoutesOptions;
}

/**
 * The admin API, a hono sub-app mounted at `/admin`: every route behind the master key, JSON in and out, snake_case
 * fields. Each admin area (usage, keys, providers, health…) adds its routes here.
 *
 * @example
 * app.route('/admin', createAdminApp({ auth: masterKeyAuth(masterKey) }));
 */
export function createAdminApp(options: AdminAppOptions): Hono<GatewayEnv> {
  const admin = new Hono<GatewayEnv>();
  if (options.auth !== undefined) admin.use('*', options.auth);
  addUsageRoutes(admin, { queries: options.queries, currency: options.currency });
  addKeyRoutes(admin, options.keys);
  addHealthRoutes(admin, options.health);
  addProviderRoutes(admin, options.providers);
  addQueueRoutes(admin, options.queues);
  addStatsRoutes(admin, options.stats);
  addConfigRoutes(admin, options.config);
  addBatchAdminRoutes(admin, options.batches);
  return admin;
}
