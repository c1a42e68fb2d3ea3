/** Log levels, least to most severe. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured fields attached to one log line. */
export type LogFields = Record<string, unknown>;

/** A tiny JSON-lines logger. Each call writes at most one line. */
export interface Logger {
  readonly level: LogLevel;
  /** True when a line at `level` would be written; lets callers skip building fields. */
  enabled(level: LogLevel): boolean;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** Lowest level written; default `info`. */
  level?: LogLevel;
  /** Where finished lines go (each ends with `\n`); default `process.stderr`. */
  write?: (line: string) => void;
  /** Values that must never be written (API keys, the master key): replaced by `[redacted]`. */
  secrets?: readonly string[];
  /** Clock for the `time` field; injectable for tests. */
  now?: () => number;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
// Short values would redact half the log (and are not real secrets); keys are far longer.
const MIN_SECRET_LENGTH = 6;

/**
 * Creates a JSON-lines logger writing to stderr. Every line is scrubbed of the configured secrets
 * after serialisation, so a key cannot leak through a nested field or an error message.
 *
 * @example
 * const logger = createLogger({ level: 'info', secrets: [masterKey] });
 * logger.warn('provider disabled', { provider: 'openai', reason: 'apiKey is empty' });
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const threshold = RANK[level];
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const now = options.now ?? Date.now;
  const secrets = [...new Set(options.secrets ?? [])].filter((secret) => secret.length >= MIN_SECRET_LENGTH);

  const scrub = (line: string): string => {
    let result = line;
    for (const secret of secrets) {
      if (result.includes(secret)) result = result.split(secret).join('[redacted]');
    }
    return result;
  };

  const log = (lineLevel: LogLevel, message: string, fields?: LogFields): void => {
    if (RANK[lineLevel] < threshold) return;
    const record: LogFields = { time: new Date(now()).toISOString(), level: lineLevel, msg: message };
    if (fields !== undefined) {
      for (const key of Object.keys(fields)) record[key] = serialiseField(fields[key]);
    }
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      line = JSON.stringify({ time: record['time'], level: lineLevel, msg: message, note: 'fields not serialisable' });
    }
    write(`${scrub(line)}\n`);
  };

  return {
    level,
    enabled: (candidate) => RANK[candidate] >= threshold,
    debug: (message, fields) => log('debug', message, fields),
    info: (message, fields) => log('info', message, fields),
    warn: (message, fields) => log('warn', message, fields),
    error: (message, fields) => log('error', message, fields),
  };
}

/** Errors serialise to `{}` by default; keep what an operator needs (name, message, stack). */
function serialiseField(value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  return value;
}
