import type { Hono } from 'hono';
import type { ConfigReloader, ReloadResult } from '../../config/config-reloader.ts';
import { maskConfig } from '../../config/secrets.ts';
import type { GatewayEnv } from '../../gateway-env.ts';

function resultJson(result: ReloadResult | undefined): Record<string, unknown> | null {
  if (result === undefined) return null;
  return {
    at: new Date(result.at).toISOString(),
    trigger: result.trigger,
    ok: result.ok,
    error: result.error ?? null,
    pending_restart: result.pendingRestart,
  };
}

/**
 * `GET /admin/config`: the running configuration with every secret masked (in gateway.yaml's own spelling, so it
 * reads like the file), the file it came from, the sections a change of which waits for a restart, and the last
 * reload's outcome. `POST /admin/config/reload` reads the file again now (like SIGHUP) and answers the outcome.
 *
 * @example
 * addConfigRoutes(admin, reloader);
 */
export function addConfigRoutes(admin: Hono<GatewayEnv>, reloader: ConfigReloader): void {
  admin.get('/config', (c) => {
    const running = reloader.running();
    const last = reloader.last();
    return c.json({
      source: reloader.source ?? null,
      config: maskConfig(running, running),
      pending_restart: reloader.pendingRestart(),
      last_reload: resultJson(last),
    });
  });

  admin.post('/config/reload', async (c) => {
    const result = await reloader.reload('admin');
    return c.json(resultJson(result), result.ok ? 200 : 422);
  });
}
