import type { MiddlewareHandler } from 'hono';
import type { GatewayEnv } from '../gateway-env.ts';
import type { Logger } from '../observability/logger.ts';

/**
 * One `info` line per request that did not reach routing (method, path, status, duration, request id), for
 * `logging.requests: true`; a routed request's line is written when it settles, with its deployment, tokens and
 * cost (settle/subscribers/access-log.ts). Not installed otherwise, so it costs nothing when off.
 *
 * @example
 * if (config.logging.requests) app.use(accessLog(logger));
 */
export function accessLog(
  logger: Logger,
  now: () => number = performance.now.bind(performance),
): MiddlewareHandler<GatewayEnv> {
  return async function accessLogMiddleware(c, next) {
    const started = now();
    await next();
    if (c.get('routed') === true) return;
    logger.info('request', {
      requestId: c.get('requestId'),
      clientRequestId: c.get('clientRequestId'),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round((now() - started) * 100) / 100,
    });
  };
}
