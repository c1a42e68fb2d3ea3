import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from '../observability/logger.ts';
import { isConfigError } from './config-error.ts';
import type { Environment } from './interpolate.ts';
import { parseConfigText } from './load.ts';
import type { GatewayConfig } from './schema.ts';

/** What started a reload. */
export type ReloadTrigger = 'file' | 'signal' | 'admin';

/** The outcome of one reload. */
export interface ReloadResult {
  /** When it ran, ms since the epoch. */
  readonly at: number;
  readonly trigger: ReloadTrigger;
  readonly ok: boolean;
  /** Why the file was refused: the invalid fields by path (never their values). */
  readonly error?: string | undefined;
  /** Sections the file changes that take effect only at the next start (see {@link keepRestartOnly}). */
  readonly pendingRestart: readonly string[];
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * `next` with the restart-only values of `running`, and the list of those `next` would change. Restart-only are the
 * sections read once at start: the listening socket (CORS included), the database and Redis connections, the stored
 * Responses' retention, the auth and logging middleware, limits and budgets and their stores, the metrics registry,
 * the probes' timer, the currency and the imported catalog every stored amount is in, the upstream client's connect
 * timeout. Everything else (providers,
 * models, retry, breaker, timeouts, pricing overrides and rates, directModels) applies at once.
 *
 * @example
 * const { config, pending } = keepRestartOnly(fromFile, running); // pending: ['server']
 */
export function keepRestartOnly(
  next: GatewayConfig,
  running: GatewayConfig,
): { config: GatewayConfig; pending: string[] } {
  const pending: string[] = [];
  const config: GatewayConfig = { ...next };
  const keep = <Key extends keyof GatewayConfig>(key: Key): void => {
    if (same(next[key], running[key])) return;
    pending.push(key);
    config[key] = running[key];
  };
  keep('server');
  keep('auth');
  keep('storage');
  keep('responses');
  keep('redis');
  keep('logging');
  keep('metrics');
  keep('limits');
  keep('budgets');
  keep('health');
  const { currency, catalog } = running.pricing;
  if (next.pricing.currency !== currency) pending.push('pricing.currency');
  if (next.pricing.catalog !== catalog) pending.push('pricing.catalog');
  config.pricing = { ...next.pricing, currency, catalog };
  if (next.timeouts.connectMs !== running.timeouts.connectMs) pending.push('timeouts.connectMs');
  config.timeouts = { ...next.timeouts, connectMs: running.timeouts.connectMs };
  return { config, pending };
}

/** The running configuration, where it came from, and its reloads. */
export interface ConfigReloader {
  /** The file the configuration is read from; `undefined` when the gateway started on embedded defaults. */
  readonly source: string | undefined;
  /** The configuration running now (the file's, restart-only sections as started). */
  running(): GatewayConfig;
  /** The last reload's outcome; `undefined` before the first. */
  last(): ReloadResult | undefined;
  /** Sections the file changes (as of the last reload applied) that take effect only at the next start. */
  pendingRestart(): readonly string[];
  /** Reads the file again, validates it and applies it; a file that is refused leaves everything as it was. */
  reload(trigger: ReloadTrigger): Promise<ReloadResult>;
  /** Stops watching the file. */
  close(): void;
}

/** Options of {@link createConfigReloader}. */
export interface ConfigReloaderOptions {
  /** The file to read (`GW_CONFIG`); none: reloads are refused. */
  source: string | undefined;
  /** For `${VAR}` interpolation and the `PORT` / `REDIS_URL` overrides; default `process.env`. */
  env?: Environment | undefined;
  /** Watches the file and reloads on every change (debounced). */
  watch?: boolean | undefined;
  /** Quiet time after a change before the file is read: editors write a file in several steps. Default 100 ms. */
  debounceMs?: number | undefined;
  /** Makes a valid configuration current; throws when it cannot (the reload then fails). */
  apply: (config: GatewayConfig) => void;
  /** Told of every reload's outcome (metrics, statistics). */
  onResult?: ((result: ReloadResult) => void) | undefined;
  logger: Logger;
  now?: (() => number) | undefined;
}

/**
 * Reloads the configuration file on demand (SIGHUP, the admin API) and, with `watch`, whenever it changes. Each
 * reload reads, validates and applies the whole file, or nothing: an invalid file keeps the running configuration
 * and is reported (a log line, {@link ConfigReloader.last}). Reloads never overlap. The folder is watched rather
 * than the file, so editors that replace the file and Kubernetes ConfigMaps (a swapped symlink) are seen too; a
 * change that leaves the text as it was is ignored.
 *
 * @example
 * const reloader = createConfigReloader(config, { source, watch: true, apply: (next) => live.apply({ file: next }), logger });
 * process.on('SIGHUP', () => void reloader.reload('signal'));
 */
export function createConfigReloader(initial: GatewayConfig, options: ConfigReloaderOptions): ConfigReloader {
  const { source, logger } = options;
  const now = options.now ?? Date.now;
  let running = initial;
  let last: ReloadResult | undefined;
  let pendingRestart: readonly string[] = [];
  let lastText: string | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  const finish = (result: ReloadResult): ReloadResult => {
    last = result;
    options.onResult?.(result);
    return result;
  };

  const run = async (trigger: ReloadTrigger): Promise<ReloadResult> => {
    if (source === undefined) {
      return finish({
        at: now(),
        trigger,
        ok: false,
        error: 'the gateway started on embedded defaults: there is no configuration file to reload',
        pendingRestart: [],
      });
    }
    let text: string;
    try {
      text = await readFile(source, 'utf8');
    } catch {
      logger.error('configuration reload failed: the file cannot be read; the running configuration is kept', {
        source,
      });
      return finish({ at: now(), trigger, ok: false, error: 'the file cannot be read', pendingRestart: [] });
    }
    // A watched folder also reports writes that leave the file as it was (and other files' changes): not a reload.
    if (trigger === 'file' && text === lastText) return { at: now(), trigger, ok: true, pendingRestart: [] };
    lastText = text;
    let next: GatewayConfig;
    try {
      next = parseConfigText(text, { ...(options.env === undefined ? {} : { env: options.env }), source });
    } catch (error) {
      const message = isConfigError(error) ? error.message : 'the configuration cannot be read';
      logger.error('configuration reload refused; the running configuration is kept', { source, error: message });
      return finish({ at: now(), trigger, ok: false, error: message, pendingRestart: [] });
    }
    const { config, pending } = keepRestartOnly(next, running);
    try {
      options.apply(config);
    } catch (error) {
      logger.error('configuration reload could not be applied; the running configuration is kept', { error });
      return finish({
        at: now(),
        trigger,
        ok: false,
        error: 'the configuration could not be applied',
        pendingRestart: [],
      });
    }
    running = config;
    pendingRestart = pending;
    if (pending.length > 0) {
      logger.warn(`configuration reloaded, but these sections change only at the next start: ${pending.join(', ')}`, {
        source,
        pendingRestart: pending,
      });
    } else {
      logger.info('configuration reloaded', { source, trigger });
    }
    return finish({ at: now(), trigger, ok: true, pendingRestart: pending });
  };

  // One reload at a time, in the order asked.
  const enqueue = (trigger: ReloadTrigger): Promise<ReloadResult> => {
    const result = queue.then(() => run(trigger));
    queue = result.catch(() => undefined);
    return result;
  };

  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  if (options.watch === true && source !== undefined) {
    // What the file holds now is what runs: only a different text is a change. Read at once (a change right after
    // the start must not be taken for the starting text).
    try {
      lastText = readFileSync(source, 'utf8');
    } catch {
      // Unreadable now: the first change that can be read is taken.
    }
    const name = basename(source);
    try {
      watcher = watch(dirname(source), { persistent: false }, (_event, changed) => {
        // Some platforms do not name the file; a ConfigMap swaps a `..data` symlink rather than the file.
        if (changed !== null && changed !== name && !changed.startsWith('..')) return;
        clearTimeout(debounce);
        debounce = setTimeout(() => void enqueue('file'), options.debounceMs ?? 100);
      });
      watcher.on('error', (error) => logger.warn('the configuration file can no longer be watched', { error }));
    } catch (error) {
      logger.warn('the configuration file cannot be watched: reload it with SIGHUP', { source, error });
    }
  }

  return {
    source,
    running: () => running,
    last: () => last,
    pendingRestart: () => pendingRestart,
    reload: enqueue,
    close: () => {
      clearTimeout(debounce);
      watcher?.close();
    },
  };
}
