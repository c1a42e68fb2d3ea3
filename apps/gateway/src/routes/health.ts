import type { Handler } from 'hono';

/** What readiness depends on. */
export interface ReadinessSource {
  /** Set once a drain has begun: load balancers should stop sending traffic. */
  readonly draining: boolean;
  /** Number of providers requests can be routed to. */
  readonly enabledProviders: number;
  /** False when model aliases are configured but none has a target on an enabled provider. */
  readonly hasUsableRoute: boolean;
}

/**
 * `GET /health/live`: 200 while the process runs.
 *
 * @example
 * app.get('/health/live', live());
 */
export function live(): Handler {
  const payload = JSON.stringify({ status: 'ok' });
  return (c) => c.body(payload, 200, { 'content-type': 'application/json' });
}

/**
 * `GET /health/ready`: 200 when not draining, at least one provider is enabled and at least one model
 * alias has a usable deployment, else 503 with the reason. Transient upstream trouble (cooldowns, open
 * breakers) does not make the gateway unready: pulling every replica out for one vendor's blip helps no one.
 *
 * @example
 * app.get('/health/ready', ready(state));
 */
export function ready(source: ReadinessSource): Handler {
  return (c) => {
    if (source.draining)
      return c.json({ status: 'unavailable', reason: 'draining: the gateway is shutting down' }, 503);
    if (source.enabledProviders === 0) return c.json({ status: 'unavailable', reason: 'no enabled provider' }, 503);
    if (!source.hasUsableRoute)
      return c.json({ status: 'unavailable', reason: 'no model alias has a usable deployment' }, 503);
    return c.json({ status: 'ok' }, 200);
  };
}
