import { ConfigError, type ConfigIssue } from './config-error.ts';
import { formatPath } from '../format-path.ts';

/** Environment variables as `process.env` has them. */
export type Environment = Readonly<Record<string, string | undefined>>;

const NAME = /^[a-z_]\w*$/i;

type Token =
  | { type: 'text'; value: string }
  | { type: 'variable'; name: string; fallback: string | undefined; source: string }
  | { type: 'invalid'; source: string; reason: string };

/** Splits a string into literal text and `${...}` references; `$${` is a literal `${`. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let literal = '';
  let index = 0;
  while (index < text.length) {
    const dollar = text.indexOf('$', index);
    if (dollar === -1) {
      literal += text.slice(index);
      break;
    }
    literal += text.slice(index, dollar);
    if (text.startsWith('$${', dollar)) {
      literal += '${';
      index = dollar + 3;
      continue;
    }
    if (!text.startsWith('${', dollar)) {
      literal += '$';
      index = dollar + 1;
      continue;
    }
    const end = text.indexOf('}', dollar + 2);
    const newline = text.indexOf('\n', dollar + 2);
    if (end === -1 || (newline !== -1 && newline < end)) {
      if (literal !== '') tokens.push({ type: 'text', value: literal });
      literal = '';
      tokens.push({
        type: 'invalid',
        source: text.slice(dollar, newline === -1 ? undefined : newline),
        reason: 'has no closing "}"',
      });
      index = newline === -1 ? text.length : newline;
      continue;
    }
    if (literal !== '') tokens.push({ type: 'text', value: literal });
    literal = '';
    const source = text.slice(dollar, end + 1);
    const body = text.slice(dollar + 2, end);
    const separator = body.indexOf(':-');
    const name = separator === -1 ? body : body.slice(0, separator);
    if (NAME.test(name)) {
      tokens.push({
        type: 'variable',
        name,
        fallback: separator === -1 ? undefined : body.slice(separator + 2),
        source,
      });
    } else {
      tokens.push({ type: 'invalid', source, reason: 'is not a valid reference (use ${NAME} or ${NAME:-default})' });
    }
    index = end + 1;
  }
  if (literal !== '') tokens.push({ type: 'text', value: literal });
  return tokens;
}

function interpolateString(text: string, env: Environment, path: string, issues: ConfigIssue[]): string {
  if (!text.includes('$')) return text;
  let result = '';
  for (const token of tokenize(text)) {
    if (token.type === 'text') {
      result += token.value;
    } else if (token.type === 'invalid') {
      issues.push({ path, message: `${token.source} ${token.reason}` });
    } else {
      const value = env[token.name];
      // `:-` follows the shell: the default also applies to a variable that is set but empty.
      if (value !== undefined && (value !== '' || token.fallback === undefined)) result += value;
      else if (token.fallback !== undefined) result += token.fallback;
      else
        issues.push({
          path,
          message: `environment variable ${token.name} is not set (write \${${token.name}:-default} to give a default)`,
        });
    }
  }
  return result;
}

function walk(
  value: unknown,
  env: Environment,
  path: PropertyKey[],
  issues: ConfigIssue[],
  unmask: (text: string) => string,
): unknown {
  if (typeof value === 'string') return interpolateString(unmask(value), env, formatPath(path), issues);
  if (Array.isArray(value)) return value.map((item, index) => walk(item, env, [...path, index], issues, unmask));
  if (typeof value === 'object' && value !== null) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const name = unmask(key);
      result[name] = walk(item, env, [...path, name], issues, unmask);
    }
    return result;
  }
  return value;
}

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string value of a parsed configuration with
 * environment variables; `$${` stands for a literal `${`. Keys are never interpolated. An unset
 * variable without a default is an error naming the variable and the field path; all such
 * problems are collected and thrown together as one {@link ConfigError}.
 *
 * @example
 * interpolateEnv({ auth: { masterKey: '${GW_MASTER_KEY:-}' } }, process.env);
 */
export function interpolateEnv(
  value: unknown,
  env: Environment,
  options: { unmask?: (text: string) => string; source?: string } = {},
): unknown {
  const issues: ConfigIssue[] = [];
  const result = walk(value, env, [], issues, options.unmask ?? identity);
  if (issues.length > 0) throw new ConfigError(issues, options.source === undefined ? {} : { source: options.source });
  return result;
}

function identity(text: string): string {
  return text;
}

const MARK_START = '\u2063';
const MARK_PAD = '\u2064';
const MARK_PATTERN = /\u2063([0-9a-z]+)\u2064+/g;

/**
 * YAML refuses `{`/`}` in plain scalars inside flow mappings, so `auth: { masterKey: ${KEY:-} }`
 * (the documented style) would not parse. Before parsing, each `${...}` is swapped for an inert
 * token of the same length (so YAML error columns stay right); `unmask` puts the original text
 * back into each parsed string before interpolation.
 *
 * @example
 * const { text, unmask } = maskInterpolations(source);
 * const raw = interpolateEnv(parse(text), process.env, { unmask });
 */
export function maskInterpolations(text: string): { text: string; unmask: (value: string) => string } {
  if (!text.includes('${') || text.includes(MARK_START)) return { text, unmask: identity };
  const originals: string[] = [];
  let masked = '';
  let index = 0;
  while (index < text.length) {
    const dollar = text.indexOf('$', index);
    if (dollar === -1) {
      masked += text.slice(index);
      break;
    }
    masked += text.slice(index, dollar);
    if (text.startsWith('$${', dollar)) {
      masked += '$${';
      index = dollar + 3;
      continue;
    }
    const end = text.startsWith('${', dollar) ? text.indexOf('}', dollar + 2) : -1;
    const newline = text.indexOf('\n', dollar);
    if (end === -1 || (newline !== -1 && newline < end)) {
      masked += '$';
      index = dollar + 1;
      continue;
    }
    const original = text.slice(dollar, end + 1);
    // The pad after the id ends it even when letters follow the reference.
    const token = MARK_START + originals.length.toString(36) + MARK_PAD;
    originals.push(original);
    masked += token.padEnd(original.length, MARK_PAD);
    index = end + 1;
  }
  if (originals.length === 0) return { text, unmask: identity };
  const unmask = (value: string): string =>
    value.includes(MARK_START)
      ? value.replace(MARK_PATTERN, (match, id: string) => originals[Number.parseInt(id, 36)] ?? match)
      : value;
  return { text: masked, unmask };
}
