import { hash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { GatewayError } from '../gateway-error.ts';

// The one-shot hash: no Hash object per request, about half the cost of createHash().update().digest().
function digest(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}

/**
 * Requires the master key on every request it guards, before any body is read: as
 * `Authorization: Bearer <masterKey>` (OpenAI clients) or `x-api-key: <masterKey>` (Anthropic
 * clients); a Bearer header, when present, is the one checked. Both sides are hashed first so the comparison is constant-time whatever the lengths.
 * The presented key is never echoed.
 *
 * @example
 * app.use('/v1/*', masterKeyAuth(config.auth.masterKey));
 */
export function masterKeyAuth(masterKey: string): MiddlewareHandler {
  const expected = digest(masterKey);
  return async function masterKeyAuthMiddleware(c, next) {
    const header = c.req.header('authorization');
    const match = header === undefined ? null : /^Bearer[ \t]+(.+?)[ \t]*$/i.exec(header);
    const presented = match?.[1] ?? c.req.header('x-api-key')?.trim();
    if (presented === undefined || presented === '' || !timingSafeEqual(digest(presented), expected)) {
      throw new GatewayError(presented === undefined || presented === '' ? 'Missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>".' : 'Invalid API key.', {
        status: 401,
        type: 'authentication_error',
        code: 'invalid_api_key',
      });
    }
    await next();
  };
}
