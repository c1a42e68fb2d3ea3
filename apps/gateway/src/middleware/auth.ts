import { timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { batchCallOf } from '../batches/batch-call.ts';
import type { GatewayEnv } from '../gateway-env.ts';
import { GatewayError } from '../gateway-error.ts';
import type { KeyResolver } from '../keys/key-resolver.ts';
import { KEY_PREFIX } from '../keys/key-store.ts';

/**
 * Whether `presented` is the key, compared in constant time for a key of the right length. Only the length
 * can be learnt from timing; hashing both sides to hide it cost more than the rest of the middleware.
 */
function isKey(presented: string, expected: Buffer): boolean {
  return Buffer.byteLength(presented) === expected.length && timingSafeEqual(Buffer.from(presented), expected);
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

function invalidKey(message: string): GatewayError {
  return new GatewayError(message, { status: 401, type: 'authentication_error', code: 'invalid_api_key' });
}

/** The key a request presents: `Authorization: Bearer <key>` (it wins when present) or `x-api-key: <key>`. */
function presentedKey(c: Context): string | undefined {
  const header = c.req.header('authorization');
  const presented = (header === undefined ? undefined : bearerToken(header)) ?? c.req.header('x-api-key')?.trim();
  return presented === '' ? undefined : presented;
}

/** Options of {@link apiKeyAuth}. */
export interface ApiKeyAuthOptions {
  /** `auth.masterKey`; without one the gateway runs in open dev mode (requests without a key pass). */
  masterKey: string | undefined;
  /** Finds virtual keys (`sk-gw-…`); without it only the master key is known. */
  resolver?: KeyResolver | undefined;
  /** Clock for expiry; default `Date.now`. */
  now?: () => number;
}

/**
 * Authenticates `/v1/*` before any body is read: the master key, or a virtual key (`sk-gw-…`) that is neither
 * revoked nor expired, as `Authorization: Bearer <key>` (OpenAI clients) or `x-api-key: <key>` (Anthropic clients;
 * a Bearer header, when present, is the one checked). A virtual key is put on the context (`apiKey`) for the model
 * allow-list, limits, budgets and the ledger. Without a master key (open dev mode) a request without a key passes,
 * and one with a virtual key is still held to it. Every refusal is a 401 `invalid_api_key`; the presented key is
 * never echoed.
 *
 * @example
 * app.use('/v1/*', apiKeyAuth({ masterKey: config.auth.masterKey, resolver }));
 */
export function apiKeyAuth(options: ApiKeyAuthOptions): MiddlewareHandler<GatewayEnv> {
  const expected = options.masterKey === undefined ? undefined : Buffer.from(options.masterKey);
  const { resolver } = options;
  const now = options.now ?? Date.now;
  return async function apiKeyAuthMiddleware(c, next) {
    // A batch line runs as the key that created its batch (the runner checked it is still valid).
    const batchCall = batchCallOf(c);
    if (batchCall !== undefined) {
      if (batchCall.key !== undefined) c.set('apiKey', batchCall.key);
      await next();
      return;
    }
    const presented = presentedKey(c);
    if (presented === undefined) {
      if (expected !== undefined) {
        throw invalidKey('Missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>".');
      }
      await next();
      return;
    }
    if (expected !== undefined && isKey(presented, expected)) {
      await next();
      return;
    }
    if (resolver !== undefined && presented.startsWith(KEY_PREFIX)) {
      // A key found in the resolver's cache comes back as it is: no promise to wait for on nearly every request.
      const found = resolver.resolve(presented);
      const key = found instanceof Promise ? await found : found;
      if (key === undefined) throw invalidKey('Invalid API key.');
      if (key.revokedAt !== null) throw invalidKey('This API key has been revoked.');
      if (key.expiresAt !== null && key.expiresAt.getTime() <= now()) throw invalidKey('This API key has expired.');
      c.set('apiKey', key);
      await next();
      return;
    }
    // Open dev mode: whatever a client puts in its key field is not ours to check.
    if (expected === undefined) {
      await next();
      return;
    }
    throw invalidKey('Invalid API key.');
  };
}

/**
 * Requires the master key on every request it guards, before any body is read (the admin API): as
 * `Authorization: Bearer <masterKey>` or `x-api-key: <masterKey>`. A key of the right length is compared in
 * constant time; the presented key is never echoed.
 *
 * @example
 * admin.use('*', masterKeyAuth(config.auth.masterKey));
 */
export function masterKeyAuth(masterKey: string): MiddlewareHandler {
  const expected = Buffer.from(masterKey);
  return async function masterKeyAuthMiddleware(c, next) {
    const presented = presentedKey(c);
    if (presented === undefined) {
      throw invalidKey('Missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>".');
    }
    if (!isKey(presented, expected)) throw invalidKey('Invalid API key.');
    await next();
  };
}
