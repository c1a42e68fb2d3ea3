import { isConfigError } from './config/config-error.ts';
import { loadConfig } from './config/load.ts';
import { configSecrets } from './config/secrets.ts';
import { createLogger } from './observability/logger.ts';
import { createServer } from './server.ts';

// The entry point: load the configuration, listen, drain on SIGTERM/SIGINT.
async function main(): Promise<void> {
  let loaded;
  try {
    loaded = await loadConfig();
  } catch (error) {
    process.stderr.write(`gw: ${isConfigError(error) ? error.message : 'cannot load the configuration'}\n`);
    process.exit(1);
  }
  const { config, source } = loaded;
  const logger = createLogger({ level: config.logging.level, secrets: configSecrets(config) });
  logger.info(source === undefined ? 'no gateway.yaml found: starting on embedded defaults' : 'configuration loaded', {
    source,
  });

  // A request must never take the process down; whatever escapes is logged and the server goes on.
  process.on('unhandledRejection', (reason) => logger.error('unhandled rejection', { error: reason }));
  process.on('uncaughtException', (error) => logger.error('uncaught exception', { error }));

  const gateway = await createServer({ config, logger, configSource: source, watchConfig: true });
  process.stdout.write(`gw gateway listening on ${gateway.url}\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn('second signal: exiting without waiting for in-flight requests', { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info('draining: no new connections, waiting for in-flight requests', {
      signal,
      drainTimeoutMs: config.server.drainTimeoutMs,
    });
    void gateway.drain().then(() => {
      logger.info('drained, exiting');
      process.exit(0);
    });
  };
  // SIGHUP reloads the configuration file (an invalid one is refused and the running configuration kept).
  process.on('SIGHUP', () => void gateway.state.config.reload('signal'));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main().catch((error: unknown) => {
  process.stderr.write(`gw: failed to start: ${error instanceof Error ? error.message : 'unknown error'}\n`);
  process.exit(1);
});
