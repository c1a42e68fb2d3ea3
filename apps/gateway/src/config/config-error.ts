const CONFIG_ERROR_MARKER = Symbol.for('gw.error.config');

/** One problem found in a configuration: the path of the bad field and what is wrong with it. */
export interface ConfigIssue {
  /** e.g. `providers[1].bseUrl`; empty for the document as a whole. */
  path: string;
  message: string;
}

/**
 * An invalid configuration. `issues` lists every problem found, each naming its field path;
 * the message is the same list, one issue per line. Values of secret fields are never included.
 */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  /** Where the configuration came from (a file path), when known. */
  readonly source: string | undefined;

  constructor(issues: readonly ConfigIssue[], options: { source?: string; cause?: unknown } = {}) {
    const where = options.source === undefined ? 'configuration' : options.source;
    const lines = issues.map((issue) => `  ${issue.path === '' ? '(root)' : issue.path}: ${issue.message}`);
    super(`invalid ${where}:\n${lines.join('\n')}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConfigError';
    this.issues = issues;
    this.source = options.source;
    Object.defineProperty(this, CONFIG_ERROR_MARKER, { value: true });
  }
}

/**
 * True for a {@link ConfigError} (checked by a global symbol marker).
 *
 * @example
 * try { await loadConfig(); } catch (error) { if (isConfigError(error)) console.error(error.message); }
 */
export function isConfigError(error: unknown): error is ConfigError {
  return typeof error === 'object' && error !== null && CONFIG_ERROR_MARKER in error;
}
