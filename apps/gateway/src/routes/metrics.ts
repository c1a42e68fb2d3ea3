import { timingSafeEqual } from 'node:crypto';
import type { Handler } from 'hono';
import { GatewayError } from '../gateway-error.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import { bearerToken } from '../middleware/auth.ts';

/**
 * `GET /metrics`: the Prometheus text of the gateway's metrics. Open, or behind `metrics.bearerToken`
 * (`Authorization: Bearer <token>`, compared in constant time).
 *
 * @example
 * app.get('/metrics', metricsRoute(metrics, config.metrics.bearerToken));
 */
export function metricsRoute(metrics: GatewayMetrics, token: string | undefined): Handler {
  const expected = token === undefined ? undefined : Buffer.from(token);
  return async (c) => {
    if (expected !== undefined) {
      const header = c.req.header('authorization');
      const presented = header === undefined ? undefined : bearerToken(header);
      const bytes = presented === undefined ? undefined : Buffer.from(presented);
      if (bytes === undefined || bytes.length !== expected.length || !timingSafeEqual(bytes, expected)) {
        throw new GatewayError('The metrics need "Authorization: Bearer <metrics.bearerToken>".', {
          status: 401,
          type: 'authentication_error',
          code: 'invalid_api_key',
        });
      }
    }
    return c.body(await metrics.render(), 200, { 'content-type': metrics.registry.contentType });
  };
}
