import { redactSecrets } from '@gw/providers';
import { pino, stdSerializers, stdTimeFunctions, type Logger as PinoLogger } from 'pino';

/** Log levels, least to most severe. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured fields attached to one log line. */
export type LogFields = Record<string, unknown>;

/** The gateway's logger: JSON lines through pino. Each call writes at most one line. */
export interface Logger {
  readonly level: LogLevel;
  /** True when a line at `level` would be written; lets callers skip building fields. */
  enabled(level: LogLevel): boolean;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /**
   * Adds values to scrub from every later line: keys the gateway learns after it started (providers added through
   * the admin API, a reloaded file's).
   */
  addSecrets?(secrets: readonly string[]): void;
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** Lowest level written; default `info`. */
  level?: LogLevel;
  /** Where finished lines go (each ends with `\n`); default standard error. */
  write?: (line: string) => void;
  /** Values that must never be written (vendor keys, the master key, virtual keys): replaced by `[redacted]`. */
  secrets?: readonly string[];
  /** Fields written on every line, e.g. `{ worker: 2 }` in a worker of `GW_WORKERS`. */
  fields?: LogFields | undefined;
}

// Short values would redact half the log (and are not real secrets); keys are far longer.
const MIN_SECRET_LENGTH = 6;

/**
 * Replaces every occurrence of `secrets`, and anything shaped like `Bearer …` or `sk-…`, in a finished line, with the
 * function the providers scrub vendor text with. Runs on the serialised text, so a secret cannot leak through a
 * nested field, an error message or a stack; the JSON-escaped form of each secret (quotes and backslashes escaped)
 * is looked for too.
 */
function scrubber(secrets: readonly string[]): (line: string) => string {
  const values = [...new Set(secrets)].filter((secret) => secret.length >= MIN_SECRET_LENGTH);
  const escaped = values.map((secret) => JSON.stringify(secret).slice(1, -1)).filter((form) => !values.includes(form));
  const forms = [...values, ...escaped];
  return (line) => redactSecrets(line, forms);
}

/**
 * A JSON-lines logger on pino, writing to standard error: `{"level":"warn","time":"…","msg":"…",…fields}`. Every
 * line is scrubbed of the configured secrets after serialisation; errors in fields are written with their name,
 * message and stack.
 *
 * @example
 * const logger = createLogger({ level: 'info', secrets: configSecrets(config) });
 * logger.warn('provider disabled', { provider: 'openai', reason: 'apiKey is empty' });
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  let known: readonly string[] = options.secrets ?? [];
  let scrub = scrubber(known);
  const write = options.write;
  let destination: { write(line: string): void };
  if (write === undefined) {
    const stderr = pino.destination({ dest: 2, sync: true });
    // A closed standard error (EPIPE) cannot be logged about: reporting it would fail the same way, forever.
    stderr.on('error', () => undefined);
    destination = stderr;
  } else {
    destination = { write: (line: string) => write(line) };
  }
  const base: PinoLogger = pino(
    {
      level,
      base: options.fields ?? null,
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { error: stdSerializers.err, err: stdSerializers.err },
      hooks: { streamWrite: (line) => scrub(line) },
    },
    destination,
  );
  const log =
    (method: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, fields?: LogFields): void => {
      if (fields === undefined) base[method](message);
      else base[method](fields, message);
    };
  return {
    level,
    enabled: (candidate) => base.isLevelEnabled(candidate),
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    addSecrets(secrets) {
      const fresh = secrets.filter((secret) => !known.includes(secret));
      if (fresh.length === 0) return;
      known = [...known, ...fresh];
      scrub = scrubber(known);
    },
  };
}
