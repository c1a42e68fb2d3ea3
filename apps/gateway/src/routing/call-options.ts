import type { Context } from 'hono';
import { GatewayError } from '../gateway-error.ts';

/** The header a client sets to jump (0) or yield (9) in a provider's queue. */
export const PRIORITY_HEADER = 'x-gw-priority';
const DEFAULT_PRIORITY = 5;

/**
 * The queue priority the client asked for in `x-gw-priority`: an integer from 0 (first) to 9 (last), default 5.
 * Anything else is a 400 naming the header.
 *
 * @example
 * const priority = priorityOf(c); // 5 without the header
 */
export function priorityOf(c: Context): number {
  const header = c.req.header(PRIORITY_HEADER);
  if (header === undefined || header.trim() === '') return DEFAULT_PRIORITY;
  const value = Number(header.trim());
  if (!Number.isInteger(value) || value < 0 || value > 9) {
    throw new GatewayError(`${PRIORITY_HEADER} must be an integer from 0 (first) to 9 (last)`, {
      status: 400,
      type: 'invalid_request_error',
      code: 'invalid_priority',
      param: PRIORITY_HEADER,
    });
  }
  return value;
}
