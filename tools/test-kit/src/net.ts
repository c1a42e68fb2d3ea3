import { createServer } from 'node:net';

/**
 * `http://127.0.0.1:<port>` for a port nothing listens on (taken from the OS, then released): a connection to it is
 * refused at once, as to a vendor that is down.
 *
 * @example
 * const provider = createProvider({ kind: 'openai', apiKey: 'k', baseUrl: `${await closedPortUrl()}/v1` });
 */
export async function closedPortUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return `http://127.0.0.1:${address.port}`;
}
