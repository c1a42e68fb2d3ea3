import { ServerResponse, type OutgoingHttpHeaders } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { pipeSseToNode, toSseStream, type SseStreamItem } from '@gw/stream';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { GatewayEnv } from '../gateway-env.ts';

// The one place the gateway writes an answer body itself. On @hono/node-server it writes the Node response
// directly (one writeHead, then the body), skipping the Response object hono would build and the node-server would
// take apart again, and the web stream a streamed body would need; anywhere else it goes through hono. Either way
// the answer carries every header already set on the context (`c.header()`, and the gateway's own held by
// `setAnswerHeaders`), so a middleware's header (request id, rate-limit headers, CORS…) reaches JSON and SSE answers
// alike, as it reaches the ones hono writes.

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
} as const;

/** The Node response under a hono context on @hono/node-server (its `c.env.outgoing`), `undefined` elsewhere. */
function nodeResponseOf(c: Context): ServerResponse | undefined {
  const outgoing: unknown = Reflect.get(Object(c.env), 'outgoing');
  return outgoing instanceof ServerResponse ? outgoing : undefined;
}

/**
 * The headers set on the context so far, then `own` over them, as node:http takes them. Hono keeps what `c.header()`
 * set on `c.res`, its public face; reading it makes hono build that response, and hono would then merge the
 * route's `RESPONSE_ALREADY_SENT` into it as a new response that the node-server no longer recognises and writes a
 * second time. So the context's response is reset and then set to the marker itself (hono's setter keeps the one it
 * is given when none is held), which the node-server skips.
 */
function takeHeaders(c: Context<GatewayEnv>, own: Readonly<Record<string, string>>): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  const prepared = c.res.headers;
  prepared.forEach((value, name) => {
    headers[name] = value;
  });
  const cookies = prepared.getSetCookie();
  if (cookies.length > 1) headers['set-cookie'] = cookies;
  const held = c.get('answerHeaders');
  if (held !== undefined) for (const name of Object.keys(held)) headers[name] = held[name];
  for (const name of Object.keys(own)) headers[name] = own[name];
  c.res = undefined;
  c.res = RESPONSE_ALREADY_SENT;
  return headers;
}

/**
 * Answers with a JSON body given as its text (the upstream's own text when the answer is as it came, so it is not
 * serialised twice).
 *
 * @example
 * return writeJson(c, wireJson(response) ?? JSON.stringify(response));
 */
export function writeJson(c: Context<GatewayEnv>, text: string, status: ContentfulStatusCode = 200): Response {
  const outgoing = nodeResponseOf(c);
  if (outgoing === undefined) return c.body(text, status, { ...c.get('answerHeaders'), ...JSON_HEADERS });
  const headers = takeHeaders(c, JSON_HEADERS);
  headers['content-length'] = Buffer.byteLength(text);
  outgoing.writeHead(status, headers);
  outgoing.end(text);
  return RESPONSE_ALREADY_SENT;
}

/** Options of {@link writeSse}. */
export interface WriteSseOptions {
  /** The SSE text that ends a stream whose source failed after the head was sent (in the client's format). */
  onError: (error: unknown) => string;
}

/**
 * Answers 200 with an event stream read from `source` only as fast as the client takes it; the client leaving
 * calls `source.return()` at once. A source may hand its last text as the value of its done result, which then
 * leaves with the end of the response.
 *
 * @example
 * return writeSse(c, relay, { onError: (error) => errorEvent(error) });
 */
export function writeSse(
  c: Context<GatewayEnv>,
  source: AsyncIterable<SseStreamItem, SseStreamItem | undefined>,
  options: WriteSseOptions,
): Response {
  const outgoing = nodeResponseOf(c);
  if (outgoing === undefined)
    return c.body(toSseStream(source, options), 200, { ...c.get('answerHeaders'), ...SSE_HEADERS });
  outgoing.writeHead(200, takeHeaders(c, SSE_HEADERS));
  void pipeSseToNode(source, outgoing, options);
  return RESPONSE_ALREADY_SENT;
}
