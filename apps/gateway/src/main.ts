import { joinPrimary, runPrimary, workerCount, workerIdentity, workerSpillPath } from './cluster.ts';
import { isConfigError } from './config/config-error.ts';
import { loadConfig } from './config/load.ts';
import { configSecrets } from './config/secrets.ts';
import { createLogger } from './observability/logger.ts';
import { createServer } from './server.ts';

// The entry point: load the configuration, listen (or, with GW_WORKERS > 1, start workers that do), drain on
// SIGTERM/SIGINT.
async function main(): Promise<void> {
  let workers;
  let loaded;
  try {
    workers = workerCount(process.env);
    loaded = await loadConfig();
  } catch (error) {
    process.stderr.write(`gw: ${isConfigError(error) ? error.message : 'cannot load the configuration'}\n`);
    process.exit(1);
  }
  const { config, source } = loaded;
  const worker = workerIdentity();
  if (worker !== undefined) config.storage.spillPath = workerSpillPath(config.storage.spillPath, worker.slot);
  // Workers write to the same stderr: each line says whose it is.
  const logger = createLogger({
    level: config.logging.level,
    secrets: configSecrets(config),
    fields: worker === undefined ? undefined : { worker: worker.id },
  });
  if (worker === undefined) {
    logger.info(
      source === undefined ? 'no gateway.yaml found: starting on embedded defaults' : 'configuration loaded',
      {
        source,
      },
    );
  }
  if (worker === undefined && workers > 1) {
    const announce = (url: string): void => {
      process.stdout.write(`gw gateway listening on ${url} (${workers} workers)\n`);
    };
    process.exit(await runPrimary({ workers, config, logger, onListening: announce }));
  }

  // A request must never take the process down; whatever escapes is logged and the server goes on.
  process.on('unhandledRejection', (reason) => logger.error('unhandled rejection', { error: reason }));
  process.on('uncaughtException', (error) => logger.error('uncaught exception', { error }));

  const gateway = await createServer({ config, logger, configSource: source, watchConfig: true });

  let stopping = false;
  const stop = (signal: NodeJS.Signals, byPrimary = false): void => {
    if (stopping) {
      // The primary passes on the signal a terminal also sent this worker: the same request, not a second one.
      if (byPrimary) return;
      logger.warn('second signal: exiting without waiting for in-flight requests', { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info('draining: no new connections, waiting for in-flight requests', {
      signal,
      ...(byPrimary ? { by: 'primary' } : {}),
      drainTimeoutMs: config.server.drainTimeoutMs,
    });
    void gateway.drain().then(() => {
      logger.info('drained, exiting');
      process.exit(0);
    });
  };
  // SIGHUP reloads the configuration file (an invalid one is refused and the running configuration kept).
  process.on('SIGHUP', () => void gateway.state.config.reload('signal'));
  process.on('SIGTERM', (signal) => stop(signal));
  process.on('SIGINT', (signal) => stop(signal));
  if (worker === undefined) {
    process.stdout.write(`gw gateway listening on ${gateway.url}\n`);
    if (gateway.consoleDir !== undefined) process.stdout.write(`gw console on ${gateway.url}/console/\n`);
  } else {
    logger.info('worker listening', { pid: process.pid, slot: worker.slot, url: gateway.url });
    joinPrimary(gateway.url, (signal) => stop(signal, true));
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`gw: failed to start: ${error instanceof Error ? error.message : 'unknown error'}\n`);
  process.exit(1);
});
