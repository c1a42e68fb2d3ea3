import { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createApp, type AppDeps, type AppState, type GatewayApp } from './app.ts';

/** Options for {@link createServer}: the app's dependencies plus where to listen. */
export interface CreateServerOptions extends AppDeps {
  /** Default `config.server.host`. */
  host?: string;
  /** Default `config.server.port`; 0 picks a free port. */
  port?: number;
}

/** A listening gateway. */
export interface GatewayServer {
  /** e.g. `http://127.0.0.1:8787`. */
  readonly url: string;
  readonly app: GatewayApp;
  readonly state: AppState;
  readonly server: ServerType;
  /**
   * Graceful stop: /health/ready turns 503, the listening socket closes (new connections are
   * refused), idle keep-alive connections are closed, in-flight requests and streams may finish
   * for up to `server.drainTimeoutMs`; whatever is left then is destroyed. Resolves when the
   * server is fully closed. Calling it again returns the same promise.
   */
  drain(): Promise<void>;
  /** Immediate stop: destroys every connection. */
  close(): Promise<void>;
}

// How often idle keep-alive sockets are reaped during a drain: a connection whose last response
// just ended becomes idle, and only closing it lets the server finish.
const IDLE_SWEEP_MS = 100;

/**
 * Builds the app and listens. Returns once the socket is bound.
 *
 * @example
 * const gateway = await createServer({ config, port: 0 });
 * console.log(gateway.url);
 * process.once('SIGTERM', () => void gateway.drain().then(() => process.exit(0)));
 */
export async function createServer(options: CreateServerOptions): Promise<GatewayServer> {
  const { app, state } = createApp(options);
  const host = options.host ?? options.config.server.host;
  const port = options.port ?? options.config.server.port;
  const drainTimeoutMs = options.config.server.drainTimeoutMs;

  const { server, address } = await new Promise<{ server: ServerType; address: AddressInfo }>((resolve, reject) => {
    const candidate = serve({ fetch: app.fetch, hostname: host, port }, (info) =>
      resolve({ server: candidate, address: info }),
    );
    candidate.once('error', reject);
  });
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  const http = server instanceof Server ? server : undefined;

  let closing: Promise<void> | undefined;
  const whenClosed = (): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => {
        state.dispose();
        resolve();
      });
    });

  const drain = (): Promise<void> => {
    if (closing !== undefined) return closing;
    state.draining = true;
    const closed = whenClosed();
    http?.closeIdleConnections();
    const sweep = setInterval(() => http?.closeIdleConnections(), IDLE_SWEEP_MS);
    const deadline = setTimeout(() => http?.closeAllConnections(), drainTimeoutMs);
    closing = closed.finally(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
    });
    return closing;
  };

  const close = (): Promise<void> => {
    state.draining = true;
    closing ??= whenClosed();
    http?.closeAllConnections();
    return closing;
  };

  return { url, app, state, server, drain, close };
}
