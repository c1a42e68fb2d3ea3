import type { Hono } from 'hono';
import type { GatewayEnv } from '../../gateway-env.ts';
import { toSnake } from '../../snake-case.ts';

/**
 * The admin API's field style: every key of a plain object in snake_case (`inFlight` → `in_flight`), recursively.
 * Map keys that are data (deployment ids) live in arrays here, so nothing that is a name is rewritten; the only
 * records keyed by data are error kinds and reasons, which are snake_case already.
 *
 * @example
 * c.json(snakeCased({ inFlight: 2 })); // { in_flight: 2 }
 */
export function snakeCased(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCased);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field === undefined) continue;
    out[toSnake(key)] = snakeCased(field);
  }
  return out;
}

/**
 * `GET /admin/health`: the per-deployment health view (deployments with their cooldowns and latencies, breakers,
 * provider queues, adaptive concurrency caps, probe results), as it stands.
 *
 * @example
 * addHealthRoutes(admin, () => state.healthView());
 */
export function addHealthRoutes(admin: Hono<GatewayEnv>, view: () => object): void {
  admin.get('/health', (c) => c.json(snakeCased(view())));
}
