import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { GatewayError } from '../gateway-error.ts';

/**
 * Whether `presented` is the key, compared in constant time for a key of the right length. Only the length
 * can be learnt from timing; hashing both sides to hide it cost more than the rest of the middleware.
 */
function isKey(presented: string, expected: Buffer): boolean {
  const bytes = Buffer.from(presented);
  return bytes.length === expected.length && timingSafeEqual(bytes, expected);
}

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * The token of `Authorization: Bearer <token>` (scheme case-insensitive, spaces and tabs around the token ignored),
 * `undefined` for another scheme or an empty token. Read by index rather than by a regular expression: a crafted
 * header must cost time linear in its length (a backtracking pattern here once cost 0.5 s per 16 KB header).
 */
export function bearerToken(header: string): string | undefined {
  if (header.length < 7 || header.slice(0, 6).toLowerCase() !== 'bearer' || !isBlank(header.charCodeAt(6)))
    return undefined;
  let start = 7;
  let end = header.length;
  while (start < end && isBlank(header.charCodeAt(start))) start += 1;
  while (end > start && isBlank(header.charCodeAt(end - 1))) end -= 1;
  return start === end ? undefined : header.slice(start, end);
}

/**
 * Requires the master key on every request it guards, before any body is read: as
 * `Authorization: Bearer <masterKey>` (OpenAI clients) or `x-api-key: <masterKey>` (Anthropic
 * clients); a Bearer header, when present, is the one checked. A key of the right length is compared in constant time.
 * The presented key is never echoed.
 *
 * @example
 * app.use('/v1/*', masterKeyAuth(config.auth.masterKey));
 */
export function masterKeyAuth(masterKey: string): MiddlewareHandler {
  const expected = Buffer.from(masterKey);
  return async function masterKeyAuthMiddleware(c, next) {
    const header = c.req.header('authorization');
    const presented = (header === undefined ? undefined : bearerToken(header)) ?? c.req.header('x-api-key')?.trim();
    if (presented === undefined || presented === '' || !isKey(presented, expected)) {
      throw new GatewayError(
        presented === undefined || presented === ''
          ? 'Missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>".'
          : 'Invalid API key.',
        {
          status: 401,
          type: 'authentication_error',
          code: 'invalid_api_key',
        },
      );
    }
    await next();
  };
}
