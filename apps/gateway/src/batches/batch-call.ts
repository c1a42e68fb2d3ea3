import type { Context } from 'hono';
import type { VirtualKey } from '../keys/key-store.ts';

/** A batch line dispatched to the gateway's own routes: who sends it, and the request id it is billed under. */
export interface BatchCall {
  readonly requestId: string;
  /** The key that created the batch; `undefined` for the master key (or open mode). */
  readonly key: VirtualKey | undefined;
}

// Keyed by the hono `env` object the runner passes to `app.fetch`: a request from the network never carries one of
// these (its env is @hono/node-server's), so no header or body can pose as a batch line.
const calls = new WeakMap<object, BatchCall>();

/**
 * The `env` to dispatch a batch line with: the auth middleware takes its key from it, the request id middleware its
 * id.
 *
 * @example
 * await app.fetch(request, batchCallEnv({ requestId, key }));
 */
export function batchCallEnv(call: BatchCall): object {
  const env = {};
  calls.set(env, call);
  return env;
}

/**
 * The batch line a request is, when the batch runner sent it.
 *
 * @example
 * const call = batchCallOf(c);
 */
export function batchCallOf(c: Context): BatchCall | undefined {
  const env: unknown = c.env;
  return typeof env === 'object' && env !== null ? calls.get(env) : undefined;
}
