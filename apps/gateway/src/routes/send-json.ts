import { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';

/**
 * The Node response under a hono context on @hono/node-server (its `c.env.outgoing`), `undefined` elsewhere.
 * A route that writes to it itself returns `RESPONSE_ALREADY_SENT`.
 *
 * @example
 * const outgoing = nodeResponseOf(c);
 */
export function nodeResponseOf(c: Context): ServerResponse | undefined {
  const outgoing: unknown = Reflect.get(Object(c.env), 'outgoing');
  return outgoing instanceof ServerResponse ? outgoing : undefined;
}

/**
 * Answers 200 with `value` as JSON (`text`, when given, is its JSON text, sent as it is). On @hono/node-server it writes the Node response itself (one `writeHead` and
 * one `end`, with the request id header the middleware would have added), skipping the `Response` object hono
 * would build and the node-server would take apart again; anywhere else, `c.json`.
 *
 * @example
 * return sendJson(c, response, rawResponseJson(response));
 */
export function sendJson(c: Context<{ Variables: { requestId: string } }>, value: unknown, text?: string): Response {
  const outgoing = nodeResponseOf(c);
  if (outgoing === undefined)
    return text === undefined ? c.json(value) : c.body(text, 200, { 'content-type': 'application/json' });
  const body = text ?? JSON.stringify(value);
  outgoing.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': c.get('requestId'),
  });
  outgoing.end(body);
  return RESPONSE_ALREADY_SENT;
}
