import type { GatewayConfig } from './schema.ts';

/**
 * Every secret value in a configuration (master key, provider keys, Bedrock secret keys and
 * session tokens, provider header values),
 * for the logger to scrub from anything it writes.
 *
 * @example
 * const logger = createLogger({ secrets: configSecrets(config) });
 */
export function configSecrets(config: GatewayConfig): string[] {
  const secrets: string[] = [];
  if (config.auth.masterKey !== undefined) secrets.push(config.auth.masterKey);
  if (config.metrics.bearerToken !== undefined) secrets.push(config.metrics.bearerToken);
  for (const provider of config.providers) {
    if (provider.apiKey !== undefined) secrets.push(provider.apiKey);
    // Bedrock's SigV4 credentials (the access key id is not secret, like a user name).
    if (provider.secretAccessKey !== undefined) secrets.push(provider.secretAccessKey);
    if (provider.sessionToken !== undefined) secrets.push(provider.sessionToken);
    // Vendors take keys in headers too (api-key, x-goog-api-key...); treat every value as secret.
    if (provider.headers !== undefined) secrets.push(...Object.values(provider.headers));
  }
  for (const url of [config.storage.url, config.redis.url]) {
    const password = url === undefined ? undefined : passwordOf(url);
    if (password !== undefined) secrets.push(password);
  }
  return secrets;
}

// The password of a postgres:// or redis:// URL, as written (a log line would show it so).
function passwordOf(url: string): string | undefined {
  try {
    const { password } = new URL(url);
    return password === '' ? undefined : decodeURIComponent(password);
  } catch {
    return undefined;
  }
}

function withoutPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = '****';
  return parsed.toString();
}

/**
 * A secret as the admin API shows it: its first three and last four characters (`sk-…abcd`), enough to tell keys
 * apart; a short one not at all.
 *
 * @example
 * maskSecret('sk-proj-0123456789abcdef'); // 'sk-…cdef'
 */
export function maskSecret(secret: string): string {
  return secret.length < 16 ? '****' : `${secret.slice(0, 3)}…${secret.slice(-4)}`;
}

/**
 * A copy of `value` (a configuration, or part of one) with every secret of `config` masked wherever it appears: a
 * field that is a secret, and a URL's password (`postgres://user:****@host/db`).
 *
 * @example
 * c.json(maskConfig(config, config));
 */
export function maskConfig(value: unknown, config: GatewayConfig): unknown {
  const secrets = new Set(configSecrets(config));
  const mask = (item: unknown): unknown => {
    if (typeof item === 'string') {
      if (secrets.has(item)) return maskSecret(item);
      return /^[a-z][a-z0-9+.-]*:\/\//i.test(item) && passwordOf(item) !== undefined ? withoutPassword(item) : item;
    }
    if (Array.isArray(item)) return item.map(mask);
    if (item === null || typeof item !== 'object') return item;
    return Object.fromEntries(Object.entries(item).map(([key, field]) => [key, mask(field)]));
  };
  return mask(value);
}
