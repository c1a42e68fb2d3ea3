import type { MiddlewareHandler } from 'hono';

const MAX_LENGTH = 128;
const DISALLOWED = /[^\w.:-]/g;

/**
 * Makes a client-sent request id safe to echo: keeps only `[A-Za-z0-9._:-]`, at most 128 chars.
 * Returns `undefined` when nothing usable is left.
 *
 * @example
 * sanitiseRequestId('abc 123\n'); // 'abc123'
 */
export function sanitiseRequestId(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const cleaned = value.replace(DISALLOWED, '').slice(0, MAX_LENGTH);
  return cleaned === '' ? undefined : cleaned;
}

/**
 * Sets `x-request-id` on every response (errors included) and `c.var.requestId`: the client's id
 * when it sent one (sanitised), a random UUID otherwise. hono/request-id allows a different
 * character set, so this small version keeps ours.
 *
 * @example
 * app.use(requestId());
 */
export function requestId(): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async function requestIdMiddleware(c, next) {
    const id = sanitiseRequestId(c.req.header('x-request-id')) ?? crypto.randomUUID();
    c.set('requestId', id);
    c.header('x-request-id', id);
    await next();
  };
}
