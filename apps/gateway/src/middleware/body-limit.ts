import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { GatewayError } from '../gateway-error.ts';

function tooLarge(maxBytes: number): GatewayError {
  return new GatewayError(`Request body is larger than the limit of ${maxBytes} bytes.`, {
    status: 413,
    type: 'invalid_request_error',
    code: 'request_too_large',
  });
}

/**
 * Refuses request bodies over `maxBytes` with 413 in our envelope, before the route reads them.
 *
 * A declared Content-Length (the usual case) is checked from the header alone, so an oversized
 * upload is refused before any byte is read, and an accepted body is left untouched for the
 * adapter's fast read path. (hono's bodyLimit makes the same check, but touching
 * `c.req.raw.body` first builds a web stream over the socket for every request.) Bodies without
 * a declared length (chunked) go through hono's bodyLimit, which counts bytes as they arrive and
 * stops at the limit, so an oversized body is never held whole.
 *
 * @example
 * app.post('/v1/*', bodyLimit(config.server.bodyLimit));
 */
export function bodyLimit(maxBytes: number): MiddlewareHandler {
  const counted = honoBodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge(maxBytes);
    },
  });
  return async function bodyLimitMiddleware(c, next) {
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined && /^\d+$/.test(declared)) {
      if (Number(declared) > maxBytes) throw tooLarge(maxBytes);
      await next();
      return;
    }
    return counted(c, next);
  };
}
