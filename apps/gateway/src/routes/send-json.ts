import { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';

/**
 * Answers 200 with `value` as JSON. On @hono/node-server it writes the Node response itself (one `writeHead` and
 * one `end`, with the request id header the middleware would have added), skipping the `Response` object hono
 * would build and the node-server would take apart again; anywhere else, `c.json`.
 *
 * @example
 * return sendJson(c, response);
 */
export function sendJson(c: Context<{ Variables: { requestId: string } }>, value: unknown): Response {
  const outgoing: unknown = Reflect.get(Object(c.env), 'outgoing');
  if (!(outgoing instanceof ServerResponse)) return c.json(value);
  const body = JSON.stringify(value);
  outgoing.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': c.get('requestId'),
  });
  outgoing.end(body);
  return RESPONSE_ALREADY_SENT;
}
