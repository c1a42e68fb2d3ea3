import { Server } from 'node:http';
import { importLiteLLMPrices } from '@gw/cost';
import { configSecrets } from './config/secrets.ts';
import { createLogger } from './observability/logger.ts';
import { startTracing } from './observability/start-tracing.ts';
import { openStorage } from './storage/open-storage.ts';
import { connectRedis } from './storage/redis.ts';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createApp, type AppDeps, type AppState, type GatewayApp } from './app.ts';
import { GatewayError } from './gateway-error.ts';
import { findConsoleDir } from './routes/console.ts';

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
  /** The built console served at /console, if any. */
  readonly consoleDir: string | undefined;
  /**
   * Graceful stop: /health/ready turns 503, the listening socket closes (new connections are
   * refused), idle keep-alive connections are closed, in-flight requests and streams may finish
   * for up to `server.drainTimeoutMs`; streams still running then end with an error event
   * (`shutting_down`, logged with their count), and whatever is left a second later is destroyed.
   * Resolves when the server is fully closed. Calling it again returns the same promise.
   */
  drain(): Promise<void>;
  /** Immediate stop: destroys every connection. */
  close(): Promise<void>;
}

// How often idle keep-alive sockets are reaped during a drain: a connection whose last response
// just ended becomes idle, and only closing it lets the server finish.
const IDLE_SWEEP_MS = 100;
// After the drain deadline, how long streams ended with an error event get to flush it before every connection is
// destroyed.
const DRAIN_GRACE_MS = 1000;

function shuttingDown(): GatewayError {
  return new GatewayError('The gateway is shutting down; retry the request.', {
    status: 503,
    type: 'service_unavailable_error',
    code: 'shutting_down',
  });
}

// How long a starting gateway waits for Redis before it listens anyway.
const REDIS_STARTUP_WAIT_MS = 3000;

/**
 * Builds the app and listens. Returns once the socket is bound.
 *
 * @example
 * const gateway = await createServer({ config, port: 0 });
 * console.log(gateway.url);
 * process.once('SIGTERM', () => void gateway.drain().then(() => process.exit(0)));
 */
export async function createServer(options: CreateServerOptions): Promise<GatewayServer> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.logging.level, secrets: configSecrets(config) });
  const catalog = config.pricing.catalog;
  const importedPrices =
    options.importedPrices ?? (catalog === undefined ? undefined : await importLiteLLMPrices(catalog));
  const storage = options.storage ?? (await openStorage(config, logger));
  const redisUrl = config.redis.url;
  const redis = options.redis ?? (redisUrl === undefined ? undefined : connectRedis(redisUrl, logger));
  // Limits decided before Redis answers would follow the fail mode for the first requests; wait for it briefly.
  if (redis !== undefined && !(await redis.ready(REDIS_STARTUP_WAIT_MS))) {
    logger.warn('redis is not answering yet: starting anyway, limits and budgets follow their fail mode until it is');
  }
  const tracing = options.tracing ?? (await startTracing(logger));
  const consoleDir = options.consoleDir ?? findConsoleDir(process.env);
  const { app, state } = createApp({
    ...options,
    logger,
    importedPrices,
    storage,
    redis,
    tracing,
    secretKey: options.secretKey ?? process.env['GW_SECRET_KEY'],
    consoleDir,
  });
  // Providers added through the admin API serve from the first request; a database still away keeps them out until
  // the next change.
  await state
    .refreshProviders()
    .catch((error: unknown) => logger.warn('stored providers could not be read; only the file’s are used', { error }));
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

  state.batches?.start();
  let batchesStopped: Promise<void> | undefined;
  // Lines running get the drain's time to finish; what is still running then is queued again.
  const stopBatches = (graceMs: number): Promise<void> =>
    (batchesStopped ??= state.batches?.stop(graceMs) ?? Promise.resolve());

  let closing: Promise<void> | undefined;
  // Once the last connection is gone: the ledger drained (every row written, or spilled to its file), then the rest.
  const whenClosed = (): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => {
        // Every request has settled by now: the last spans are exported with the rest.
        stopBatches(0)
          .then(() => Promise.all([storage.close(), redis?.close(), tracing?.shutdown()]))
          .catch((error: unknown) => logger.error('storage could not be closed cleanly', { error }))
          .finally(() => {
            state.dispose();
            resolve();
          });
      });
    });

  const drain = (): Promise<void> => {
    if (closing !== undefined) return closing;
    state.draining = true;
    void stopBatches(drainTimeoutMs);
    const closed = whenClosed();
    http?.closeIdleConnections();
    const sweep = setInterval(() => http?.closeIdleConnections(), IDLE_SWEEP_MS);
    let cut: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => {
      // Streams still running end with an error event (503 shutting_down) rather than a reset connection; what is
      // still open after a short grace is destroyed.
      const ended = state.streams.endAll(shuttingDown());
      if (ended > 0) state.logger.warn('drain deadline reached: ended streams with an error event', { streams: ended });
      cut = setTimeout(() => http?.closeAllConnections(), DRAIN_GRACE_MS);
    }, drainTimeoutMs);
    closing = closed.finally(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      clearTimeout(cut);
    });
    return closing;
  };

  const close = (): Promise<void> => {
    state.draining = true;
    void stopBatches(0);
    closing ??= whenClosed();
    http?.closeAllConnections();
    return closing;
  };

  return { url, app, state, server, consoleDir, drain, close };
}
