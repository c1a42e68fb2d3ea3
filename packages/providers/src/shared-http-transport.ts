import { createHttpTransport, type HttpTransport } from './http-transport.ts';
import type { Transport } from './transport.ts';

// The client of every provider created without `transport` or `fetch`: one per process, created on the first call
// (so importing the package opens nothing), with the default options and the proxy environment of process.env.
let shared: HttpTransport | undefined;

/**
 * The transport of providers given neither `transport` nor `fetch`: {@link createHttpTransport}'s, shared by all of
 * them. Its idle connections do not keep the process alive.
 *
 * @example
 * const transport = options.transport ?? options.fetch ?? sharedHttpTransport;
 */
export const sharedHttpTransport: Transport = (url, request) =>
  (shared ??= createHttpTransport()).transport(url, request);
