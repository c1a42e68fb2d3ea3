import type { MiddlewareHandler } from 'hono';
import { setAnswerHeaders } from '../relay/answer-headers.ts';
import { batchCallOf } from '../batches/batch-call.ts';
import { uuidv7 } from '../uuidv7.ts';
import type { GatewayEnv } from '../gateway-env.ts';

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
 * Gives every request a gateway-minted id (a time-ordered UUIDv7: the ledger's key, in every log line, and in
 * `x-gw-request-id`), and answers with `x-request-id`: the client's own id when it sent one (sanitised), else the
 * gateway's. A client's id is not unique enough to bill by (a client may send the same one twice), so it is kept
 * beside, as `clientRequestId`.
 *
 * @example
 * app.use(requestId());
 */
export function requestId(): MiddlewareHandler<GatewayEnv> {
  return async function requestIdMiddleware(c, next) {
    // A batch line is billed under the id its runner gave it (to find its settled outcome).
    const id = batchCallOf(c)?.requestId ?? uuidv7();
    const client = sanitiseRequestId(c.req.header('x-request-id'));
    c.set('requestId', id);
    if (client !== undefined) c.set('clientRequestId', client);
    setAnswerHeaders(c, { 'x-request-id': client ?? id, 'x-gw-request-id': id });
    await next();
  };
}
