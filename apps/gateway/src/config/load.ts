import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, type ConfigIssue } from './config-error.ts';
import { interpolateEnv, maskInterpolations, type Environment } from './interpolate.ts';
import { validateConfig, type GatewayConfig } from './schema.ts';

/** Options for {@link loadConfig} and friends; everything is injectable for tests. */
export interface LoadConfigOptions {
  /** Environment for `GW_CONFIG`, `PORT`, `HOST` and `${VAR}` interpolation; default `process.env`. */
  env?: Environment;
  /** Directory a relative `GW_CONFIG` (and the default `./gateway.yaml`) resolves against; default `process.cwd()`. */
  cwd?: string;
}

/** A loaded configuration and where it came from. */
export interface LoadedConfig {
  config: GatewayConfig;
  /** Absolute path of the file read, or `undefined` when the embedded defaults were used. */
  source: string | undefined;
}

/**
 * Interpolates `${VAR}` references, validates, fills defaults and applies the `PORT`, `HOST` and `REDIS_URL`
 * overrides (`REDIS_URL` only where `redis.url` is unset).
 * This is the one path every configuration takes, whether it came from YAML or from code.
 *
 * @example
 * const config = parseConfig({ providers: [{ id: 'local', kind: 'ollama' }] }, { env: process.env });
 */
export function parseConfig(
  raw: unknown,
  options: { env?: Environment; source?: string; unmask?: (text: string) => string } = {},
): GatewayConfig {
  const env = options.env ?? process.env;
  const interpolated = interpolateEnv(raw, env, {
    ...(options.unmask === undefined ? {} : { unmask: options.unmask }),
    ...(options.source === undefined ? {} : { source: options.source }),
  });
  const config = validateConfig(interpolated, options.source === undefined ? {} : { source: options.source });
  const port = env['PORT'];
  if (port !== undefined && port !== '') {
    const value = Number(port);
    if (!/^\d+$/.test(port.trim()) || value > 65535) {
      throw new ConfigError(
        [{ path: 'PORT (environment)', message: 'expected an integer from 0 to 65535' }],
        options.source === undefined ? {} : { source: options.source },
      );
    }
    config.server.port = value;
  }
  // In a container the gateway must listen on every interface, while the shipped file says 127.0.0.1.
  const host = env['HOST'];
  if (host !== undefined && host.trim() !== '') config.server.host = host.trim();
  // REDIS_URL, the variable every Redis client knows, when the file names no Redis itself.
  const redisUrl = env['REDIS_URL'];
  if (config.redis.url === undefined && redisUrl !== undefined && redisUrl !== '') config.redis.url = redisUrl;
  return config;
}

/**
 * Parses YAML configuration text (see {@link parseConfig} for what follows the YAML step).
 * YAML syntax errors are reported with line and column, without echoing the offending text.
 *
 * @example
 * const config = parseConfigText(await readFile('gateway.yaml', 'utf8'), { env: process.env, source: 'gateway.yaml' });
 */
export function parseConfigText(text: string, options: { env?: Environment; source?: string } = {}): GatewayConfig {
  const { text: masked, unmask } = maskInterpolations(text);
  const lineCounter = new LineCounter();
  const document = parseDocument(masked, { lineCounter, prettyErrors: false });
  if (document.errors.length > 0) {
    const issues: ConfigIssue[] = document.errors.slice(0, 3).map((error) => {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      // YAML messages quote the offending token, which might be a secret: keep only their shape.
      return {
        path: '',
        message: `YAML syntax error at line ${line}, column ${col}: ${error.message.replace(/"[^"\n]*"/g, '"…"')}`,
      };
    });
    throw new ConfigError(issues, options.source === undefined ? {} : { source: options.source });
  }
  let raw: unknown;
  try {
    raw = document.toJS();
  } catch (error) {
    // The yaml library refuses aliases that expand too much (a "billion laughs" document); say so.
    const reason = error instanceof Error ? error.message : 'the document cannot be read';
    throw new ConfigError([{ path: '', message: `YAML document refused: ${reason}` }], {
      ...(options.source === undefined ? {} : { source: options.source }),
    });
  }
  return parseConfig(raw, { ...options, unmask });
}

/**
 * Loads the gateway configuration: the file named by `GW_CONFIG` (default `./gateway.yaml`,
 * relative to `cwd`). When `GW_CONFIG` is unset and `./gateway.yaml` does not exist, the embedded
 * defaults are used (no providers, open dev mode). Throws {@link ConfigError} when invalid.
 *
 * @example
 * const { config, source } = await loadConfig();
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const named = env['GW_CONFIG'];
  const path = resolve(cwd, named === undefined || named === '' ? 'gateway.yaml' : named);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isNotFound(error) && (named === undefined || named === '')) {
      return { config: parseConfig({}, { env }), source: undefined };
    }
    const reason = isNotFound(error) ? 'file not found' : 'file cannot be read';
    throw new ConfigError([{ path: '', message: `${reason} (GW_CONFIG=${named ?? ''})` }], {
      source: path,
      cause: error,
    });
  }
  return { config: parseConfigText(text, { env, source: path }), source: path };
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT';
}
