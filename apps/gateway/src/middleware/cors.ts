import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { GatewayConfig } from '../config/schema.ts';

/** What `server.cors` holds once validated. */
export type CorsSettings = NonNullable<GatewayConfig['server']['cors']>;

/**
 * Response headers of the gateway a browser page may read: who served and what it cost, the limits and budgets, and
 * the request id to quote in a bug report.
 */
export const GATEWAY_EXPOSED_HEADERS: readonly string[] = [
  'x-request-id',
  'x-gw-request-id',
  'x-gw-provider',
  'x-gw-model',
  'x-gw-attempts',
  'x-gw-fallback',
  'x-gw-cost',
  'x-gw-cost-estimated',
  'x-gw-tokens-estimated',
  'x-gw-budget-remaining',
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-tokens',
  'retry-after',
];

const METHODS = ['GET', 'HEAD', 'POST', 'OPTIONS'];

/**
 * CORS for browser apps (`server.cors`). A preflight (`OPTIONS`) is answered 204 by hono's `cors`, here, before
 * authentication (browsers send it without credentials), echoing the headers the browser asks to send unless
 * `allowHeaders` lists them. Other requests from an allowed origin get `Access-Control-Allow-Origin` (and the
 * exposed headers) on every answer, errors included, so the page can read them; any other origin gets no allow
 * header at all, which the browser enforces. These headers are set before the route runs: hono's `cors` adds
 * `Vary` after it, which would rebuild an answer the gateway already wrote to the socket (write-response.ts).
 *
 * @example
 * if (config.server.cors !== undefined) app.use('/v1/*', corsMiddleware(config.server.cors));
 */
export function corsMiddleware(settings: CorsSettings): MiddlewareHandler {
  const anyOrigin = settings.origins.includes('*');
  const origins = new Set(settings.origins);
  const exposed = [...GATEWAY_EXPOSED_HEADERS, ...settings.exposeHeaders];
  const exposedText = exposed.join(', ');
  const preflight = cors({
    origin: anyOrigin ? '*' : [...settings.origins],
    allowMethods: METHODS,
    allowHeaders: [...settings.allowHeaders],
    exposeHeaders: exposed,
    credentials: settings.credentials,
    maxAge: settings.maxAgeSeconds,
  });
  return async function corsHandler(c, next) {
    if (c.req.method === 'OPTIONS') return preflight(c, next);
    if (!anyOrigin) c.header('vary', 'Origin', { append: true });
    const origin = c.req.header('origin');
    if (origin !== undefined && (anyOrigin || origins.has(origin))) {
      c.header('access-control-allow-origin', anyOrigin ? '*' : origin);
      if (settings.credentials) c.header('access-control-allow-credentials', 'true');
      c.header('access-control-expose-headers', exposedText);
    }
    await next();
  };
}
