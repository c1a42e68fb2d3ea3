import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../observability/logger.ts';

/**
 * One `info` line per request (method, path, status, duration, request id), for
 * `logging.requests: true`. Not installed otherwise, so it costs nothing when off.
 *
 * @example
 * if (config.logging.requests) app.use(accessLog(logger));
 */
export function accessLog(
  logger: Logger,
  now: () => number = performance.now.bind(performance),
): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async function accessLogMiddleware(c, next) {
    const started = now();
    await next();
    logger.info('request', {
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round((now() - started) * 100) / 100,
    });
  };
}
