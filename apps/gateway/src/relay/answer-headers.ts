import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context, MiddlewareHandler } from 'hono';
import type { GatewayEnv } from '../gateway-env.ts';

/**
 * Sets headers of the answer to come, as plain strings held on the context: the gateway's own headers (request id,
 * rate limits, budget, cost) skip the `Headers` object that `c.header()` writes to, whose every set validates and
 * sorts. The answer writers (write-response.ts) put them on the answer; {@link answerHeaders} puts them on any
 * answer hono builds instead (errors, other routes). A later set of a name replaces the earlier one.
 *
 * @example
 * setAnswerHeaders(c, { 'x-gw-cost': '0.00012' });
 */
export function setAnswerHeaders(c: Context<GatewayEnv>, headers: Readonly<Record<string, string>>): void {
  const held = c.get('answerHeaders');
  if (held === undefined) {
    c.set('answerHeaders', { ...headers });
    return;
  }
  for (const name of Object.keys(headers)) held[name] = headers[name] as string;
}

/** One header of the answer to come; see {@link setAnswerHeaders}. */
export function setAnswerHeader(c: Context<GatewayEnv>, name: string, value: string): void {
  const held = c.get('answerHeaders');
  if (held === undefined) c.set('answerHeaders', { [name]: value });
  else held[name] = value;
}

/**
 * Puts the headers held by {@link setAnswerHeaders} on answers hono builds (an error, a 404, a route that answers
 * with `c.json()`); the gateway's own writers have already sent them with theirs. First in the middleware chain.
 *
 * @example
 * app.use(answerHeaders());
 */
export function answerHeaders(): MiddlewareHandler<GatewayEnv> {
  return async function answerHeadersMiddleware(c, next) {
    await next();
    const held = c.get('answerHeaders');
    if (held === undefined || c.res === RESPONSE_ALREADY_SENT) return;
    for (const name of Object.keys(held)) c.header(name, held[name]);
  };
}
