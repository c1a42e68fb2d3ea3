import { Hono, type MiddlewareHandler } from 'hono';
import type { GatewayEnv } from '../../gateway-env.ts';
import type { LedgerQueries } from '../../ledger/ledger-queries.ts';
import { addHealthRoutes } from './health-routes.ts';
import { addKeyRoutes, type KeyRoutesOptions } from './keys-routes.ts';
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
  return admin;
}
